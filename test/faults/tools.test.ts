/**
 * The tools the pipeline drives, failing in the middle of their work. The CLI
 * runs as a user runs it, with mksquashfs, nix-store, sfdisk or mcopy replaced
 * (through NETBOOT_COMPOSER_<TOOL>) by a wrapper of test/faults/wrappers/ that
 * runs the real tool except where told to fail: exit 1 after writing half an
 * image, killed by SIGSEGV, exit 0 with half an image, garbage for progress.
 * And a store path deleted from under a running build.
 *
 * Each failure must end the CLI with exit 1 and one sentence naming the tool
 * and the store path or file it worked on; leave no process behind (found by
 * a marker in their environment, which every descendant inherits, so those
 * reparented to init count too); leave no cache entry for what failed and
 * no temporary file; leave the out folder or the image as it was; and the
 * next run with the real tool reuses every entry the cache kept.
 */
import { execFile, spawn } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { cp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findTool } from '../../electron/pipeline/base/tools.ts';
import { isCompleteSquashfs } from '../../electron/pipeline/compose/squashfs.ts';
import { recordFigures } from '../helpers/figures.ts';
import { buildFixture, CLI, closureOf, jsonEvents, ROOT, tempDir } from '../helpers/fixtures.ts';
import { processesMarked } from '../helpers/processes.ts';

const run = promisify(execFile);
const WRAPPERS = join(ROOT, 'test', 'faults', 'wrappers');
const MARK = 'NBC_FAULT_RUN';

interface Ended {
  code: number | null;
  stdout: string;
  stderr: string;
  events: Record<string, unknown>[];
  /** The run's processes still alive when it exited (there must be none). */
  leftovers: { pid: number; command: string }[];
  /** The faults the wrapper injected, one line each. */
  injected: string[];
}

/**
 * Run the CLI with `env` added and wait for it to exit; `onStdout` sees its
 * output as it comes. It is SIGKILLed after `limitMs`, so a hang fails the
 * test instead of stalling it.
 */
async function cli(
  args: string[],
  env: Record<string, string> = {},
  onStdout?: (text: string) => void,
  limitMs = 60_000,
): Promise<Ended> {
  const token = randomUUID();
  const log = join(await tempDir('nbc-fault-log-'), 'log');
  await writeFile(log, '');
  const child = spawn(process.execPath, [CLI, ...args], {
    env: { ...process.env, ...env, [MARK]: token, NBC_LOG: log },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    onStdout?.(stdout);
  });
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const killer = setTimeout(() => child.kill('SIGKILL'), limitMs);
  const code = await new Promise<number | null>((resolve) => child.on('exit', (exitCode) => resolve(exitCode)));
  clearTimeout(killer);
  // Looked for at once: a process the CLI did not wait for may still be running now.
  const leftovers = processesMarked(MARK, token);
  await new Promise<void>((resolve) => {
    if (child.stdout.readableEnded && child.stderr.readableEnded) resolve();
    child.on('close', () => resolve());
    setTimeout(resolve, 5000).unref();
  });
  const injected = (await readFile(log, 'utf8')).split('\n').filter(Boolean);
  return { code, stdout, stderr, events: jsonEvents(stdout), leftovers, injected };
}

/** The sentence a failed run ended with: checked to be one line on stderr and the same in the JSON error event. */
function sentence(ended: Ended): string {
  expect(ended.code, ended.stderr).toBe(1);
  const lines = ended.stderr.trim().split('\n');
  expect(lines, ended.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^error: /);
  const message = lines[0]!.slice('error: '.length);
  expect(ended.events.at(-1)).toEqual({ event: 'error', message, exitCode: 1 });
  expect(message).not.toMatch(/\n|\s{2,}|\bat \S+:\d+/);
  return message;
}

/** Every file under `dir` with a hash of its bytes, to prove a folder was left as it was. */
async function snapshot(dir: string): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    files[path.slice(dir.length)] = createHash('sha256')
      .update(await readFile(path))
      .digest('hex');
  }
  return files;
}

