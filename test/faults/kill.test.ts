/**
 * SIGKILL anywhere: the CLI killed (with the tools it runs) at points a
 * seeded schedule picks (after the Nth JSON event, after N temporary files
 * appeared, after N renames of a commit) in a build and in each kind of
 * export. After each kill: what a reader of ours sees is the old boot folder
 * or export or the new one, byte for byte, never a mix; the next run
 * succeeds, reuses every cache entry that is whole, and leaves no temporary,
 * partial, replaced or lock file behind. One survivor (the demo, killed in
 * the middle of its commit) boots in QEMU.
 *
 * NETBOOT_COMPOSER_FAULT_SEED replays a schedule; NETBOOT_COMPOSER_FAULT_KILLS
 * sets the kills per operation (CI: 3).
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, readdir, rename, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cacheStats } from '../../electron/pipeline/compose/cache.ts';
import { DEMO_MARKER } from '../../electron/pipeline/media/markers.ts';
import { readBootFolderFiles } from '../../electron/pipeline/media/read-folder.ts';
import { finishInterruptedCommit } from '../../electron/pipeline/media/journal.ts';
import {
  between,
  cacheLeftovers,
  describePoint,
  faultKills,
  faultSeed,
  folderState,
  type FolderState,
  intactEntries,
  journals,
  type KillPoint,
  processGroup,
  randomStream,
  runUntilKilled,
  whichState,
  mountTmpfs,
  twoVersions,
  unmountAll,
} from '../helpers/faults.ts';
import { recordFigures } from '../helpers/figures.ts';
import { jsonEvents, qemuProcessesFor, runCli, tempDir } from '../helpers/fixtures.ts';

const SEED = faultSeed();
const KILLS = faultKills(3);
console.log(
  `faults-kill: seed ${SEED}, ${KILLS} kills per operation (replay with NETBOOT_COMPOSER_FAULT_SEED=${SEED} NETBOOT_COMPOSER_FAULT_KILLS=${KILLS})`,
);

const MTOOLS = { ...process.env, MTOOLS_SKIP_CHECK: '1' };

/**
 * Per operation: kills scheduled, kills that landed (the process died of
 * them), those of them survived (every check after it passed), the kill
 * points, and what the process was doing when it died.
 */
const tally: Record<
  string,
  { scheduled: number; landed: number; survived: number; points: string[]; phases: Record<string, number> }
> = {};

/** What the killed process was doing, from the last event it printed. */
function phaseOf(point: KillPoint, stdout: string): string {
  if (point.kind === 'hold') return 'between the commit’s renames';
  // Whole lines only: a kill can cut the last one short.
  const last = stdout
    .split('\n')
    .slice(0, -1)
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .at(-1);
  if (!last) return point.kind === 'files' ? 'writing its first files' : 'starting';
  switch (last.event) {
    case 'closure':
    case 'path-start':
    case 'path-progress':
    case 'path-done':
      return 'packing and joining the nix-store initrd';
    case 'stage':
      return last.stage === 'pack'
        ? 'packing and joining the nix-store initrd'
        : last.stage === 'write'
          ? 'putting the files in place'
          : `in the ${String(last.stage)} stage`;
    case 'file':
      return 'writing files';
    case 'done':
    case 'exported':
      return 'exiting, its work done';
    default:
      return `after a ${String(last.event)} event`;
  }
}

function count(operation: string, point: KillPoint, run: { killed: boolean; stdout: string }): () => void {
  const entry = (tally[operation] ??= { scheduled: 0, landed: 0, survived: 0, points: [], phases: {} });
  entry.scheduled++;
  const phase = phaseOf(point, run.stdout);
  if (run.killed) {
    entry.landed++;
    entry.phases[phase] = (entry.phases[phase] ?? 0) + 1;
  }
  entry.points.push(`${describePoint(point)}: ${run.killed ? phase : 'ended first'}`);
  return () => {
    if (run.killed) entry.survived++;
  };
}

/**
 * `to` made a copy of `from` (times kept: the record's file times stay
 * true). Always at the same path for one operation: a TFTP export's dnsmasq
 * snippets name the folder they are in.
 */
async function copyTo(from: string, to: string): Promise<string> {
  await rm(to, { recursive: true, force: true });
  execFileSync('cp', ['-a', '--sparse=always', from, to]);
  return to;
}

