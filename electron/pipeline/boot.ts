/**
 * Booting a boot folder in QEMU before it touches hardware: the firmware's
 * iPXE netboots the folder through QEMU's own TFTP server, and the serial
 * console is watched for a pattern that proves the system came up.
 *
 * The guest's network is QEMU's user-mode network with `restrict=on`: it
 * reaches QEMU's built-in DHCP and TFTP and nothing else.
 */
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { StringDecoder } from 'node:string_decoder';
import { basename, join, resolve } from 'node:path';
import { execa } from 'execa';
import type { Accel, Firmware, TestBootResult } from '../shared/types.ts';
import { NetbootError } from './errors.ts';
import { readBootFolderInfo } from './output.ts';
import { readUsbImageInfo } from './usb.ts';
import { defaultStateDir } from './cache.ts';
import { DEMO_MARKER } from './demo.ts';
import { exists } from './fsutil.ts';
import { firstMisalignedStart } from './initrd.ts';
import { baseQemuArgs, comma } from './boot-qemu.ts';
import { KILL_GRACE_MS, onLines, requireTool } from './tools.ts';
import { cleanConsoleLine, failureIn } from './boot-console.ts';
import { CHAINLOAD_AUTOEXEC, chainloadLoopIn, findUefiFiles, type UefiFiles } from './boot-firmware.ts';
import { chooseAccel, kvmFailureIn, rememberKvmUnusable, serconFile } from './boot-kvm.ts';

export type { Accel, Firmware, UefiFiles };
export { cleanConsoleLine, failureIn, type FailureContext } from './boot-console.ts';
export { chainloadLoopIn, efiRomIsIpxe, findUefiFiles, romImages } from './boot-firmware.ts';
export { chooseAccel, kvmFailureIn, kvmProbeArgs, PROBE_PASS, probeKvm, readKvmState } from './boot-kvm.ts';

/** What a test boot waits for unless told otherwise: the demo's marker, or a NixOS login prompt. */
export const DEFAULT_EXPECT = new RegExp(`${DEMO_MARKER}|login: *$`);

/**
 * The {@link FailureContext} of netbooting the boot folder `dir` under
 * `firmware`: under UEFI the kernel's EFI stub may join the initrds with no
 * padding, so a misaligned one is known before the boot. (BIOS iPXE pads each.)
 */
async function failureContext(dir: string | undefined, script: string | undefined, firmware: Firmware) {
  if (dir === undefined || script === undefined || firmware !== 'uefi') return {};
  const names = [...script.matchAll(/^initrd\b(?:\s+--\S+)*\s+(\S+)/gm)].map((m) => m[1]!);
  const sizes = await Promise.all(
    names.map(async (name) => (await stat(join(dir, name)).catch(() => undefined))?.size),
  );
  if (sizes.some((size) => size === undefined)) return {};
  return { misalignedAt: firstMisalignedStart(sizes as number[]) };
}

export interface TestBootOptions {
  /** The boot folder (with netboot.ipxe), netbooted through QEMU's TFTP. */
  dir?: string | undefined;
  /** Or a USB disk image (made by `export --usb-image`), booted as a USB stick with no network. */
  usbImage?: string | undefined;
  /** Default: bios. */
  firmware?: Firmware | undefined;
  expect: RegExp;
  timeoutSeconds: number;
  memoryMiB: number;
  accel?: Accel | undefined;
  /** Where the KVM probe's answer is kept between runs; default {@link defaultStateDir}. */
  stateDir?: string | undefined;
  signal?: AbortSignal | undefined;
  /** Each console line, cleaned of escape sequences. */
  onLine?: (line: string) => void;
  /** The console's raw output, as a terminal shows it. */
  onData?: (data: string) => void;
  /**
   * Which accelerator runs the boot, and why. Called again, with `kvmFailure`
   * (QEMU's words), when KVM failed mid-boot and the boot starts over under TCG.
   */
  onAccel?: (accel: Accel, why: string, kvmFailure?: string) => void;
  /** Called before the KVM probe, which takes up to 12 s once per machine (per QEMU and kernel). */
  onProbe?: () => void;
}