/** What a cache folder holds: the store paths of its squashfs entries, and anything that should not be there. */
async function cacheState(cache: string) {
  const folder = join(cache, 'v1', 'squashfs');
  const names = await readdir(folder).catch(() => [] as string[]);
  const entries: string[] = [];
  const incomplete: string[] = [];
  for (const name of names.filter((n) => n.endsWith('.sqsh'))) {
    const meta = await readFile(join(folder, `${name}.json`), 'utf8')
      .then((text) => JSON.parse(text) as { storePath: string })
      .catch(() => undefined);
    if (!meta || !(await isCompleteSquashfs(join(folder, name)))) incomplete.push(name);
    else entries.push(meta.storePath);
  }
  const leases = await readdir(join(cache, 'v1', 'leases')).catch(() => [] as string[]);
  return {
    /** The store paths it holds an image of. */
    entries: entries.sort(),
    incomplete,
    /** Temporary files, locks, descriptions without data, live leases. */
    debris: [
      ...names.filter((n) => n.startsWith('.') || n.endsWith('.lock')),
      ...names.filter((n) => n.endsWith('.json') && !names.includes(n.slice(0, -'.json'.length))),
      ...leases,
    ],
  };
}

/** The name part of a store path: what the cache names its entry by. */
const nameOf = (storePath: string): string => storePath.replace(/^\/nix\/store\/[0-9a-z]{32}-/, '');

function pathDone(events: Record<string, unknown>[], status: 'packed' | 'reused'): string[] {
  return events
    .filter((e) => e.event === 'path-done' && e.status === status)
    .map((e) => e.path as string)
    .sort();
}

/** Faults injected and survived (every check passed), by tool, for the figures. */
const tally = new Map<string, { injected: number; survived: number }>();
function count(tool: string, injected: number, survived: boolean): void {
  const row = tally.get(tool) ?? { injected: 0, survived: 0 };
  row.injected += injected;
  if (survived) row.survived += 1;
  tally.set(tool, row);
}
let leftoverTotal = 0;
let brokenEntries = 0;

/** System A fills the cache; B shares most of its paths but has its own leaf, mid and toplevel. */
let systemA: string;
let systemB: string;
/** B with one more path of 4 MiB: packed in a pseudo-terminal, whose progress is parsed. */
let systemBig: string;
let baseCache: string;
let baseOut: string;
let baseOutFiles: Record<string, string>;
let baseEntries: string[];

beforeAll(async () => {
  [systemA, systemB, systemBig] = await Promise.all([
    buildFixture(),
    buildFixture({ variant: 'faults' }),
    buildFixture({ variant: 'faults', bigPaths: 1, bigMiB: 4 }),
  ]);
  baseCache = await tempDir();
  baseOut = await tempDir();
  const built = await cli(['build', '--toplevel', systemA, '--out', baseOut, '--cache', baseCache, '--json']);
  expect(built.code, built.stderr).toBe(0);
  baseOutFiles = await snapshot(baseOut);
  baseEntries = (await cacheState(baseCache)).entries;
});

afterAll(async () => {
  const rows = [...tally.entries()].flatMap(([tool, row]) => [
    { what: `${tool}: faults injected`, value: row.injected },
    { what: `${tool}: runs that passed every check`, value: row.survived },
  ]);
  await recordFigures(
    'faults-tools',
    [
      ...rows,
      { what: 'processes left behind by the failed runs', value: leftoverTotal },
      { what: 'cache entries left incomplete or without a description', value: brokenEntries },
    ],
    [
      'Faults are injected into mksquashfs, nix-store, sfdisk and mcopy only; mkfs.fat, syslinux, mmd, grub-mkstandalone, xz, zstd and nix (flake builds) fail through the same code (checkResult, ToolFailedError) but are not exercised here.',
      'A store path deleted after it was packed is not an error: the boot folder holds its image, made before the deletion.',
      'The CLI itself killed mid-build is test/faults/kill.test.ts’s part: there the next build removes the dead build’s temporary cache files.',
      'A tool that hangs without output is not covered: nothing times it out; the user cancels.',
      'A store path deleted after it was packed but before the kernel or the initrd is copied out of it (they are copied after packing) ends in an unexpected-error message rather than the sentence above; only paths still to be packed were deleted here (the kernel and initrd paths are shared with other tests).',
    ],
  );
});

/** A copy of the base cache and out folder, for one run to change. */
async function copies(): Promise<{ cache: string; out: string }> {
  const cache = await tempDir();
  const out = await tempDir();
  await cp(baseCache, cache, { recursive: true });
  await cp(baseOut, out, { recursive: true });
  return { cache, out };
}