/** The image's files (read with mtools), hashed; GRUB's EFI program by size (its bytes change with every build). */
async function imageState(image: string): Promise<FolderState> {
  const out = await tempDir('nbc-image-');
  execFileSync('mcopy', ['-s', '-n', '-i', `${image}@@1M`, '::/*', out], { env: MTOOLS });
  const state = await folderState(out);
  const efi = 'EFI/BOOT/BOOTX64.EFI';
  if (state.files[efi] !== undefined) state.files[efi] = `${(await stat(join(out, efi))).size} bytes`;
  return state;
}

/** What a killed process left in the temporary folder: a USB export's scratch folder, a build's shell error files. */
async function scratchOf(pid: number): Promise<string[]> {
  return (await readdir(tmpdir())).filter((name) => name.startsWith('netboot-composer-') && name.includes(`-${pid}-`));
}

let systemB: string;
/** The boot folders of A and of B (B built over A), and their cache. */
let bootA: string;
let bootB: string;

beforeAll(async () => {
  ({ systemB, bootA, bootB } = await twoVersions({ bOverA: true }));
});

/**
 * A stick of its own: the USB export refuses a folder on the disk the system
 * runs from (where /tmp is), so the stick is a tmpfs mounted here, as a
 * stick would be.
 */
let stick: string | undefined;
async function onStick(): Promise<string> {
  stick ??= await mountTmpfs(512, 'nbc-stick-');
  return mkdtemp(join(stick, 'x-'));
}

afterAll(async () => {
  await unmountAll();
  const figures = Object.entries(tally).flatMap(([operation, { scheduled, landed, survived }]) => [
    { what: `SIGKILLs scheduled into ${operation}`, value: scheduled },
    { what: `SIGKILLs that landed in ${operation} (the process died of them)`, value: landed },
    { what: `SIGKILLs in ${operation} survived (every check after it passed)`, value: survived },
  ]);
  const landed = Object.values(tally).reduce((sum, t) => sum + t.landed, 0);
  const survived = Object.values(tally).reduce((sum, t) => sum + t.survived, 0);
  await recordFigures(
    'faults-kill',
    [
      { what: 'seed of the kill schedule', value: SEED },
      { what: 'kills per operation', value: KILLS },
      { what: 'SIGKILLs landed in all', value: landed },
      { what: 'SIGKILLs survived in all', value: survived },
      ...figures,
      ...Object.entries(tally).map(([operation, t]) => ({
        what: `SIGKILLs in ${operation} by what the process was doing`,
        value: Object.entries(t.phases)
          .map(([phase, n]) => `${phase}: ${n}`)
          .join('; '),
      })),
      ...Object.entries(tally).map(([operation, t]) => ({
        what: `kill points in ${operation}`,
        value: t.points.join('; '),
      })),
    ],
    [
      'The CLI is killed with its process group (the tools it runs die with it, as when a terminal or a service manager stops it); a CLI killed alone leaves a running mksquashfs or mcopy to finish writing a temporary file, which the next run removes only if the tool has created it by then.',
      'A power cut is not simulated: no file is fsynced, so after one a renamed file or the journal may be empty.',
      'Between a kill in the middle of a commit and the next run of Netboot Composer, a reader that is not ours (a TFTP or web server serving the folder) sees a mix of the old and the new files; every reader of ours finishes the commit first.',
      'A TFTP --subdir folder made by a killed first export stays (empty, unless an export fills it); the subfolders an export makes for its files (a stick’s EFI/BOOT) are listed and removed.',
      'Kills land where the schedule puts them only as precisely as a signal follows an event line: an export of this test system takes about 0.3 s, so a kill scheduled late may arrive after it ended (counted as scheduled, not landed).',
    ],
  );
});

/** Check what a killed build or export left, then run it again and check that. */
interface Operation {
  name: string;
  /** The target the operation writes (a folder or an image file), made anew (old state) for each kill. */
  fresh: () => Promise<string>;
  args: (target: string) => string[];
  /** The target's state. */
  state: (target: string) => Promise<FolderState>;
  /** The folders of the target that hold a boot folder record (where a journal may be). */
  folders: (target: string) => string[];
  /** Kill points to draw from, given the clean run's events and files written. */
  points: (random: () => number, target: string, clean: { events: number; written: number }) => KillPoint;
  /** Called between the kill (and a reader) and the next run. */
  beforeAgain?: () => Promise<void>;
  /** Where temporary and lock files would be left beside an image. */
  beside?: (target: string) => string;
}

