/**
 * A full disk, on a small tmpfs mounted here: as the cache, as the boot
 * folder and as an export target (a folder, a USB image). Each time: one
 * sentence naming the folder whose disk is full, exit 1, the previous boot
 * folder or export as it was, byte for byte, no temporary file left, and no
 * cache entry that is not whole: once there is room, the next run reuses
 * exactly the entries that were made.
 */
import { execFileSync } from 'node:child_process';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  cacheLeftovers,
  folderState,
  type FolderState,
  intactEntries,
  mountTmpfs,
  twoVersions,
  unmountAll,
} from '../helpers/faults.ts';
import { recordFigures } from '../helpers/figures.ts';
import { jsonEvents, runCli, tempDir } from '../helpers/fixtures.ts';

const cases: string[] = [];
const root = process.getuid?.() === 0;

function resize(disk: string, mib: number): void {
  execFileSync('mount', ['-o', `remount,size=${mib}m`, disk]);
}

/** What a build or export left that is not a file of ours: temporary files, locks, journals. */
function leftovers(state: FolderState): string[] {
  return state.hidden;
}

/** `boot` exported to a folder, for the state an export leaves. */
async function exported(boot: string): Promise<string> {
  const dir = join(await tempDir(), 'export');
  expect((await runCli(['export', '--from', boot, '--folder', dir, '--json'])).code).toBe(0);
  return dir;
}

let inodeCache: string;
let systemA: string;
let systemB: string;
let bootA: string;
let bootB: string;

beforeAll(async () => {
  let cache: string;
  ({ systemA, systemB, cache, bootA, bootB } = await twoVersions());
  inodeCache = cache;
});

afterAll(async () => {
  await unmountAll();
  await recordFigures(
    'faults-disk',
    [
      { what: 'disk-full cases (tmpfs mounted by the test)', value: cases.length },
      {
        what: 'disk-full cases, each: one sentence, exit 1, previous state byte for byte, nothing left',
        value: cases.join('; '),
      },
    ],
    [
      'Blocks running out exactly while the commit writes its journal or new record are not staged (inodes running out there are: the same ENOSPC, the same path through the code).',
      'A full disk under the system’s temporary folder (where a USB export pads initrds and makes GRUB) is not tested.',
      'A full cache disk is recognised by ENOSPC, by mksquashfs’s words for a failed write ("Failed to write to output filesystem") with under 64 MiB left there, or by a failed tool with under 1 MiB left; otherwise it comes out as that tool’s failure, in its words.',
    ],
  );
});