/** The real tool's path, for the wrapper to run. */
function real(tool: 'mksquashfs' | 'nix-store' | 'sfdisk' | 'mcopy'): string {
  const path = findTool(tool);
  if (!path) throw new Error(`${tool} is not installed`);
  return path;
}

/**
 * After a failed build: the out folder as it was, no debris in the cache and
 * no entry for `failed`; then the real tool builds `system` again, reusing
 * every entry the cache kept and packing `failed` (when given) anew.
 */
async function expectRecovery(ended: Ended, system: string, cache: string, out: string, failed?: string) {
  expect(ended.leftovers).toEqual([]);
  expect(await snapshot(out)).toEqual(baseOutFiles);
  const after = await cacheState(cache);
  brokenEntries += after.incomplete.length;
  expect(after.incomplete).toEqual([]);
  expect(after.debris).toEqual([]);
  if (failed) expect(after.entries).not.toContain(failed);
  for (const name of baseEntries) expect(after.entries).toContain(name);

  const again = await cli(['build', '--toplevel', system, '--out', out, '--cache', cache, '--json']);
  expect(again.code, again.stderr).toBe(0);
  // Every entry the failed build left is a hit, and nothing it left is packed again.
  const closure = await closureOf(system);
  expect(pathDone(again.events, 'reused')).toEqual(after.entries.filter((path) => closure.includes(path)));
  if (failed) expect(pathDone(again.events, 'packed')).toContain(failed);
  expect(again.leftovers).toEqual([]);
  const final = await cacheState(cache);
  expect(final.incomplete).toEqual([]);
  expect(final.debris).toEqual([]);
}

describe('the check for processes left behind', () => {
  it('finds a process a tool left running after the CLI exited', async () => {
    const { cache, out } = await copies();
    const mid = (await closureOf(systemB)).find((p) => nameOf(p) === 'mid-1.0')!;
    const ended = await cli(['build', '--toplevel', systemB, '--out', out, '--cache', cache, '--json'], {
      NETBOOT_COMPOSER_MKSQUASHFS: join(WRAPPERS, 'mksquashfs'),
      NBC_REAL: real('mksquashfs'),
      NBC_FAULT: 'orphan',
      NBC_MATCH: mid,
    });
    try {
      expect(ended.code, ended.stderr).toBe(0);
      expect(ended.leftovers.map((p) => p.command)).toEqual(['sleep 30']);
    } finally {
      for (const { pid } of ended.leftovers) process.kill(pid, 'SIGKILL');
    }
  });
});

describe('mksquashfs failing in the middle of a build', () => {
  const cases = [
    ['exit1', 'exits 1 after writing half the image', /failed \(exit code 1\): Failed to write to output filesystem$/],
    ['segv', 'is killed by SIGSEGV after writing half the image', /failed \(killed by SIGSEGV\)\.$/],
    ['lie', 'exits 0 after writing half the image', /; check the free space of the cache folder\.$/],
  ] as const;
  // The path packed beside the failing one is slow to stop (half a second after SIGTERM): the CLI must wait for it.
  const paths = [
    ['a small path (through the command shell), beside another in the shell', () => systemB, 'mid-1.0'],
    ['a 4 MiB path (in a pseudo-terminal), beside a small one in the shell', () => systemBig, 'big-0'],
    ['a small path, beside a 4 MiB one in a pseudo-terminal', () => systemBig, 'mid-1.0'],
  ] as const;
  // Every fault on the first two; the third (what is stopped is in a pseudo-terminal) once.
  const runs = cases.flatMap((c) => paths.filter((_, i) => i < 2 || c[0] === 'exit1').map((p) => [c, p] as const));

  for (const [[fault, what, ending], [kind, system, target]] of runs) {
    it(`${what} on ${kind}: one sentence naming mksquashfs and the path, the cache reused after`, async () => {
      const { cache, out } = await copies();
      const failed = (await closureOf(system())).find((p) => nameOf(p) === target)!;
      const ended = await cli(['build', '--toplevel', system(), '--out', out, '--cache', cache, '--json'], {
        NETBOOT_COMPOSER_MKSQUASHFS: join(WRAPPERS, 'mksquashfs'),
        NBC_REAL: real('mksquashfs'),
        NBC_FAULT: fault,
        NBC_MATCH: failed,
        NBC_SLOW_STOP: '1',
      });
      leftoverTotal += ended.leftovers.length;
      expect(ended.injected).toHaveLength(1);
      const message = sentence(ended);
      expect(message).toContain('mksquashfs');
      expect(message).toContain(failed);
      expect(message).toMatch(ending);
      await expectRecovery(ended, system(), cache, out, failed);
      count('mksquashfs', ended.injected.length, true);
    });
  }

  it('prints garbage instead of progress: the build goes on, its progress within 0-100% and never backwards', async () => {
    const { cache, out } = await copies();
    const big = (await closureOf(systemBig)).find((p) => nameOf(p) === 'big-0')!;
    const ended = await cli(['build', '--toplevel', systemBig, '--out', out, '--cache', cache, '--json'], {
      NETBOOT_COMPOSER_MKSQUASHFS: join(WRAPPERS, 'mksquashfs'),
      NBC_REAL: real('mksquashfs'),
      NBC_FAULT: 'garbage',
      NBC_MATCH: big,
    });
    leftoverTotal += ended.leftovers.length;
    expect(ended.code, ended.stderr).toBe(0);
    expect(ended.injected).toHaveLength(1);
    expect(ended.leftovers).toEqual([]);
    const percents = ended.events
      .filter((e) => e.event === 'path-progress' && e.path === big)
      .map((e) => e.percent as number);
    for (const [i, percent] of percents.entries()) {
      expect(Number.isInteger(percent) && percent >= 0 && percent <= 100).toBe(true);
      if (i > 0) expect(percent).toBeGreaterThan(percents[i - 1]!);
    }
    expect(pathDone(ended.events, 'packed')).toContain(big);
    const state = await cacheState(cache);
    expect(state.incomplete).toEqual([]);
    expect(state.entries).toContain(big);
    count('mksquashfs', ended.injected.length, true);
  });
});