async function sweep(operation: Operation, check?: (run: Awaited<ReturnType<typeof runCli>>) => Promise<void>) {
  const random = randomStream(SEED, operation.name);
  // The two known states: the target as it was (old), and after the operation ran cleanly (new).
  const cleanTarget = await operation.fresh();
  const old = await operation.state(cleanTarget);
  const clean = await runCli(operation.args(cleanTarget));
  expect(clean.stderr).toBe('');
  expect(clean.code).toBe(0);
  const fresh = await operation.state(cleanTarget);
  expect(whichState(fresh, old, fresh)).toBe('new');
  expect(whichState(old, old, fresh)).toBe('old');
  const events = jsonEvents(clean.stdout);
  const written = events.filter((e) => e.event === 'file' && e.reused === false).length;

  for (let i = 0; i < KILLS; i++) {
    const target = await operation.fresh();
    const point = operation.points(random, target, { events: events.length, written });
    const run = await runUntilKilled(operation.args(target), point);
    const survived = count(operation.name, point, run);
    const where = `${operation.name}, kill ${i + 1} ${describePoint(point)} (seed ${SEED})`;
    // The CLI and every tool it ran are gone.
    expect(processGroup(run.pid), where).toEqual([]);
    if (!run.killed) expect(run.code, `${where}: ended by itself\n${run.stderr}`).toBe(0);

    // Before any reader of ours: with no journal, the old or the new files, whole.
    const open = (await Promise.all(operation.folders(target).map((f) => journals(f).catch(() => [])))).flat();
    if (open.length === 0) expect(whichState(await operation.state(target), old, fresh), where).not.toBe('mix');
    // A reader of ours finishes an interrupted commit first: old or new, never a mix.
    for (const folder of operation.folders(target)) await finishInterruptedCommit(folder).catch(() => undefined);
    expect(whichState(await operation.state(target), old, fresh), where).not.toBe('mix');

    await operation.beforeAgain?.();
    const again = await runCli(operation.args(target));
    expect(again.stderr, where).toBe('');
    expect(again.code, where).toBe(0);
    const after = await operation.state(target);
    expect({ files: after.files, records: after.records }, where).toEqual({
      files: fresh.files,
      records: fresh.records,
    });
    // No temporary, partial, replaced or lock file, journal or temps list left.
    expect(after.hidden, where).toEqual([]);
    if (operation.beside) {
      expect(
        (await readdir(operation.beside(target))).filter((name) => name.startsWith('.')),
        where,
      ).toEqual([]);
    }
    expect(await scratchOf(run.pid), where).toEqual([]);
    await check?.(again);
    survived();
  }
}

/** After N JSON events, after N temporary files, or in the commit after N renames (N below the files written). */
function anyPoint(random: () => number, dir: string, clean: { events: number; written: number }): KillPoint {
  const kind = between(random, 0, 2);
  if (kind === 0) return { kind: 'event', after: between(random, 1, clean.events - 1) };
  if (kind === 1) return { kind: 'files', after: between(random, 1, clean.written), dir };
  return { kind: 'hold', after: between(random, 0, clean.written - 1) };
}

describe('SIGKILL in the middle of a build', () => {
  it('leaves the old boot folder or the new one; the next build reuses every whole cache entry and leaves nothing behind', async () => {
    let cache = '';
    let intact = 0;
    const out = join(await tempDir(), 'boot');
    await sweep(
      {
        name: 'builds',
        fresh: async () => {
          // An empty cache each time, so the kill can land while packing.
          cache = await tempDir();
          return copyTo(bootA, out);
        },
        args: (out) => ['build', '--toplevel', systemB, '--out', out, '--cache', cache, '--json'],
        state: folderState,
        beforeAgain: async () => {
          intact = await intactEntries(cache);
        },
        folders: (out) => [out],
        points: anyPoint,
      },
      async (again) => {
        const done = jsonEvents(again.stdout).find((e) => e.event === 'done')!;
        expect(done.reused).toBe(intact);
        expect(done.packed).toBe((done.paths as number) - intact);
        expect((await cacheStats(cache)).lastBuild).toMatchObject({ hits: intact, misses: done.packed });
        expect(await cacheLeftovers(cache)).toEqual([]);
      },
    );
  });
});