describe.skipIf(!root)('a full disk', () => {
  it('as the cache: one sentence naming the cache, exit 1, the boot folder as it was, and only whole entries, which the next build reuses', async () => {
    const disk = await mountTmpfs(12);
    const cache = join(disk, 'cache');
    // The previous boot folder: B's.
    const out = join(await tempDir(), 'boot');
    execFileSync('cp', ['-a', bootB, out]);
    const before = await folderState(out);

    // Two paths of 8 MiB do not fit in 12 MiB: one at a time, the first is made whole, the second fills the disk.
    const full = await runCli([
      'build',
      '--toplevel',
      systemA,
      '--out',
      out,
      '--cache',
      cache,
      '--json',
      '--jobs',
      '1',
    ]);
    expect(full.code).toBe(1);
    expect(full.stderr).toBe(`error: The disk of the cache folder ${cache} is full; free some space and try again.\n`);
    expect(jsonEvents(full.stdout).at(-1)).toMatchObject({ event: 'error', exitCode: 1 });
    expect(await folderState(out)).toEqual(before);
    expect(await cacheLeftovers(cache)).toEqual([]);
    // Every data file has its description, of its size: no broken entry.
    const squashfs = join(cache, 'v1', 'squashfs');
    const data = (await readdir(squashfs)).filter((name) => !name.endsWith('.json'));
    const intact = await intactEntries(cache);
    expect(data.length).toBe(intact);
    expect(intact).toBeGreaterThan(0);

    resize(disk, 64);
    const again = await runCli(['build', '--toplevel', systemA, '--out', out, '--cache', cache, '--json']);
    expect(again.stderr).toBe('');
    expect(again.code).toBe(0);
    const done = jsonEvents(again.stdout).find((e) => e.event === 'done')!;
    expect(done.reused).toBe(intact);
    expect(done.packed).toBe((done.paths as number) - intact);
    expect((await folderState(out)).files).toEqual((await folderState(bootA)).files);
    cases.push(`the cache (${intact} whole entries kept and reused of ${done.paths as number})`);
  });

  it('as the boot folder: one sentence naming it, exit 1, the previous build byte for byte, no temporary file or lock left', async () => {
    const disk = await mountTmpfs(24);
    const out = join(disk, 'boot');
    const cache = await tempDir();
    expect((await runCli(['build', '--toplevel', systemA, '--out', out, '--cache', cache, '--json'])).code).toBe(0);
    const before = await folderState(out);

    // B's nix-store initrd (16 MiB) does not fit beside A's.
    const full = await runCli(['build', '--toplevel', systemB, '--out', out, '--cache', cache, '--json']);
    expect(full.code).toBe(1);
    expect(full.stderr).toBe(`error: The disk of ${out} is full; free some space and try again.\n`);
    const after = await folderState(out);
    expect(after).toEqual(before);
    expect(leftovers(after)).toEqual([]);
    // The cache (on another disk) holds B's paths, whole: the next build packs none.
    resize(disk, 64);
    const again = await runCli(['build', '--toplevel', systemB, '--out', out, '--cache', cache, '--json']);
    expect(again.code).toBe(0);
    expect(jsonEvents(again.stdout).find((e) => e.event === 'done')).toMatchObject({ packed: 0 });
    expect((await folderState(out)).files).toEqual((await folderState(bootB)).files);
    cases.push('the boot folder');
  });

  it.each([
    ['a build', (out: string) => ['build', '--toplevel', systemB, '--out', out, '--cache', inodeCache, '--json']],
    ['a folder export', (out: string) => ['export', '--from', bootB, '--folder', out, '--json']],
  ])(
    'out of inodes at each file %s creates (lock, temps list, temporary files, new record, journal): one sentence, the previous folder byte for byte, nothing left',
    async (what, args) => {
      const disk = await mountTmpfs(100);
      const out = join(disk, 'out');
      const old = what === 'a build' ? bootA : await exported(bootA);
      const fresh = what === 'a build' ? bootB : await exported(bootB);
      const before = await folderState(old);
      const sentence = new RegExp(
        `^error: (The disk of ${out} is full; free some space and try again|The out folder ${out} cannot be written \\(the disk is full\\); choose a folder you can write to( with --out)?)\\.\n$`,
      );
      let failures = 0;
      for (let room = 0; ; room++) {
        await rm(out, { recursive: true, force: true });
        execFileSync('cp', ['-a', old, out]);
        const used = Number(execFileSync('df', ['--output=iused', disk], { encoding: 'utf8' }).split('\n')[1]);
        execFileSync('mount', ['-o', `remount,nr_inodes=${used + room}`, disk]);
        const run = await runCli(args(out));
        execFileSync('mount', ['-o', 'remount,nr_inodes=100000', disk]);
        const after = await folderState(out);
        if (run.code === 0) {
          expect(after.files).toEqual((await folderState(fresh)).files);
          expect(after.hidden).toEqual([]);
          break;
        }
        failures++;
        expect(run.code, `${what} with room for ${room} files`).toBe(1);
        expect(run.stderr, `${what} with room for ${room} files`).toMatch(sentence);
        expect(after, `${what} with room for ${room} files`).toEqual(before);
        expect(room).toBeLessThan(20);
      }
      expect(failures).toBeGreaterThanOrEqual(4);
      cases.push(`${what} out of inodes (${failures} points, each refused)`);
    },
  );

  it('as an export folder: one sentence naming it, exit 1, the previous export byte for byte', async () => {
    const disk = await mountTmpfs(24);
    const target = join(disk, 'export');
    expect((await runCli(['export', '--from', bootA, '--folder', target, '--json'])).code).toBe(0);
    const before = await folderState(target);

    const full = await runCli(['export', '--from', bootB, '--folder', target, '--json']);
    expect(full.code).toBe(1);
    expect(full.stderr).toBe(`error: The disk of ${target} is full; free some space and try again.\n`);
    expect(await folderState(target)).toEqual(before);
    resize(disk, 64);
    expect((await runCli(['export', '--from', bootB, '--folder', target, '--json'])).code).toBe(0);
    expect((await folderState(target)).files).toEqual((await folderState(bootB)).files);
    cases.push('an export folder');
  });

  it('as the folder of a USB image: one sentence naming it, exit 1, the previous image byte for byte, no partial image left', async () => {
    const disk = await mountTmpfs(26);
    const image = join(disk, 'netboot.img');
    expect((await runCli(['export', '--from', bootA, '--usb-image', image, '--json'])).code).toBe(0);
    const before = await folderState(disk);

    const full = await runCli(['export', '--from', bootB, '--usb-image', image, '--json']);
    expect(full.code).toBe(1);
    expect(full.stderr).toBe(`error: The disk of ${disk} is full; free some space and try again.\n`);
    // The image (hashed whole) and nothing beside it.
    expect(await folderState(disk)).toEqual(before);
    expect(await readdir(disk)).toEqual(['netboot.img']);
    cases.push('the folder of a USB image');
  });
});
