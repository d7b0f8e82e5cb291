/**
 * Booting a boot folder in QEMU before it touches hardware: the firmware's
 * iPXE netboots the folder through QEMU's own TFTP server, and the serial
 * console is watched for a pattern that proves the system came up.
 *
 * The guest's network is QEMU's user-mode network with `restrict=on`: it
 * reaches QEMU's built-in DHCP and TFTP and nothing else.
 */
import { constants, copyFile, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { release, tmpdir } from 'node:os';
import { StringDecoder } from 'node:string_decoder';
import { dirname, join, resolve } from 'node:path';
import { execa } from 'execa';
import type { Accel, Firmware, TestBootResult } from '../shared/types.ts';
import { NetbootError } from './errors.ts';

export type { Accel, Firmware };
import { readBootFolderInfo } from './output.ts';
import { readUsbImageInfo } from './usb.ts';
import { defaultStateDir } from './cache.ts';
import { DEMO_FAILURE_MARKER, DEMO_MARKER } from './demo.ts';
import { exists } from './fsutil.ts';
import { firstMisalignedStart } from './initrd.ts';
import { KILL_GRACE_MS, onLines, requireTool, runTool } from './tools.ts';

/** What a test boot waits for unless told otherwise: the demo's marker, or a NixOS login prompt. */
export const DEFAULT_EXPECT = new RegExp(`${DEMO_MARKER}|login: *$`);

/** Escape sequences the firmware prints (colours, cursor moves), removed before matching. */
// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][A-Za-z0-9]|\x1bc/g;

/** Control characters other than tab. */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\x00-\x08\x0b-\x1f\x7f]/g;

/** One console line as a person would read it. */
export function cleanConsoleLine(line: string): string {
  return line.replace(ANSI, '').replace(CONTROL, '').trimEnd();
}

/** The panic message of a kernel's panic line. */
function panicText(line: string): string {
  return line.slice(line.indexOf('Kernel panic - not syncing:') + 'Kernel panic - not syncing:'.length).trim();
}

/** Console lines that mean the boot failed, with the reason to report. */
const FAILURES: { pattern: RegExp; reason: (line: string, context: FailureContext) => string }[] = [
  {
    pattern: /Kernel panic - not syncing: Out of memory|Out of memory: Killed process/,
    reason: () => 'the guest ran out of memory; give it more with --memory',
  },
  {
    // "write error" and "can't allocate buffers": the unpacked files did not fit in RAM.
    pattern: /Initramfs unpacking failed: (write error|can't allocate)/,
    reason: () => 'the kernel could not unpack the initrds: too little memory; give it more with --memory',
  },
  {
    // Any other: the bytes where an archive should start are not one
    // ("invalid magic at start of compressed archive", "junk within ...").
    pattern: /Initramfs unpacking failed/,
    reason: (_line, context) => {
      const at = context.misalignedAt;
      return at === undefined
        ? 'the kernel found no valid initramfs archive: an initrd that is misaligned or corrupt'
        : `the kernel found no valid initramfs archive after byte ${at}: an initrd that is misaligned or corrupt (the one starting there is not on a 4-byte boundary; build the boot folder again, which pads each initrd)`;
    },
  },
  {
    pattern:
      /Kernel panic - not syncing: (VFS: Unable to mount root fs|No working init found|Requested init \S+ failed)/,
    reason: (line) =>
      `the kernel could not find its init (${panicText(line)}); check the init= and initrd lines of netboot.ipxe`,
  },
  { pattern: /Kernel panic - not syncing/, reason: (line) => `the kernel panicked: ${panicText(line)}` },
  {
    pattern: new RegExp(DEMO_FAILURE_MARKER),
    reason: (line) => `the system reported a failure: ${line.slice(line.indexOf(DEMO_FAILURE_MARKER)).trim()}`,
  },
  {
    pattern: /Not enough (space|memory)|Cannot allocate memory/,
    reason: (line) => `the guest has too little RAM for the image (${line.trim()}); give it more with --memory`,
  },
  // iPXE's errors end with a link to their explanation.
  { pattern: /\(https?:\/\/ipxe\.org\/[0-9a-f]{8}\)/, reason: (line) => `iPXE failed: ${line.trim()}` },
  {
    pattern: /No bootable device|No bootable option or device was found/,
    reason: () => 'the firmware found nothing to boot',
  },
];

/** What is known of the boot that a failure's reason can name. */
export interface FailureContext {
  /**
   * Where the first initrd starts off a 4-byte boundary when the initrds
   * are joined with no padding (as Linux's EFI stub joins `initrd=` files):
   * see {@link firstMisalignedStart}.
   */
  misalignedAt?: number | undefined;
}

/** Judge one console line: a failure reason, or undefined. Pure: tested on its own. */
export function failureIn(line: string, context: FailureContext = {}): string | undefined {
  const failure = FAILURES.find((f) => f.pattern.test(line));
  return failure?.reason(line, context);
}

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
  onAccel?: (accel: Accel, why: string) => void;
  /** Called before the KVM probe, which takes up to 10 s once per machine. */
  onProbe?: () => void;
}

