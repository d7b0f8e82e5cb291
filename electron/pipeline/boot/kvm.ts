/**
 * KVM or TCG for test boots. `/dev/kvm` existing is not enough to trust KVM:
 * nested or buggy hosts start SeaBIOS and then fail in iPXE (an MSR QEMU
 * cannot set, an instruction KVM cannot emulate). So the probe boots what a
 * test boot boots (SeaBIOS, then the NIC's iPXE ROM up to its DHCP answer),
 * QEMU's own KVM failures are recognised the moment they are printed, and
 * the answer is kept per QEMU version and kernel release.
 */
import { execa } from 'execa';
import { constants, readFile, writeFile } from 'node:fs/promises';
import { release } from 'node:os';
import { dirname, join } from 'node:path';
import type { Accel } from '../../shared/types.ts';
import { defaultStateDir } from '../base/dirs.ts';
import { exists, makeFolder } from '../base/fsutil.ts';
import { KILL_GRACE_MS, onLines, requireTool, runTool } from '../base/tools.ts';
import { baseQemuArgs, comma } from './qemu.ts';

/**
 * QEMU's own words when KVM cannot run the guest. "KVM internal error" and
 * "emulation failure" leave the VM paused forever (QEMU does not exit), an
 * MSR assertion aborts QEMU: both must end a boot at once, not at its timeout.
 */
const KVM_FAILURES: RegExp[] = [
  /KVM internal error\. Suberror: \d+/,
  /\bemulation failure\b/,
  /\bkvm run failed\b.*/,
  /KVM: entry failed, hardware error \S+/,
  /failed to set MSR \S+ to \S+/,
  /\bkvm_\w+: Assertion .* failed\.?/,
];

/**
 * Judge one line QEMU printed (stdout or stderr) during a boot under KVM:
 * QEMU's KVM failure in its own words, or undefined. Pure: tested on its own.
 */
export function kvmFailureIn(line: string): string | undefined {
  for (const pattern of KVM_FAILURES) {
    const match = pattern.exec(line);
    if (match) return match[0].trim();
  }
  return undefined;
}

/**
 * The line that proves iPXE ran under KVM: its DHCP answer (iPXE 1.0.0 of
 * 2019 and 1.21.1 both print `Configuring (net0 52:54:00:12:34:56)...... ok`),
 * or its giving up after trying (no boot file on a network with none).
 */
export const PROBE_PASS = /Configuring \(net0 [0-9a-f:]+\)[. ]*ok|No more network devices/;

/** How long the probe may take, at most. */
export const PROBE_SECONDS = 12;

/**
 * QEMU's arguments for the KVM probe: SeaBIOS with QEMU's own iPXE ROM on a
 * virtio NIC (as BIOS test boots have), user networking restricted to QEMU
 * itself and no TFTP, so iPXE gets an address and then nothing to boot.
 * Pure: tested on its own.
 */
export function kvmProbeArgs(serconFile: string): string[] {
  return [
    ...baseQemuArgs('kvm', 128),
    '-fw_cfg',
    `name=etc/sercon-port,file=${comma(serconFile)}`,
    '-netdev',
    'user,id=net0,restrict=on',
    '-device',
    'virtio-net-pci,netdev=net0,bootindex=1',
  ];
}

/** SeaBIOS reads the serial console's port as a little-endian number: COM1 is 0x3f8. */
export async function serconFile(stateDir: string): Promise<string> {
  const file = join(stateDir, 'sercon-port');
  if (!(await exists(file))) {
    await makeFolder(stateDir);
    await writeFile(file, Buffer.from([0xf8, 0x03]));
  }
  return file;
}

/** What is kept in the state dir: whether KVM runs our boots, for which QEMU and kernel, and why not. */
export interface KvmState {
  key: string;
  kvm: boolean;
  /** Why KVM is not used: QEMU's own words, or the probe's. */
  reason?: string | undefined;
  /** When it was found out (ISO time). */
  at?: string | undefined;
}

/** The state file's name inside the state dir. */
export const KVM_STATE_FILE = 'kvm-probe.json';

/**
 * The key the answer is kept under: a new QEMU or kernel probes again. The
 * last word names what the probe boots, so a different probe does too.
 */
export async function kvmStateKey(): Promise<string> {
  const version = (await runTool('qemu-system-x86_64', ['--version'], { what: 'qemu --version' })).split('\n')[0] ?? '';
  return `${version.trim()} ${release()} ipxe`;
}

/** The answer kept for this QEMU and kernel, if any. */
export async function readKvmState(stateDir: string = defaultStateDir(), key?: string): Promise<KvmState | undefined> {
  key ??= await kvmStateKey();
  const saved = await readFile(join(stateDir, KVM_STATE_FILE), 'utf8').then(
    (text) => JSON.parse(text) as KvmState,
    () => undefined,
  );
  return saved?.key === key ? saved : undefined;
}

