/**
 * `netboot-composer test-boot`: a boot folder netbooted, or a USB image
 * booted, in QEMU until a pattern shows on the serial console.
 */
import { parseArgs } from 'node:util';
import { CanceledError } from '../../pipeline/base/errors.ts';
import { testBootMemoryMiB } from '../../pipeline/boot/memory.ts';
import { DEFAULT_EXPECT, testBoot } from '../../pipeline/boot/test-boot.ts';
import { bootArch } from '../../pipeline/boot/aarch64.ts';
import { ARCHES, type Arch, FIRMWARES, type Firmware } from '../../shared/types.ts';
import { positiveNumber, printJson, UsageError, type Context } from '../context.ts';

export async function runTestBoot(args: string[], context: Context): Promise<number> {
  const { values } = parseArgs({
    args,
    strict: true,
    options: {
      dir: { type: 'string' },
      'usb-image': { type: 'string' },
      firmware: { type: 'string' },
      arch: { type: 'string' },
      expect: { type: 'string' },
      timeout: { type: 'string' },
      memory: { type: 'string' },
      quiet: { type: 'boolean' },
      json: { type: 'boolean' },
      debug: { type: 'boolean' },
    },
  });
  if ((values.dir === undefined) === (values['usb-image'] === undefined)) {
    throw new UsageError('Give one of --dir BOOT_FOLDER (a netboot) or --usb-image FILE (a USB stick).');
  }
  const firmware = values.firmware;
  if (firmware !== undefined && !(FIRMWARES as readonly string[]).includes(firmware)) {
    throw new UsageError(`--firmware takes ${FIRMWARES.join(' or ')}, not "${firmware}".`);
  }
  if (values.arch !== undefined && !(ARCHES as readonly string[]).includes(values.arch)) {
    throw new UsageError(`--arch takes ${ARCHES.join(' or ')}, not "${values.arch}".`);
  }
  let expect = DEFAULT_EXPECT;
  if (values.expect !== undefined) {
    try {
      expect = new RegExp(values.expect);
    } catch {
      throw new UsageError(`--expect takes a regular expression, and "${values.expect}" is not one.`);
    }
  }
  return bootAndReport(
    {
      dir: values.dir,
      usbImage: values['usb-image'],
      firmware: firmware as Firmware | undefined,
      arch: values.arch as Arch | undefined,
      expect,
      timeoutSeconds: positiveNumber(values.timeout, '--timeout') ?? 300,
      memoryMiB: positiveNumber(values.memory, '--memory'),
      quiet: values.quiet === true,
    },
    context,
  );
}

export interface BootRequest {
  dir?: string | undefined;
  usbImage?: string | undefined;
  firmware?: Firmware | undefined;
  /** Default: the boot folder's or USB image's own. */
  arch?: Arch | undefined;
  expect: RegExp;
  timeoutSeconds: number;
  memoryMiB: number | undefined;
  quiet: boolean;
}

/** Boot `request` in QEMU, saying how and what the console shows; 0 if the pattern came (demo boots through it too). */
export async function bootAndReport(request: BootRequest, context: Context): Promise<number> {
  const arch = request.arch ?? (await bootArch(request));
  const firmware = request.firmware ?? (arch === 'aarch64-linux' ? 'uefi' : 'bios');
  const memoryMiB = request.memoryMiB ?? (await testBootMemoryMiB(request));
  const say = (text: string): void => {
    if (!context.json) process.stdout.write(`${text}\n`);
  };
  const how = request.usbImage !== undefined ? 'as a USB stick, no network' : 'iPXE over TFTP';
  say(
    `> Booting ${request.usbImage ?? request.dir} in QEMU (${arch === 'aarch64-linux' ? 'aarch64 ' : ''}${firmware.toUpperCase()}, ${how}, ${memoryMiB} MiB of RAM)`,
  );
  const result = await testBoot({
    dir: request.dir,
    usbImage: request.usbImage,
    firmware,
    arch,
    expect: request.expect,
    timeoutSeconds: request.timeoutSeconds,
    memoryMiB,
    signal: context.signal,
    onProbe: () => say('  checking whether KVM can run iPXE here (once per machine and QEMU, up to 12 s)'),
    onAccel: (accel, why, kvmFailure) =>
      context.json
        ? printJson({ event: 'accel', accel, why, ...(kvmFailure !== undefined ? { kvmFailure } : {}) })
        : say(`  ${accel.toUpperCase()}: ${why}`),
    onLine: (line) => {
      if (context.json) printJson({ event: 'console', line });
      else if (!request.quiet) say(`  | ${line}`);
    },
  });
  if (context.signal.aborted) throw new CanceledError();
  const took = `${result.accel.toUpperCase()}, ${result.seconds.toFixed(1)} s`;
  if (context.json) printJson({ event: 'result', ...result });
  else if (result.passed) say(`PASS: the guest printed "${result.reason}" (${took})`);
  else {
    if (request.quiet) for (const line of result.lastLines) say(`  | ${line}`);
    say(`FAIL: ${result.reason} (${took})`);
  }
  return result.passed ? 0 : 1;
}