export type { TestBootResult };

export interface QemuMachine {
  firmware: Firmware;
  memoryMiB: number;
  accel: Accel;
  /** Netboot this folder through QEMU's TFTP... */
  tftpDir?: string | undefined;
  /** ...or boot this disk image as a USB stick (never written: snapshot=on). */
  usbImage?: string | undefined;
  /** BIOS: the file holding SeaBIOS's serial console port. */
  serconFile?: string | undefined;
  /** UEFI: OVMF and iPXE's ROM ({@link findUefiFiles}), `vars` being this boot's writable copy of OVMF's variables. */
  uefi?: UefiFiles | undefined;
  /** The boot file QEMU's DHCP names: netboot.ipxe, or the iPXE binary a UEFI boot chainloads. */
  bootfile?: string | undefined;
  /**
   * What is booted (the boot folder or the image), as the VM's name: `ps`
   * shows it even when QEMU's TFTP root is a scratch folder (a chainload).
   */
  of?: string | undefined;
}

/**
 * QEMU's arguments for a test boot. Under BIOS, `serconFile` holds the serial
 * port's address (2 bytes): SeaBIOS then copies the screen to the serial
 * console, so the firmware's and iPXE's messages are seen too. Under UEFI,
 * OVMF writes its console to the serial port itself, and gets a random-number
 * device (OVMF 2025 will not netboot without one). Pure: tested on its own.
 */
export function qemuArgs(machine: QemuMachine): string[] {
  const of = machine.of ?? machine.usbImage ?? machine.tftpDir;
  const args = [
    ...(of ? ['-name', `netboot-composer test boot of ${comma(of)}`] : []),
    ...baseQemuArgs(machine.accel, machine.memoryMiB),
  ];
  if (machine.firmware === 'uefi') {
    if (!machine.uefi) throw new Error('a UEFI boot needs OVMF and a copy of its variables');
    args.push(
      '-drive',
      `if=pflash,format=raw,unit=0,readonly=on,file=${comma(machine.uefi.code)}`,
      '-drive',
      `if=pflash,format=raw,unit=1,file=${comma(machine.uefi.vars)}`,
      '-device',
      'virtio-rng-pci',
    );
  } else if (machine.serconFile) {
    args.push('-fw_cfg', `name=etc/sercon-port,file=${comma(machine.serconFile)}`);
  }
  if (machine.usbImage) {
    args.push(
      '-drive',
      `if=none,id=stick,format=raw,snapshot=on,file=${comma(machine.usbImage)}`,
      '-device',
      'qemu-xhci,id=xhci',
      '-device',
      'usb-storage,bus=xhci.0,drive=stick,bootindex=1',
    );
  } else if (machine.tftpDir) {
    const rom = machine.uefi?.rom ? `,romfile=${comma(machine.uefi.rom)}` : '';
    args.push(
      '-netdev',
      `user,id=net0,restrict=on,tftp=${comma(machine.tftpDir)},bootfile=${(machine.bootfile ?? 'netboot.ipxe').replace(/,/g, ',,')}`,
      '-device',
      `virtio-net-pci,netdev=net0,bootindex=1${rom}`,
    );
  } else throw new Error('a test boot needs a boot folder or a USB image');
  return args;
}

/** Keep the last `count` lines. */
class Tail {
  readonly lines: string[] = [];
  private readonly count: number;
  constructor(count: number) {
    this.count = count;
  }
  push(line: string): void {
    this.lines.push(line);
    if (this.lines.length > this.count) this.lines.shift();
  }
}

/**
 * Boot a boot folder (netboot) or a USB image in QEMU and watch the serial
 * console for `expect`. Resolves with passed or failed (and why); the VM is
 * always killed, and its temporary files removed, before it returns.
 */