export type { TestBootResult };

/** The files QEMU needs for a UEFI boot: OVMF's code, a template of its variables, and iPXE's EFI ROM for the NIC. */
export interface UefiFiles {
  code: string;
  vars: string;
  rom: string;
}

/** Debian's paths, the fallback when QEMU's firmware descriptors name none. */
export const UEFI_FILES: UefiFiles = {
  code: '/usr/share/OVMF/OVMF_CODE_4M.fd',
  vars: '/usr/share/OVMF/OVMF_VARS_4M.fd',
  rom: '/usr/lib/ipxe/qemu/efi-virtio.rom',
};

/** Where distributions keep QEMU's firmware descriptors (docs/interop/firmware.json), in QEMU's order. */
const DESCRIPTOR_DIRS = ['/etc/qemu/firmware', '/usr/share/qemu/firmware'];
const ROM_CANDIDATES = [
  '/usr/lib/ipxe/qemu/efi-virtio.rom',
  '/usr/share/ipxe/qemu/efi-virtio.rom',
  '/usr/share/qemu/efi-virtio.rom',
];

interface FirmwareDescriptor {
  'interface-types'?: string[];
  mapping?: { device?: string; executable?: { filename?: string }; 'nvram-template'?: { filename?: string } };
  targets?: { architecture?: string }[];
  features?: string[];
}

/**
 * OVMF without Secure Boot as QEMU's firmware descriptors name it, which
 * works on any distribution that ships them; Debian's paths otherwise. The
 * EFI iPXE ROM from the first place that has it.
 */
export async function findUefiFiles(): Promise<UefiFiles> {
  let code: string | undefined;
  let vars: string | undefined;
  for (const dir of DESCRIPTOR_DIRS) {
    const names = (await readdir(dir).catch(() => [] as string[])).filter((n) => n.endsWith('.json')).sort();
    for (const name of names) {
      const d = await readFile(join(dir, name), 'utf8').then(
        (text) => JSON.parse(text) as FirmwareDescriptor,
        () => undefined,
      );
      const executable = d?.mapping?.executable?.filename;
      const template = d?.mapping?.['nvram-template']?.filename;
      if (
        d?.['interface-types']?.includes('uefi') &&
        d.mapping?.device === 'flash' &&
        d.targets?.some((t) => t.architecture === 'x86_64') &&
        !d.features?.some((f) => f === 'secure-boot' || f === 'requires-smm' || f === 'enrolled-keys') &&
        executable &&
        template &&
        (await exists(executable)) &&
        (await exists(template))
      ) {
        code = executable;
        vars = template;
        break;
      }
    }
    if (code) break;
  }
  if (!code || !vars) {
    if (!(await exists(UEFI_FILES.code)) || !(await exists(UEFI_FILES.vars))) {
      throw new NetbootError('UEFI test boots need OVMF, which is missing; install it with: apt-get install ovmf');
    }
    code = UEFI_FILES.code;
    vars = UEFI_FILES.vars;
  }
  let rom: string | undefined;
  for (const candidate of ROM_CANDIDATES) {
    if (await exists(candidate)) {
      rom = candidate;
      break;
    }
  }
  if (!rom) {
    throw new NetbootError(
      "UEFI netboots need iPXE's EFI ROM for QEMU (efi-virtio.rom), which is missing; install it with: apt-get install ipxe-qemu",
    );
  }
  return { code, vars, rom };
}

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
}