async function writeKvmState(stateDir: string, state: KvmState): Promise<void> {
  const file = join(stateDir, KVM_STATE_FILE);
  await makeFolder(dirname(file));
  await writeFile(file, `${JSON.stringify(state)}\n`);
}

/**
 * Remember that KVM cannot run our boots on this machine (for this QEMU and
 * kernel), with QEMU's reason; later boots then start under TCG at once.
 */
export async function rememberKvmUnusable(reason: string, stateDir: string = defaultStateDir()): Promise<void> {
  await writeKvmState(stateDir, { key: await kvmStateKey(), kvm: false, reason, at: new Date().toISOString() });
  memo = Promise.resolve({ accel: 'tcg', why: tcgBecause(reason) });
}

const KVM_WORKS = { accel: 'kvm', why: 'KVM runs iPXE on this machine' } as const;

const tcgBecause = (reason: string): string =>
  `KVM cannot run our boots on this machine (${reason}), so QEMU emulates the CPU (slower)`;

let memo: Promise<{ accel: Accel; why: string }> | undefined;

/**
 * KVM when it can run a test boot, TCG otherwise; NETBOOT_COMPOSER_ACCEL
 * (`kvm` or `tcg`) skips the probe. The probe's answer is kept in `stateDir`.
 */
export async function chooseAccel(stateDir?: string, onProbe?: () => void): Promise<{ accel: Accel; why: string }> {
  const forced = process.env.NETBOOT_COMPOSER_ACCEL;
  if (forced === 'kvm' || forced === 'tcg') return { accel: forced, why: 'set by NETBOOT_COMPOSER_ACCEL' };
  memo ??= probe(stateDir ?? defaultStateDir(), onProbe).catch((error: unknown) => {
    memo = undefined;
    throw error;
  });
  return memo;
}

async function probe(stateDir: string, onProbe?: () => void): Promise<{ accel: Accel; why: string }> {
  if (!(await exists('/dev/kvm', constants.R_OK | constants.W_OK))) {
    return { accel: 'tcg', why: '/dev/kvm is not usable, so QEMU emulates the CPU (slower)' };
  }
  // One `qemu --version` for the lookup and the answer kept.
  const key = await kvmStateKey();
  const saved = await readKvmState(stateDir, key);
  if (saved) return saved.kvm ? KVM_WORKS : { accel: 'tcg', why: tcgBecause(saved.reason ?? 'probed earlier') };
  onProbe?.();
  const answer = await probeKvm(stateDir);
  await writeKvmState(stateDir, {
    key,
    kvm: answer.kvm,
    reason: answer.kvm ? undefined : answer.reason,
    at: new Date().toISOString(),
  });
  return answer.kvm ? KVM_WORKS : { accel: 'tcg', why: tcgBecause(answer.reason) };
}

/**
 * Boot SeaBIOS and the NIC's iPXE under KVM for at most {@link PROBE_SECONDS}:
 * yes once iPXE got its address, no at the first KVM failure QEMU prints, at
 * QEMU's exit, or at the time limit.
 */
export async function probeKvm(
  stateDir: string = defaultStateDir(),
): Promise<{ kvm: true } | { kvm: false; reason: string }> {
  const qemu = requireTool('qemu-system-x86_64');
  const subprocess = execa(qemu, kvmProbeArgs(await serconFile(stateDir)), {
    reject: false,
    timeout: PROBE_SECONDS * 1000,
    forceKillAfterDelay: KILL_GRACE_MS,
    stdin: 'ignore',
  });
  let answer: { kvm: true } | { kvm: false; reason: string } | undefined;
  let lastQemu: string | undefined;
  const onLine = (line: string, fromQemu: boolean): void => {
    if (answer) return;
    const failure = kvmFailureIn(line);
    if (failure) answer = { kvm: false, reason: failure };
    else if (!fromQemu && PROBE_PASS.test(line)) answer = { kvm: true };
    else if (fromQemu && !/warning:|terminating on signal/.test(line))
      lastQemu = line.replace(/^qemu-system-\S+: /, '').trim();
    if (answer) subprocess.kill();
  };
  onLines(subprocess.stdout, (line) => onLine(line, false));
  onLines(subprocess.stderr, (line) => onLine(line, true));
  const result = await subprocess;
  if (answer) return answer;
  if (result.timedOut) return { kvm: false, reason: `iPXE did not get an address under KVM within ${PROBE_SECONDS} s` };
  return { kvm: false, reason: `QEMU stopped under KVM${lastQemu ? `: ${lastQemu}` : ''}` };
}