describe('nix-store failing while the closure is read', () => {
  const cases = [
    [
      'requisites',
      'nix-store --query --requisites exits 1',
      (top: string) => `nix-store --query --requisites ${top} failed (exit code 1): opening lock file`,
    ],
    [
      'dump-db',
      'nix-store --dump-db exits 1',
      (top: string) =>
        `nix-store --dump-db (the registration of the closure of ${top}) failed (exit code 1): executing SQLite statement`,
    ],
    [
      'dump-db-segv',
      'nix-store --dump-db is killed by SIGSEGV half-way through the registration',
      (top: string) => `nix-store --dump-db (the registration of the closure of ${top}) failed (killed by SIGSEGV).`,
    ],
    [
      'dump-db-short',
      'nix-store --dump-db exits 0 with the registration cut short',
      (top: string) => `The registration nix-store --dump-db printed for the closure of ${top} ends early: the size of`,
    ],
  ] as const;

  it.each(cases)('%s: %s: one sentence naming nix-store and the system, nothing written', async (fault, _, start) => {
    const { cache, out } = await copies();
    const ended = await cli(['build', '--toplevel', systemB, '--out', out, '--cache', cache, '--json'], {
      NETBOOT_COMPOSER_NIX_STORE: join(WRAPPERS, 'nix-store'),
      NBC_REAL: real('nix-store'),
      NBC_FAULT: fault,
    });
    leftoverTotal += ended.leftovers.length;
    expect(ended.injected).toHaveLength(1);
    const message = sentence(ended);
    expect(message.startsWith(start(systemB)), message).toBe(true);
    expect((await cacheState(cache)).entries).toEqual(baseEntries);
    await expectRecovery(ended, systemB, cache, out);
    count('nix-store', ended.injected.length, true);
  });
});