const comma = (path: string): string => resolve(path).replace(/,/g, ',,');

/**
 * QEMU's arguments for a test boot. Under BIOS, `serconFile` holds the serial
 * port's address (2 bytes): SeaBIOS then copies the screen to the serial
 * console, so the firmware's and iPXE's messages are seen too. Under UEFI,
 * OVMF writes its console to the serial port itself. Pure: tested on its own.
 */
export function qemuArgs(machine: QemuMachine): string[] {
  const args = [
    '-machine',
    'pc',
    '-accel',
    machine.accel,
    ...(machine.accel === 'kvm' ? ['-cpu', 'host'] : []),
    '-m',
    String(machine.memoryMiB),
    '-smp',
    '1',
    '-nodefaults',
    '-display',
    'none',
    '-serial',
    'stdio',
    '-monitor',
    'none',
    '-no-reboot',
  ];
  if (machine.firmware === 'uefi') {
    if (!machine.uefi) throw new Error('a UEFI boot needs OVMF and a copy of its variables');
    args.push(
      '-drive',
      `if=pflash,format=raw,unit=0,readonly=on,file=${comma(machine.uefi.code)}`,
      '-drive',
      `if=pflash,format=raw,unit=1,file=${comma(machine.uefi.vars)}`,
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
    const rom = machine.uefi ? `,romfile=${comma(machine.uefi.rom)}` : '';
    args.push(
      '-netdev',
      `user,id=net0,restrict=on,tftp=${comma(machine.tftpDir)},bootfile=netboot.ipxe`,
      '-device',
      `virtio-net-pci,netdev=net0,bootindex=1${rom}`,
    );
  } else throw new Error('a test boot needs a boot folder or a USB image');
  return args;
}

/** SeaBIOS reads the serial console's port as a little-endian number: COM1 is 0x3f8. */
async function serconFile(stateDir: string): Promise<string> {
  const file = join(stateDir, 'sercon-port');
  if (!(await exists(file))) {
    await mkdir(stateDir, { recursive: true });
    await writeFile(file, Buffer.from([0xf8, 0x03]));
  }
  return file;
}

const PROBE_SECONDS = 10;
let memo: Promise<{ accel: Accel; why: string }> | undefined;

/**
 * KVM when it can start a guest, TCG otherwise. `/dev/kvm` existing is not
 * enough (nested virtualisation can hang a guest), so a guest is started
 * under KVM once (SeaBIOS, which prints its banner on the serial console),
 * and the answer is kept in `stateDir` for this machine.
 */
export async function chooseAccel(stateDir?: string, onProbe?: () => void): Promise<{ accel: Accel; why: string }> {
  const forced = process.env.NETBOOT_COMPOSER_ACCEL;
  if (forced === 'kvm' || forced === 'tcg') return { accel: forced, why: 'set by NETBOOT_COMPOSER_ACCEL' };
  memo ??= probe(stateDir, onProbe).catch((error: unknown) => {
    memo = undefined;
    throw error;
  });
  return memo;
}

async function probe(stateDir?: string, onProbe?: () => void): Promise<{ accel: Accel; why: string }> {
  if (!(await exists('/dev/kvm', constants.R_OK | constants.W_OK))) {
    return { accel: 'tcg', why: '/dev/kvm is not usable, so QEMU emulates the CPU (slower)' };
  }
  const qemu = requireTool('qemu-system-x86_64');
  const version = (await runTool('qemu-system-x86_64', ['--version'], { what: 'qemu --version' })).split('\n')[0] ?? '';
  const key = `${version} ${release()} seabios`;
  const dir = stateDir ?? defaultStateDir();
  const stateFile = join(dir, 'kvm-probe.json');
  const saved = await readFile(stateFile, 'utf8').then(
    (text) => JSON.parse(text) as { key: string; kvm: boolean },
    () => undefined,
  );
  if (saved?.key === key) {
    return saved.kvm
      ? { accel: 'kvm', why: 'KVM starts guests on this machine' }
      : { accel: 'tcg', why: 'KVM does not start guests on this machine (probed earlier), so QEMU emulates the CPU' };
  }
  onProbe?.();
  const subprocess = execa(
    qemu,
    [
      '-accel',
      'kvm',
      '-cpu',
      'host',
      '-m',
      '64',
      '-nodefaults',
      '-display',
      'none',
      '-serial',
      'stdio',
      '-monitor',
      'none',
      '-no-reboot',
      '-fw_cfg',
      `name=etc/sercon-port,file=${comma(await serconFile(dir))}`,
    ],
    { reject: false, timeout: PROBE_SECONDS * 1000, forceKillAfterDelay: KILL_GRACE_MS, stdin: 'ignore' },
  );
  let kvm = false;
  subprocess.stdout?.on('data', (chunk: Buffer) => {
    if (!kvm && chunk.toString('latin1').includes('SeaBIOS')) {
      kvm = true;
      subprocess.kill();
    }
  });
  await subprocess;
  await mkdir(dirname(stateFile), { recursive: true });
  await writeFile(stateFile, `${JSON.stringify({ key, kvm })}\n`);
  return kvm
    ? { accel: 'kvm', why: 'KVM starts guests on this machine' }
    : {
        accel: 'tcg',
        why: `KVM did not start a guest within ${PROBE_SECONDS} s here, so QEMU emulates the CPU (slower)`,
      };
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
  const uefi = firmware === 'uefi' ? await findUefiFiles() : undefined;
  const context = await failureContext(options.dir, script, firmware);
  const stateDir = options.stateDir ?? defaultStateDir();
  const chosen = options.accel
    ? { accel: options.accel, why: 'as asked' }
    : await chooseAccel(stateDir, options.onProbe);
  options.onAccel?.(chosen.accel, chosen.why);

  const scratch = await mkdtemp(join(tmpdir(), 'netboot-composer-vm-'));
  const tail = new Tail(30);
  let verdict: { passed: boolean; reason: string } | undefined;
  let timer: NodeJS.Timeout | undefined;
  try {
    // OVMF writes its variables: each boot gets its own copy of the template.
    let uefiCopy: UefiFiles | undefined;
    if (uefi) {
      uefiCopy = { ...uefi, vars: join(scratch, 'OVMF_VARS.fd') };
      await copyFile(uefi.vars, uefiCopy.vars);
    }
    const args = qemuArgs({
      firmware,
      memoryMiB: options.memoryMiB,
      accel: chosen.accel,
      tftpDir: options.dir,
      usbImage: options.usbImage,
      serconFile: firmware === 'bios' ? await serconFile(stateDir) : undefined,
      uefi: uefiCopy,
    });
    const subprocess = execa(qemu, args, {
      reject: false,
      stdin: 'ignore',
      forceKillAfterDelay: KILL_GRACE_MS,
      cancelSignal: options.signal,
    });
    const settle = (passed: boolean, reason: string): void => {
      if (verdict) return;
      verdict = { passed, reason };
      subprocess.kill();
    };
    timer = setTimeout(
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
      // QEMU's own errors (on stderr) are not the guest's: they are not judged as console lines.
      if (fromQemu) {
        qemuSaid = line.replace(/^qemu-system-\S+: /, '').trim();
        return;
      }
      guestSpoke = true;
      if (options.expect.test(line)) settle(true, line.trim());
      else {
        const failure = failureIn(line, context);
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
    const result = await subprocess;
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
  } finally {
    clearTimeout(timer);
    await rm(scratch, { recursive: true, force: true });
  }
  if (!verdict!.passed) {
    verdict!.reason = withRamHint(verdict!.reason, options.memoryMiB, await recordedRamBytes(options));
  }
  return {
    ...verdict!,
    accel: chosen.accel,
    firmware,
    memoryMiB: options.memoryMiB,
    seconds: (performance.now() - started) / 1000,
    lastLines: tail.lines,
  };
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
