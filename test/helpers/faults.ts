/**
 * Fault injection for the reliability suites (test/faults/): a seeded
 * schedule of kill points, the CLI run until one of them and SIGKILLed
 * there, and what a folder holds (every file hashed) to compare with the
 * states it may be in.
 */
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { watch } from 'node:fs';
import { lstat, mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { buildFixture, CLI, runCli, tempDir } from './fixtures.ts';

/** The seed of the schedule: NETBOOT_COMPOSER_FAULT_SEED, else a new one (printed, so a failure can be replayed). */
export function faultSeed(): number {
  const text = process.env.NETBOOT_COMPOSER_FAULT_SEED?.trim();
  if (text) return Number(text) >>> 0;
  return Math.floor(Math.random() * 2 ** 32) >>> 0;
}

/** How many kills per operation: NETBOOT_COMPOSER_FAULT_KILLS, else `fallback` (CI's small default). */
export function faultKills(fallback: number): number {
  const count = Number(process.env.NETBOOT_COMPOSER_FAULT_KILLS);
  return Number.isSafeInteger(count) && count > 0 ? count : fallback;
}

/** A seeded generator of numbers in [0, 1) (mulberry32), one stream per `label`. */
export function randomStream(seed: number, label: string): () => number {
  let state = (seed ^ createHash('sha256').update(label).digest().readUInt32LE(0)) >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** An integer from `low` to `high`, both included. */
export function between(random: () => number, low: number, high: number): number {
  return low + Math.floor(random() * (high - low + 1));
}

/**
 * Where to kill the CLI: after its Nth JSON event line; after N temporary
 * files (`.NAME.partial-RANDOM`) appeared in `dir`; or once its commit has
 * renamed N files (NETBOOT_COMPOSER_FAULT_HOLD_COMMIT, out-dir.ts: the commit
 * stops there and says so on stderr).
 */
export type KillPoint =
  { kind: 'event'; after: number } | { kind: 'files'; after: number; dir: string } | { kind: 'hold'; after: number };

export function describePoint(point: KillPoint): string {
  switch (point.kind) {
    case 'event':
      return `after JSON event ${point.after}`;
    case 'files':
      return `after ${point.after} temporary file(s) appeared`;
    case 'hold':
      return `in the commit, after ${point.after} rename(s)`;
  }
}

export interface KilledRun {
  pid: number;
  /** True when the SIGKILL ended it (false: it ended before the kill point). */
  killed: boolean;
  code: number | null;
  stdout: string;
  stderr: string;
}

/** A file name of a writer's temporary file (not the record's, journal's or temps list's own). */
const TEMP_FILE = /^\.(?!netboot-composer\.).+\.partial-[0-9a-f]{8}$/;

/** The pids of the processes in process group `group` (the CLI and every child it started). */
export function processGroup(group: number): number[] {
  return execFileSync('ps', ['-eo', 'pid=,pgid=,stat='], { encoding: 'utf8' })
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter(([, pgid, state]) => Number(pgid) === group && !state?.startsWith('Z'))
    .map(([pid]) => Number(pid));
}

/**
 * Run the CLI with `args` in its own process group, and SIGKILL the whole
 * group (the CLI and the tools it runs, as a terminal or a service manager
 * would) at `point`. Waits until no process of the group is left.
 */
export async function runUntilKilled(
  args: string[],
  point: KillPoint | undefined,
  env: Record<string, string> = {},
): Promise<KilledRun> {
  const holdEnv = point?.kind === 'hold' ? { NETBOOT_COMPOSER_FAULT_HOLD_COMMIT: String(point.after) } : {};
  const child = spawn(process.execPath, [CLI, ...args], {
    env: { ...process.env, ...env, ...holdEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const pid = child.pid!;
  let stdout = '';
  let stderr = '';
  let killed = false;
  let events = 0;
  const kill = (): void => {
    if (killed || child.exitCode !== null || child.signalCode !== null) return;
    killed = true;
    process.kill(-pid, 'SIGKILL');
  };
  const seen = new Set<string>();
  const watcher =
    point?.kind === 'files'
      ? watch(point.dir, { recursive: true }, (_, name) => {
          if (name && TEMP_FILE.test(basename(name))) seen.add(name);
          if (seen.size >= point.after) kill();
        })
      : undefined;
  child.stdout.on('data', (chunk: Buffer) => {
    const text = chunk.toString();
    stdout += text;
    events += text.split('\n').length - 1;
    if (point?.kind === 'event' && events >= point.after) kill();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    if (point?.kind === 'hold' && stderr.includes('fault: holding the commit')) kill();
  });
  const limit = setTimeout(() => process.kill(-pid, 'SIGKILL'), 120_000);
  const { code, signal } = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  clearTimeout(limit);
  watcher?.close();
  // A kill sent as it exited by itself does not count.
  killed = killed && signal === 'SIGKILL';
  for (let i = 0; i < 100 && processGroup(pid).length > 0; i++) await new Promise((r) => setTimeout(r, 20));
  return { pid, killed, code, stdout, stderr };
}

export interface FolderState {
  /** sha256 of every file whose name does not start with a dot, by path relative to the folder. */
  files: Record<string, string>;
  /** Each record (.netboot-composer.json), without file times (a copy has new ones). */
  records: Record<string, unknown>;
  /** Every other hidden file: temporary files, locks, journals. */
  hidden: string[];
}

async function sha256(file: string): Promise<string> {
  return createHash('sha256')
    .update(await readFile(file))
    .digest('hex');
}

/** What `dir` holds, file by file. */
export async function folderState(dir: string): Promise<FolderState> {
  const state: FolderState = { files: {}, records: {}, hidden: [] };
  const walk = async (relative: string): Promise<void> => {
    for (const name of (await readdir(join(dir, relative))).sort()) {
      const path = relative ? `${relative}/${name}` : name;
      const info = await lstat(join(dir, path));
      if (info.isDirectory()) await walk(path);
      else if (name === '.netboot-composer.json') {
        const record = JSON.parse(await readFile(join(dir, path), 'utf8')) as {
          files: Record<string, { mtimeMs?: number }>;
        };
        for (const file of Object.values(record.files)) delete file.mtimeMs;
        state.records[path] = record;
      } else if (name.startsWith('.')) state.hidden.push(path);
      else state.files[path] = await sha256(join(dir, path));
    }
  };
  await walk('');
  return state;
}

/** Which of the two known states `state` is (files and records alike), or 'mix'. */
export function whichState(state: FolderState, old: FolderState, fresh: FolderState): 'old' | 'new' | 'mix' {
  const same = (a: FolderState, b: FolderState): boolean =>
    JSON.stringify([a.files, a.records]) === JSON.stringify([b.files, b.records]);
  if (same(state, old)) return 'old';
  if (same(state, fresh)) return 'new';
  return 'mix';
}

/** Every folder under `dir` (itself included) that holds a commit journal. */
export async function journals(dir: string): Promise<string[]> {
  const found: string[] = [];
  const walk = async (folder: string): Promise<void> => {
    for (const entry of await readdir(folder, { withFileTypes: true })) {
      if (entry.isDirectory()) await walk(join(folder, entry.name));
      else if (entry.name === '.netboot-composer.commit') found.push(folder);
    }
  };
  await walk(dir);
  return found;
}

/** The squashfs entries of the cache `cache` that are whole (data and a description of the same size). */
export async function intactEntries(cache: string): Promise<number> {
  const folder = join(cache, 'v1', 'squashfs');
  let count = 0;
  for (const name of await readdir(folder).catch(() => [] as string[])) {
    if (name.startsWith('.') || name.endsWith('.json') || name.endsWith('.lock')) continue;
    const meta = await readFile(join(folder, `${name}.json`), 'utf8')
      .then((text) => JSON.parse(text) as { bytes: number })
      .catch(() => undefined);
    if (meta && (await lstat(join(folder, name))).size === meta.bytes) count++;
  }
  return count;
}

/** What a build leaves in the cache that is not an entry: temporary files, locks, leases. */
export async function cacheLeftovers(cache: string): Promise<string[]> {
  const left: string[] = [];
  const walk = async (relative: string): Promise<void> => {
    for (const entry of await readdir(join(cache, relative), { withFileTypes: true })) {
      const path = relative ? `${relative}/${entry.name}` : entry.name;
      if (entry.isDirectory()) await walk(path);
      else if (entry.name.startsWith('.tmp-') || entry.name.endsWith('.lock') || relative.endsWith('leases')) {
        left.push(path);
      }
    }
  };
  await walk('');
  return left;
}

const mounted: string[] = [];

/**
 * A tmpfs of `mib` MiB mounted on a new folder (as root): a small disk to
 * fill, or a stick of its own, off the disk the system runs from. Unmounted
 * by {@link unmountAll}.
 */
export async function mountTmpfs(mib: number, prefix = 'nbc-tmpfs-'): Promise<string> {
  const dir = join(await tempDir(prefix), 'disk');
  await mkdir(dir);
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${mib}m,mode=0755`, 'tmpfs', dir]);
  mounted.push(dir);
  return dir;
}

/** Unmount (and remove) every tmpfs {@link mountTmpfs} mounted. */
export async function unmountAll(): Promise<void> {
  for (const dir of mounted.splice(0)) {
    execFileSync('umount', [dir]);
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Two versions of one system and their boot folders, built by the CLI into
 * one cache: variant b changes a leaf path and what refers to it; two paths
 * of 8 MiB make packing and the nix-store initrd take a while. With
 * `bOverA`, B is built over a copy of A's folder (times kept), as a rebuild
 * leaves it.
 */
export async function twoVersions(options: { bOverA?: boolean } = {}): Promise<{
  systemA: string;
  systemB: string;
  cache: string;
  bootA: string;
  bootB: string;
}> {
  const [systemA, systemB] = await Promise.all([
    buildFixture({ variant: 'a', bigPaths: 2, bigMiB: 8 }),
    buildFixture({ variant: 'b', bigPaths: 2, bigMiB: 8 }),
  ]);
  const cache = await tempDir();
  const bootA = join(await tempDir(), 'boot');
  const bootB = join(await tempDir(), 'boot');
  for (const [system, out] of [
    [systemA, bootA],
    [systemB, bootB],
  ] as const) {
    if (out === bootB && options.bOverA) execFileSync('cp', ['-a', '--sparse=always', bootA, bootB]);
    const built = await runCli(['build', '--toplevel', system, '--out', out, '--cache', cache, '--json']);
    if (built.code !== 0) throw new Error(`building ${system} failed: ${built.stderr}`);
  }
  return { systemA, systemB, cache, bootA, bootB };
}