describe('sfdisk and mcopy failing while a USB image is made', () => {
  let imageDir: string;
  let image: string;
  let imageHash: string;
  beforeAll(async () => {
    imageDir = await tempDir();
    image = join(imageDir, 'usb.img');
    const made = await cli(['export', '--from', baseOut, '--usb-image', image, '--json']);
    expect(made.code, made.stderr).toBe(0);
    imageHash = JSON.stringify(await snapshot(imageDir));
  });

  const cases = [
    [
      'sfdisk',
      'exit1',
      '--no-tell-kernel',
      (img: string) =>
        `sfdisk (the partition table of ${img}) failed (exit code 1): sfdisk: write failed: Input/output error`,
    ],
    [
      'mcopy',
      'exit1',
      '::/nix-store',
      (img: string) => `mcopy of nix-store into ${img} failed (exit code 1): mcopy: write failed: Input/output error`,
    ],
    ['mcopy', 'segv', '::/nix-store', (img: string) => `mcopy of nix-store into ${img} failed (killed by SIGSEGV).`],
  ] as const;

  it.each(cases)(
    '%s %s: one sentence naming the tool and the image, the old image kept, no scratch left',
    async (tool, fault, match, expected) => {
      // The export's scratch folders go to this run's own TMPDIR, where nothing else writes.
      const tmp = await tempDir();
      const ended = await cli(['export', '--from', baseOut, '--usb-image', image, '--json'], {
        [`NETBOOT_COMPOSER_${tool.toUpperCase()}`]: join(WRAPPERS, 'usb-tool'),
        NBC_REAL: real(tool),
        NBC_FAULT: fault,
        NBC_MATCH: match,
        TMPDIR: tmp,
      });
      leftoverTotal += ended.leftovers.length;
      expect(ended.injected).toHaveLength(1);
      expect(sentence(ended)).toBe(expected(image));
      expect(ended.leftovers).toEqual([]);
      expect(JSON.stringify(await snapshot(imageDir))).toBe(imageHash);
      expect(await readdir(imageDir)).toEqual(['usb.img']);
      expect(await readdir(tmp)).toEqual([]);
      count(tool, ended.injected.length, true);
    },
  );
});

describe('a store path deleted from under a running build', () => {
  it('names the deleted path and says to build the system again; nothing half-written; building again works', async () => {
    const links = await tempDir();
    const variant = `deleted-${randomUUID().slice(0, 8)}`;
    const outLink = join(links, 'result');
    const system = await buildFixture({ variant, outLink });
    const closure = await closureOf(system);
    // Unique to this run (its variant): the leaf and the paths that refer to it. Nix deletes a path only with
    // its referrers, and nothing else on the machine uses these.
    const doomed = closure.filter((p) => ['leaf', 'mid-1.0'].includes(nameOf(p)) || p === system);
    expect(doomed).toHaveLength(3);
    const stable = closure.find((p) => nameOf(p) === 'stable-1.0')!;
    const gate = join(links, 'go');
    const cache = await tempDir();
    const { out } = await copies();
    let deleting: Promise<void> | undefined;
    let deleted = false;
    try {
      const ended = await cli(
        ['build', '--toplevel', system, '--out', out, '--cache', cache, '--json', '--jobs', '1'],
        {
          // The biggest path, packed first, waits for the gate: the deletion happens while the build packs.
          NETBOOT_COMPOSER_MKSQUASHFS: join(WRAPPERS, 'mksquashfs'),
          NBC_REAL: real('mksquashfs'),
          NBC_FAULT: 'gate',
          NBC_MATCH: stable,
          NBC_GATE: gate,
        },
        (stdout) => {
          if (deleting || !stdout.includes(`"event":"path-start","path":"${stable}"`)) return;
          deleting = (async () => {
            await rm(outLink);
            await run('nix-store', ['--delete', ...doomed], { maxBuffer: 64 * 1024 * 1024 });
            deleted = true;
          })().finally(() => writeFile(gate, ''));
        },
      );
      await deleting;
      expect(deleted).toBe(true);
      leftoverTotal += ended.leftovers.length;
      const message = sentence(ended);
      const named = doomed.filter((p) => message.startsWith(`${p} was deleted from the Nix store`));
      expect(named, message).toHaveLength(1);
      expect(message).toMatch(/; build the system again with Nix, then build the boot folder again\.$/);
      expect(ended.leftovers).toEqual([]);
      expect(await snapshot(out)).toEqual(baseOutFiles);
      const state = await cacheState(cache);
      expect(state.debris).toEqual([]);
      expect(state.incomplete).toEqual([]);
      for (const path of doomed) expect(state.entries).not.toContain(path);
      expect(state.entries).toContain(stable);

      // What the sentence says to do: build the system again, then the boot folder.
      expect(await buildFixture({ variant, outLink })).toBe(system);
      const again = await cli(['build', '--toplevel', system, '--out', out, '--cache', cache, '--json']);
      expect(again.code, again.stderr).toBe(0);
      expect(pathDone(again.events, 'reused')).toContain(stable);
      expect(pathDone(again.events, 'packed')).toEqual(expect.arrayContaining(doomed));
      count('store path deleted (nix-store --delete)', doomed.length, true);
    } finally {
      await writeFile(gate, '');
    }
  });
});
