/**
 * Booting a boot folder in QEMU before it touches hardware: the firmware's
 * iPXE netboots the folder through QEMU's own TFTP server, and the serial
 * console is watched for a pattern that proves the system came up.
 *
 * The guest's network is QEMU's user-mode network with `restrict=on`: it
 * reaches QEMU's built-in DHCP and TFTP and nothing else.
 */
import { constants, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { release } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { execa } from 'execa';
import { NetbootError } from './errors.ts';
import { readBootFolderInfo } from './output.ts';
import { defaultStateDir } from './cache.ts';
import { DEMO_FAILURE_MARKER } from './demo.ts';
import { exists } from './fsutil.ts';
import { KILL_GRACE_MS, onLines, requireTool, runTool } from './tools.ts';

export type Accel = 'kvm' | 'tcg';

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

/** Console lines that mean the boot failed, with the reason to report. */
const FAILURES: { pattern: RegExp; reason: (line: string) => string }[] = [
  {
    pattern: /Kernel panic - not syncing: Out of memory|Out of memory: Killed process/,
    reason: () => 'the guest ran out of memory',
  },
  {
    pattern: /Initramfs unpacking failed/,
    reason: () => 'the kernel could not unpack the initrds (too little memory?)',
  },
  { pattern: /Kernel panic - not syncing/, reason: () => 'the kernel panicked' },
  { pattern: new RegExp(DEMO_FAILURE_MARKER), reason: () => 'the demo system reported a failure' },
  // iPXE's errors end with a link to their explanation.
  { pattern: /\(https?:\/\/ipxe\.org\/[0-9a-f]{8}\)/, reason: (line) => `iPXE failed: ${line.trim()}` },
  { pattern: /No bootable device/, reason: () => 'the firmware found nothing to boot' },
];

/** Judge one console line: a failure reason, or undefined. Pure: tested on its own. */
export function failureIn(line: string): string | undefined {
  const failure = FAILURES.find((f) => f.pattern.test(line));
  return failure?.reason(line);
}

export interface TestBootOptions {
  /** The boot folder (with netboot.ipxe). */
  dir: string;
  expect: RegExp;
  timeoutSeconds: number;
  memoryMiB: number;
  accel?: Accel | undefined;
  /** Where the KVM probe's answer is kept between runs; default {@link defaultStateDir}. */
  stateDir?: string | undefined;
  signal?: AbortSignal | undefined;
  onLine?: (line: string) => void;
  onAccel?: (accel: Accel, why: string) => void;
  /** Called before the KVM probe, which takes up to 10 s once per machine. */
  onProbe?: () => void;
}

export interface TestBootResult {
  passed: boolean;
  /** Why it failed, in one sentence; the matched line when it passed. */
  reason: string;
  accel: Accel;
  seconds: number;
  /** The last console lines, for the report. */
  lastLines: string[];
}

/**
 * QEMU's arguments to netboot `dir` under BIOS. `serconFile` holds the serial
 * port's address (2 bytes); it makes SeaBIOS copy the screen to the serial
 * console, so the firmware's and iPXE's messages are seen too. Pure: tested on its own.
 */
export function qemuNetbootArgs(dir: string, memoryMiB: number, accel: Accel, serconFile: string): string[] {
  const tftp = resolve(dir).replace(/,/g, ',,');
  return [
    '-machine',
    'pc',
    '-accel',
    accel,
    ...(accel === 'kvm' ? ['-cpu', 'host'] : []),
    '-m',
    String(memoryMiB),
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
    '-netdev',
    `user,id=net0,restrict=on,tftp=${tftp},bootfile=netboot.ipxe`,
    '-device',
    'virtio-net-pci,netdev=net0',
    '-boot',
    'order=n',
    '-fw_cfg',
    `name=etc/sercon-port,file=${serconFile.replace(/,/g, ',,')}`,
  ];
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
 * enough (nested virtualisation can hang a guest), so a kernel is booted
 * under KVM once, and the answer is kept in `stateDir` for this machine.
 */
export async function chooseAccel(
  kernel: string,
  stateDir?: string,
  onProbe?: () => void,
): Promise<{ accel: Accel; why: string }> {
  const forced = process.env.NETBOOT_COMPOSER_ACCEL;
  if (forced === 'kvm' || forced === 'tcg') return { accel: forced, why: 'set by NETBOOT_COMPOSER_ACCEL' };
  memo ??= probe(kernel, stateDir, onProbe);
  return memo;
}

async function probe(kernel: string, stateDir?: string, onProbe?: () => void): Promise<{ accel: Accel; why: string }> {
  if (!(await exists('/dev/kvm', constants.R_OK | constants.W_OK))) {
    return { accel: 'tcg', why: '/dev/kvm is not usable, so QEMU emulates the CPU (slower)' };
  }
  const qemu = requireTool('qemu-system-x86_64');
  const version = (await runTool('qemu-system-x86_64', ['--version'], { what: 'qemu --version' })).split('\n')[0] ?? '';
  const key = `${version} ${release()}`;
  const stateFile = stateDir ? join(stateDir, 'kvm-probe.json') : undefined;
  if (stateFile) {
    const saved = await readFile(stateFile, 'utf8').then(
      (text) => JSON.parse(text) as { key: string; kvm: boolean },
      () => undefined,
    );
    if (saved?.key === key) {
      return saved.kvm
        ? { accel: 'kvm', why: 'KVM starts guests on this machine' }
        : { accel: 'tcg', why: 'KVM does not start guests on this machine (probed earlier), so QEMU emulates the CPU' };
    }
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
      '256',
      '-nodefaults',
      '-display',
      'none',
      '-serial',
      'stdio',
      '-monitor',
      'none',
      '-no-reboot',
      '-kernel',
      kernel,
      '-append',
      'console=ttyS0 earlyprintk=serial,ttyS0 panic=-1',
    ],
    { reject: false, timeout: PROBE_SECONDS * 1000, forceKillAfterDelay: KILL_GRACE_MS, stdin: 'ignore' },
  );
  let kvm = false;
  subprocess.stdout?.on('data', (chunk: Buffer) => {
    if (!kvm && chunk.toString('latin1').includes('Linux version')) {
      kvm = true;
      subprocess.kill();
    }
  });
  await subprocess;
  if (stateFile) {
    await mkdir(dirname(stateFile), { recursive: true });
    await writeFile(stateFile, `${JSON.stringify({ key, kvm })}\n`);
  }
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
 * Netboot `dir` in QEMU and watch the serial console for `expect`. Resolves
 * with passed or failed (and why); the VM is always killed before it returns.
 */
export async function testBoot(options: TestBootOptions): Promise<TestBootResult> {
  const started = performance.now();
  if (!(await exists(join(options.dir, 'netboot.ipxe')))) {
    throw new NetbootError(`${options.dir} has no netboot.ipxe; give a boot folder made by netboot-composer build.`);
  }
  const qemu = requireTool('qemu-system-x86_64');
  const kernel = join(options.dir, 'bzImage');
  if (!(await exists(kernel))) {
    throw new NetbootError(`${options.dir} has no bzImage; test boots run x86_64 boot folders.`);
  }
  const chosen = options.accel
    ? { accel: options.accel, why: 'as asked' }
    : await chooseAccel(kernel, options.stateDir ?? defaultStateDir(), options.onProbe);
  options.onAccel?.(chosen.accel, chosen.why);

  const tail = new Tail(30);
  const stateDir = options.stateDir ?? defaultStateDir();
  const args = qemuNetbootArgs(options.dir, options.memoryMiB, chosen.accel, await serconFile(stateDir));
  const subprocess = execa(qemu, args, {
    reject: false,
    stdin: 'ignore',
    forceKillAfterDelay: KILL_GRACE_MS,
    cancelSignal: options.signal,
  });
  let verdict: { passed: boolean; reason: string } | undefined;
  const settle = (passed: boolean, reason: string): void => {
    if (verdict) return;
    verdict = { passed, reason };
    subprocess.kill();
  };
  const timer = setTimeout(
    () => settle(false, `the expected output did not appear within ${options.timeoutSeconds} s`),
    options.timeoutSeconds * 1000,
  );
  const onLine = (raw: string): void => {
    const line = cleanConsoleLine(raw);
    // QEMU's own notes (that we stopped it, that fw_cfg names usually start
    // with opt/) are not the guest's output.
    if (!line.trim() || /^qemu-system-\S+: (terminating on signal|.*warning: externally provided fw_cfg)/.test(line)) {
      return;
    }
    tail.push(line);
    options.onLine?.(line);
    if (options.expect.test(line)) settle(true, line.trim());
    else {
      const failure = failureIn(line);
      if (failure) settle(false, failure);
    }
  };
  onLines(subprocess.stdout, onLine);
  onLines(subprocess.stderr, onLine);
  const result = await subprocess;
  clearTimeout(timer);
  if (!verdict) {
    if (options.signal?.aborted) verdict = { passed: false, reason: 'the test boot was stopped' };
    else if (result.exitCode === 0)
      verdict = { passed: false, reason: 'the guest powered off without printing the expected output' };
    else {
      const last = tail.lines.at(-1);
      verdict = {
        passed: false,
        reason: `QEMU stopped with exit code ${result.exitCode ?? 'none'}${last ? `: ${last.trim()}` : ''}`,
      };
    }
  }
  return {
    ...verdict,
    accel: chosen.accel,
    seconds: (performance.now() - started) / 1000,
    lastLines: tail.lines,
  };
}

const MIB = 1024 * 1024;

/**
 * RAM for a test boot of `dir`: what the build said the image needs, plus
 * room for the kernel and stage 2, at least 512 MiB.
 */
export async function bootMemoryMiB(dir: string): Promise<number> {
  const info = await readBootFolderInfo(dir);
  let needed = info.ramBytes;
  if (needed === undefined) {
    // Not our folder: guess from the download, which unpacks to a few times its size.
    let download = 0;
    for (const name of ['bzImage', 'initrd', 'manifest', 'nix-store']) {
      download += (await stat(join(dir, name)).catch(() => undefined))?.size ?? 0;
    }
    needed = download * 4;
  }
  return Math.max(512, Math.ceil((needed * 1.25) / MIB / 64) * 64 + 256);
}