describe('SIGKILL in the middle of an export', () => {
  type Kind = (target: string, from: string) => string[];

  /** An export into a folder: the old export is made from boot folder A, the new one from B. */
  const folderExport = (
    name: string,
    kind: Kind,
    sub: readonly string[],
    place: () => Promise<string> = () => tempDir(),
  ): Operation => {
    let pristine: string | undefined;
    let target: string;
    return {
      name,
      fresh: async () => {
        if (!pristine) {
          // The old export, made where every kill will find it, and kept aside.
          target = join(await place(), 'target');
          expect((await runCli(['export', ...kind(target, bootA), '--json'])).code).toBe(0);
          pristine = join(await place(), 'pristine');
          await rename(target, pristine);
        }
        return copyTo(pristine, target);
      },
      args: (target) => ['export', ...kind(target, bootB), '--json'],
      state: folderState,
      folders: (target) => [target, ...sub.map((s) => join(target, s))],
      points: anyPoint,
    };
  };

  it.each([
    ['exports to a folder', (t: string, f: string) => ['--from', f, '--folder', t], []],
    ['exports to a TFTP root', (t: string, f: string) => ['--from', f, '--tftp', t, '--subdir', 'demo'], ['demo']],
    [
      'exports for a web server',
      (t: string, f: string) => ['--from', f, '--http', t, '--base-url', 'http://10.0.0.1/netboot'],
      [],
    ],
    ['exports to a USB stick', (t: string, f: string) => ['--from', f, '--usb', t], [], onStick],
  ] as const)(
    '%s: the old export or the new one, byte for byte, and nothing left behind',
    async (name, kind, sub, place?) => {
      await sweep(folderExport(name, kind, sub, place));
    },
  );

  it('a USB image: the old image or the new one, and no partial image or lock beside it after the next export', async () => {
    let pristine: string | undefined;
    const folder = await tempDir('nbc-kill-');
    await sweep({
      name: 'exports to a USB image',
      fresh: async () => {
        if (!pristine) {
          pristine = join(await tempDir(), 'images', 'netboot.img');
          const first = await runCli(['export', '--from', bootA, '--usb-image', pristine, '--json']);
          expect(first.code).toBe(0);
        }
        // Folder and all: what a killed export left beside the image goes too.
        return join(await copyTo(dirname(pristine), folder), 'netboot.img');
      },
      args: (image) => ['export', '--from', bootB, '--usb-image', image, '--json'],
      state: imageState,
      folders: () => [],
      points: (random, image, clean) =>
        between(random, 0, 3) === 0
          ? { kind: 'files', after: 1, dir: dirname(image) }
          : { kind: 'event', after: between(random, 1, clean.events - 1) },
      beside: dirname,
    });
  });
});

describe('a survivor boots', () => {
  it('the demo, killed in the middle of its commit over another demo system, boots as the new system (test-boot finishes the commit first)', async () => {
    const out = join(await tempDir(), 'demo');
    const cache = await tempDir();
    // The old folder: the demo through the netboot module's systemd-stage-1 loading script.
    const old = await runCli(['build', '--demo', '--demo-stage1', 'systemd-script', '--out', out, '--cache', cache]);
    expect(old.code).toBe(0);
    const oldState = await folderState(out);
    // The new one, the seed's stage 1, killed after its first rename.
    const point: KillPoint = { kind: 'hold', after: 1 };
    const run = await runUntilKilled(['build', '--demo', '--out', out, '--cache', cache, '--json'], point);
    const survived = count('demo builds (booted after)', point, run);
    expect(run.killed).toBe(true);
    expect(await journals(out)).toEqual([out]);
    // Raw, the folder is a mix (one new file among old ones) under the old record.
    const raw = await folderState(out);
    expect(raw.records).toEqual(oldState.records);
    expect(raw.files).not.toEqual(oldState.files);

    const booted = await runCli(['test-boot', '--dir', out, '--json']);
    const result = jsonEvents(booted.stdout).at(-1);
    expect(result).toMatchObject({ event: 'result', passed: true });
    expect(String(result?.reason)).toContain(DEMO_MARKER);
    // The seed's stage 1 ran: the new system booted, not the old one.
    expect(booted.stdout).toContain('Mounting initial store');
    expect(booted.stdout).not.toContain('stage 1: loading the store with');
    expect(qemuProcessesFor(out)).toEqual([]);
    const settled = await folderState(out);
    expect(settled.hidden).toEqual([]);
    expect((await readBootFolderFiles(out))?.info.toplevel).toMatch(/-nixos-system-demo-/);

    // The next build finds every file current and every path in the cache.
    const again = await runCli(['build', '--demo', '--out', out, '--cache', cache, '--json']);
    expect(again.code).toBe(0);
    const done = jsonEvents(again.stdout).find((e) => e.event === 'done')!;
    expect(done.packed).toBe(0);
    expect(jsonEvents(again.stdout).filter((e) => e.event === 'file' && e.reused === false)).toEqual([]);
    const after = await folderState(out);
    expect(after.files).toEqual(settled.files);
    expect(after.hidden).toEqual([]);
    survived();
  }, 300_000);
});
