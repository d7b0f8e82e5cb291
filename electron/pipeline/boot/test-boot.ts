/**
 * Booting a boot folder in QEMU before it touches hardware: the firmware's
 * iPXE netboots the folder through QEMU's own TFTP server, and the serial
 * console is watched for a pattern that proves the system came up.
 *
 * The guest's network is QEMU's user-mode network with `restrict=on`: it
 * reaches QEMU's built-in DHCP and TFTP and nothing else.
 */
import { execa } from 'execa';
import { copyFile, lstat, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import type { Accel, Arch, Firmware, TestBootResult } from '../../shared/types.ts';
import { defaultCacheDir, defaultStateDir } from '../base/dirs.ts';
import { NetbootError } from '../base/errors.ts';
import { exists } from '../base/fsutil.ts';
import { KILL_GRACE_MS, onLines, requireTool } from '../base/tools.ts';
import { DEMO_MARKER } from '../media/markers.ts';
import { isSafeName, linkOnTheWay } from '../media/record.ts';
import { readBootFolderFiles } from '../media/read-folder.ts';
import { finishInterruptedCommit } from '../media/journal.ts';
import { bootArch, findAavmfFiles } from './aarch64.ts';
import { cleanConsoleLine } from './console.ts';
import { CHAINLOAD_AUTOEXEC, chainloadLoopIn, findUefiFiles } from './firmware.ts';
import { chooseAccel, kvmFailureIn, rememberKvmUnusable, serconFile } from './kvm.ts';
import { failureContext, failureIn } from './diagnosis.ts';
import { recordedRamBytes, withRamHint } from './memory.ts';
import { qemuArgs } from './qemu.ts';

/** What a test boot waits for unless told otherwise: the demo's marker, or a NixOS login prompt. */
export const DEFAULT_EXPECT = new RegExp(`${DEMO_MARKER}|login: *$`);

export interface TestBootOptions {
  /** The boot folder (with netboot.ipxe), netbooted through QEMU's TFTP. */
  dir?: string | undefined;
  /** Or a USB disk image (made by `export --usb-image`), booted as a USB stick with no network. */
  usbImage?: string | undefined;
  /** Default: bios (x86_64), uefi (aarch64, which has no other). */
  firmware?: Firmware | undefined;
  /**
   * The machine to boot on: x86_64 (QEMU's pc) or aarch64 (QEMU's virt with
   * AAVMF, under TCG). Default: the boot folder's or USB image's own (see bootArch).
   */
  arch?: Arch | undefined;
  /** Where an aarch64 netboot's arm64 iPXE is fetched to and kept; default {@link defaultCacheDir}. */
  cacheDir?: string | undefined;
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

/**
 * The words of netboot.ipxe's image lines (kernel, initrd, chain...) that
 * could name a file of the folder: QEMU's TFTP server serves whatever they
 * name, links followed. Pure.
 */
export function loadedNames(script: string): string[] {
  const names = new Set<string>();
  for (const line of script.split('\n')) {
    const words = line.split(/[ \t\v\f\r]+/).filter((word) => word.length > 0);
    if (!/^(kernel|initrd|chain|module|imgfetch|imgload|imgexec|imgselect|imgargs)$/.test(words[0] ?? '')) continue;
    for (const word of words.slice(1)) {
      if (!word.startsWith('-') && !word.includes('://') && !word.includes('${') && !word.includes('='))
        names.add(word);
    }
  }
  return [...names];
}

/** Refuse `name` in the boot folder `dir` when it, or a folder on the way to it, is a link: it is not followed. */
async function refuseLink(dir: string, name: string): Promise<void> {
  if (!isSafeName(name)) return;
  const path = join(dir, name);
  const link =
    (await linkOnTheWay(dir, name)) ??
    ((await lstat(path).catch(() => undefined))?.isSymbolicLink() ? path : undefined);
  if (link !== undefined) {
    throw new NetbootError(
      `${link} is a link, and a test boot serves only the boot folder's own files, so it is not followed; build the system again into a new folder.`,
    );
  }
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
  if ((options.dir === undefined) === (options.usbImage === undefined)) {
    throw new NetbootError('Give a boot folder or a USB image to test-boot, one of them.');
  }
  const arch = options.arch ?? (await bootArch(options));
  const aarch64 = arch === 'aarch64-linux';
  const firmware = options.firmware ?? (aarch64 ? 'uefi' : 'bios');
  if (aarch64 && firmware !== 'uefi') {
    throw new NetbootError('aarch64 machines boot through UEFI only; test-boot them with --firmware uefi.');
  }
  let script: string | undefined;
  if (options.dir !== undefined) {
    // A build killed while it put its files in place: boot the new folder, not a mix.
    await finishInterruptedCommit(options.dir);
    // Someone else may have written the folder: its record must tell the truth, and nothing it boots is a link.
    await readBootFolderFiles(options.dir, { missingOk: true });
    await refuseLink(options.dir, 'netboot.ipxe');
    if (!(await exists(join(options.dir, 'netboot.ipxe')))) {
      throw new NetbootError(`${options.dir} has no netboot.ipxe; give a boot folder made by netboot-composer build.`);
    }
    script = await readFile(join(options.dir, 'netboot.ipxe'), 'utf8');
    for (const name of loadedNames(script)) await refuseLink(options.dir, name);
    const url = /^(?:kernel|initrd)\b.*?\b(https?:\/\/\S+)/m.exec(script)?.[1];
    if (url) {
      throw new NetbootError(
        `${options.dir}'s netboot.ipxe fetches its files from ${url}, which the test VM cannot reach; test-boot the boot folder it was exported from.`,
      );
    }
    const kernel = aarch64 ? 'Image' : 'bzImage';
    if (!(await exists(join(options.dir, kernel)))) {
      throw new NetbootError(
        `${options.dir} has no ${kernel}, the kernel of an ${arch} boot folder; build the system again, or test-boot it as the architecture it was built for.`,
      );
    }
  } else if (!(await stat(options.usbImage!).catch(() => undefined))?.isFile()) {
    throw new NetbootError(
      `${options.usbImage} is not a file; give a USB image made by netboot-composer export --usb-image.`,
    );
  }
  const qemu = requireTool(aarch64 ? 'qemu-system-aarch64' : 'qemu-system-x86_64');
  const netboot = options.dir !== undefined;
  const uefi = aarch64
    ? await findAavmfFiles(options.cacheDir ?? defaultCacheDir(), { netboot, signal: options.signal })
    : firmware === 'uefi'
      ? await findUefiFiles(process.env, { netboot })
      : undefined;
  const context = await failureContext(options.dir, script, firmware);
  const stateDir = options.stateDir ?? defaultStateDir();
  const chosen = options.accel
    ? { accel: options.accel, why: 'as asked' }
    : aarch64 && process.arch !== 'arm64'
      ? {
          accel: 'tcg' as const,
          why: 'an aarch64 guest on this x86_64 machine: QEMU emulates its CPU (KVM runs only the host architecture)',
        }
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
          arch,
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