export async function testBoot(options: TestBootOptions): Promise<TestBootResult> {
  const started = performance.now();
  const firmware = options.firmware ?? 'bios';
  if ((options.dir === undefined) === (options.usbImage === undefined)) {
    throw new NetbootError('Give a boot folder or a USB image to test-boot, one of them.');
  }
  let script: string | undefined;
  if (options.dir !== undefined) {
    if (!(await exists(join(options.dir, 'netboot.ipxe')))) {
      throw new NetbootError(`${options.dir} has no netboot.ipxe; give a boot folder made by netboot-composer build.`);
    }
    script = await readFile(join(options.dir, 'netboot.ipxe'), 'utf8');
    const url = /^(?:kernel|initrd)\b.*?\b(https?:\/\/\S+)/m.exec(script)?.[1];
    if (url) {
      throw new NetbootError(
        `${options.dir}'s netboot.ipxe fetches its files from ${url}, which the test VM cannot reach; test-boot the boot folder it was exported from.`,
      );
    }
    if (!(await exists(join(options.dir, 'bzImage')))) {
      throw new NetbootError(`${options.dir} has no bzImage; test boots run x86_64 boot folders.`);
    }
  } else if (!(await stat(options.usbImage!).catch(() => undefined))?.isFile()) {
    throw new NetbootError(
      `${options.usbImage} is not a file; give a USB image made by netboot-composer export --usb-image.`,
    );
  }
  const qemu = requireTool('qemu-system-x86_64');
  const uefi =
    firmware === 'uefi' ? await findUefiFiles(process.env, { netboot: options.dir !== undefined }) : undefined;
  const context = await failureContext(options.dir, script, firmware);
  const stateDir = options.stateDir ?? defaultStateDir();
  const chosen = options.accel
    ? { accel: options.accel, why: 'as asked' }
    : await chooseAccel(stateDir, options.onProbe);
  options.onAccel?.(chosen.accel, chosen.why);

  const scratch = await mkdtemp(join(tmpdir(), 'netboot-composer-vm-'));
  const tail = new Tail(30);
  let accel = chosen.accel;
  let kvmFailure: string | undefined;
  let verdict: { passed: boolean; reason: string } | undefined;
  try {
    const tftpDir =
      options.dir !== undefined && uefi?.chainload
        ? await chainloadRoot(scratch, options.dir, uefi.chainload)
        : options.dir;
    for (let attempt = 1; ; attempt++) {
      const run = await runQemu({
        qemu,
        options,
        tail,
        args: qemuArgs({
          firmware,
          memoryMiB: options.memoryMiB,
          accel,
          tftpDir,
          of: options.dir ?? options.usbImage,
          bootfile: uefi?.chainload && tftpDir ? basename(uefi.chainload) : undefined,
          usbImage: options.usbImage,
          serconFile: firmware === 'bios' ? await serconFile(stateDir) : undefined,
          // OVMF writes its variables: each boot (a restart too) gets its own copy of the template.
          uefi: uefi ? { ...uefi, vars: await copyVars(uefi.vars, scratch, attempt) } : undefined,
        }),
        watchKvm: accel === 'kvm',
        failureIn:
          uefi?.chainload && tftpDir
            ? (line) => failureIn(line, context) ?? chainloadLoopIn(line, uefi.chainload!)
            : (line) => failureIn(line, context),
      });
      if (run.kvmFailure === undefined) {
        verdict = run.verdict;
        break;
      }
      // KVM cannot run this boot: QEMU said so (and would wait forever, paused).
      // Start the same boot again under TCG, and remember for the next ones.
      kvmFailure = run.kvmFailure;
      accel = 'tcg';
      await rememberKvmUnusable(kvmFailure, stateDir);
      const why = `KVM failed in this boot (${kvmFailure}), so it starts again under TCG; later boots use TCG until QEMU or the kernel changes`;
      options.onAccel?.('tcg', why, kvmFailure);
      options.onData?.(`\r\n--- ${why} ---\r\n`);
    }
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
  if (!verdict.passed) {
    verdict.reason = withRamHint(verdict.reason, options.memoryMiB, await recordedRamBytes(options));
  }
  return {
    ...verdict,
    accel,
    ...(kvmFailure !== undefined ? { kvmFailure } : {}),
    firmware,
    memoryMiB: options.memoryMiB,
    // The whole time, the failed KVM start included.
    seconds: (performance.now() - started) / 1000,
    lastLines: tail.lines,
  };
}

/** A writable copy of OVMF's variables for one boot. */
async function copyVars(template: string, scratch: string, attempt: number): Promise<string> {
  const vars = join(scratch, `OVMF_VARS-${attempt}.fd`);
  await copyFile(template, vars);
  return vars;
}

/**
 * A TFTP root for a UEFI boot that chainloads iPXE: the boot folder's files
 * (as links), the iPXE binary that the firmware's PXE loads, and the script
 * that iPXE then runs instead of loading itself again.
 */
async function chainloadRoot(scratch: string, dir: string, loader: string): Promise<string> {
  const root = join(scratch, 'tftp');
  await mkdir(root);
  for (const name of await readdir(dir)) await symlink(resolve(dir, name), join(root, name));
  for (const name of [basename(loader), 'autoexec.ipxe']) await rm(join(root, name), { force: true });
  await copyFile(loader, join(root, basename(loader)));
  await writeFile(join(root, 'autoexec.ipxe'), CHAINLOAD_AUTOEXEC);
  return root;
}

/**
 * One QEMU run: the console watched until the expected line, a failure, the
 * timeout (its clock starts with this run) or, under KVM, QEMU's own KVM
 * failure, which ends the run at once for a restart under TCG.
 */
async function runQemu(run: {
  qemu: string;
  args: string[];
  options: TestBootOptions;
  tail: Tail;
  watchKvm: boolean;
  /** Judges a guest's console line: a failure reason, or undefined. */
  failureIn: (line: string) => string | undefined;
}): Promise<{ verdict: { passed: boolean; reason: string }; kvmFailure?: undefined } | { kvmFailure: string }> {
  const { options, tail } = run;
  const subprocess = execa(run.qemu, run.args, {
    reject: false,
    stdin: 'ignore',
    forceKillAfterDelay: KILL_GRACE_MS,
    cancelSignal: options.signal,
  });
  let verdict: { passed: boolean; reason: string } | undefined;
  let kvmFailure: string | undefined;
  const settle = (passed: boolean, reason: string): void => {
    if (verdict || kvmFailure) return;
    verdict = { passed, reason };
    subprocess.kill();
  };
  const timer = setTimeout(
    () => settle(false, `the expected output did not appear within ${options.timeoutSeconds} s`),
    options.timeoutSeconds * 1000,
  );
  let qemuSaid: string | undefined;
  let guestSpoke = false;
  const onLine = (raw: string, fromQemu: boolean): void => {
    const line = cleanConsoleLine(raw);
    // QEMU's own notes (that we stopped it, that fw_cfg names usually start
    // with opt/) are not the guest's output.
    if (!line.trim() || QEMU_NOTE.test(line)) return;
    tail.push(line);
    options.onLine?.(line);
    if (run.watchKvm && !verdict && !kvmFailure) {
      const failure = kvmFailureIn(line);
      if (failure) {
        kvmFailure = failure;
        subprocess.kill();
        return;
      }
    }
    // QEMU's own errors (on stderr) are not the guest's: they are not judged as console lines.
    if (fromQemu) {
      qemuSaid = line.replace(/^qemu-system-\S+: /, '').trim();
      return;
    }
    guestSpoke = true;
    if (options.expect.test(line)) settle(true, line.trim());
    else {
      const failure = run.failureIn(line);
      if (failure) settle(false, failure);
    }
  };
  if (options.onData) {
    const onData = options.onData;
    // One decoder for the stream: a character split between chunks stays whole.
    const decoder = new StringDecoder('utf8');
    subprocess.stdout?.on('data', (chunk: Buffer) => onData(decoder.write(chunk)));
  }
  onLines(subprocess.stdout, (line) => onLine(line, false));
  onLines(subprocess.stderr, (line) => onLine(line, true));
  let result;
  try {
    result = await subprocess;
  } finally {
    clearTimeout(timer);
  }
  if (kvmFailure !== undefined && !options.signal?.aborted) return { kvmFailure };
  if (!verdict) {
    if (options.signal?.aborted) verdict = { passed: false, reason: 'the test boot was stopped' };
    else if (result.exitCode === 0)
      verdict = { passed: false, reason: 'the guest powered off without printing the expected output' };
    else if (!guestSpoke && qemuSaid) verdict = { passed: false, reason: `QEMU could not start the VM: ${qemuSaid}` };
    else {
      const last = qemuSaid ?? tail.lines.at(-1)?.trim();
      verdict = {
        passed: false,
        reason: `QEMU stopped with exit code ${result.exitCode ?? 'none'}${last ? `: ${last}` : ''}`,
      };
    }
  }
  return { verdict };
}

/** QEMU's own notes on stderr, which are not the guest's output. */
const QEMU_NOTE = /^qemu-system-\S+: (terminating on signal|.*warning: externally provided fw_cfg)/;

const MIB = 1024 * 1024;

/** What a Linux kernel and a small stage 2 take on top of the image's own RAM. */
const KERNEL_BASELINE_MIB = 128;

/**
 * A failed boot with less RAM than the image needs is most likely that, even
 * when the guest only stopped or panicked early (before its console was up):
 * say so. Pure: tested on its own.
 */
export function withRamHint(reason: string, memoryMiB: number, ramBytes: number | undefined): string {
  if (ramBytes === undefined || /RAM|memory/.test(reason) || /stopped$/.test(reason)) return reason;
  const needMiB = Math.ceil(ramBytes / MIB) + KERNEL_BASELINE_MIB;
  if (memoryMiB >= needMiB) return reason;
  return `${reason}; the guest had ${memoryMiB} MiB of RAM and the image needs about ${needMiB} MiB, so give it more with --memory (or leave --memory out)`;
}

/** The RAM the build recorded that the image needs: in the boot folder's record, or the one a USB image carries. */
async function recordedRamBytes(target: { dir?: string | undefined; usbImage?: string | undefined }) {
  if (target.dir !== undefined) return (await readBootFolderInfo(target.dir)).ramBytes;
  return (await readUsbImageInfo(target.usbImage!).catch(() => undefined))?.ramBytes;
}

/** The recorded RAM (or a guess), plus a quarter and room for the kernel and stage 2, at least 512 MiB. */
function memoryMiBFor(neededBytes: number): number {
  return Math.max(512, Math.ceil((neededBytes * 1.25) / MIB / 64) * 64 + 256);
}

/** RAM for a test boot of the boot folder `dir`. */
export async function bootMemoryMiB(dir: string): Promise<number> {
  let needed = await recordedRamBytes({ dir });
  if (needed === undefined) {
    // Not our folder: guess from the download, which unpacks to a few times its size.
    let download = 0;
    for (const name of ['bzImage', 'initrd', 'manifest', 'nix-store']) {
      download += (await stat(join(dir, name)).catch(() => undefined))?.size ?? 0;
    }
    needed = download * 4;
  }
  return memoryMiBFor(needed);
}

/** RAM for a test boot of a USB image; without a record, a guess from the image's size. */
async function usbImageMemoryMiB(file: string): Promise<number> {
  const needed = await recordedRamBytes({ usbImage: file });
  return memoryMiBFor(needed ?? ((await stat(file).catch(() => undefined))?.size ?? 0) * 4);
}

/** RAM for a test boot of a boot folder or, when given, a USB image. */
export function testBootMemoryMiB(target: {
  dir?: string | undefined;
  usbImage?: string | undefined;
}): Promise<number> {
  return target.usbImage !== undefined ? usbImageMemoryMiB(target.usbImage) : bootMemoryMiB(target.dir!);
}
