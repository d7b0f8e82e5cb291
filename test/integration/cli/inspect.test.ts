/**
 * `netboot-composer inspect` and `build --diff` as a user runs them (issue
 * 16), on two versions of a small system built with Nix
 * (test/fixtures/closure-map.nix): the figures are checked against Nix's
 * own sizes and the builds' own `done` events.
 */
import { cp, mkdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildMapped, narSizeOf } from '../../helpers/closure-map.ts';
import { closureOf, jsonEvents, runCli, tempDir } from '../../helpers/fixtures.ts';

let v1: string;
let v2: string;

beforeAll(async () => {
  [v1, v2] = await Promise.all([buildMapped(1), buildMapped(2)]);
});

const nameOf = (path: string): string => path.slice('/nix/store/'.length + 33);

describe('netboot-composer build --diff', () => {
  it('says what changed since the previous build of the same system, in JSON and on a terminal', async () => {
    const cache = await tempDir('nbc-diff-cache-');
    const out = join(await tempDir('nbc-diff-'), 'boot');
    const build = (system: string, json: boolean): ReturnType<typeof runCli> =>
      runCli(['build', '--toplevel', system, '--out', out, '--cache', cache, '--diff', ...(json ? ['--json'] : [])]);

    const first = await build(v1, true);
    expect(first.code, first.stderr).toBe(0);
    const firstEvents = jsonEvents(first.stdout);
    expect(firstEvents.at(-1)).toEqual({ event: 'diff', previous: false });
    const firstDone = firstEvents.find((e) => e.event === 'done')!;

    const second = await build(v2, true);
    expect(second.code, second.stderr).toBe(0);
    const events = jsonEvents(second.stdout);
    const done = events.find((e) => e.event === 'done')!;
    const diff = events.at(-1) as {
      event: string;
      added: Array<{ name: string; path: string; narSize: number; packedBytes: number }>;
      removed: Array<{ name: string; narSize: number }>;
      changed: Array<{ pname: string; before: { narSize: number; path: string }; after: { narSize: number } }>;
      totals: Record<string, number>;
      script: Array<{ kind: string; text: string }>;
    };
    expect(diff.event).toBe('diff');
    expect(diff.added.map((p) => p.name)).toEqual(['new-tool-1.0']);
    expect(diff.removed.map((p) => p.name)).toEqual(['old-tool-1.0']);
    expect(diff.changed.map((c) => c.pname)).toEqual(['app', 'nixos-system-mapped']);
    expect(diff.added[0]!.narSize).toBe(await narSizeOf(diff.added[0]!.path));
    const packedEvent = events.find((e) => e.event === 'path-done' && e.path === diff.added[0]!.path)!;
    expect(diff.added[0]!.packedBytes).toBe(packedEvent.packedBytes);
    expect(diff.changed[0]!.before.narSize).toBe(await narSizeOf(diff.changed[0]!.before.path));
    expect(diff.totals).toMatchObject({
      ramBefore: firstDone.ramBytes,
      ramAfter: done.ramBytes,
      downloadBefore: firstDone.downloadBytes,
      downloadAfter: done.downloadBytes,
      pathsBefore: (await closureOf(v1)).length,
      pathsAfter: (await closureOf(v2)).length,
    });
    expect(diff.script.find((l) => l.kind === 'added')!.text).toContain('loglevel=4');

    // Back to version 1, on a terminal: the same changes the other way.
    const third = await build(v1, false);
    expect(third.code, third.stderr).toBe(0);
    expect(third.stdout).toContain('1 added, 1 removed, 2 changed, 6 unchanged');
    expect(third.stdout).toMatch(/\+ old-tool-1\.0 /);
    expect(third.stdout).toMatch(/- new-tool-1\.0 /);
    expect(third.stdout).toMatch(/~ app 1\.0 \(new hash\) +78 KiB → 24 KiB/);
    expect(third.stdout).toMatch(/^ {2}- kernel bzImage .* loglevel=4/m);
    expect(third.stdout).toMatch(/^ {2}\+ kernel bzImage .* quiet/m);
  });
});

describe('netboot-composer inspect', () => {
  let boot: string;
  beforeAll(async () => {
    boot = join(await tempDir('nbc-inspect-'), 'boot');
    const built = await runCli(['build', '--toplevel', v1, '--out', boot, '--cache', await tempDir('nbc-inspect-c-')]);
    expect(built.code, built.stderr).toBe(0);
  });

  it('prints the totals, the biggest paths, the groups and why a path is there (a boot folder)', async () => {
    const { code, stdout, stderr } = await runCli(['inspect', '--dir', boot, '--why', 'lib']);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toMatch(/^nixos-system-mapped-25\.11: 9 store paths, \d+ KiB unpacked, \d+ KiB packed$/m);
    expect(stdout).toMatch(/^RAM a machine needs to boot it: /m);
    expect(stdout).toMatch(/^ {2}lib-2\.0 +165 KiB +\d+ KiB +\d+% +\/nix\/store\/\w{32}-lib-2\.0$/m);
    expect(stdout).toMatch(/^ {2}shared by 3 +1 +165 KiB/m);
    const why = stdout.slice(stdout.indexOf('Why '));
    expect(why.split('\n').filter((l) => l.trim() === 'nixos-system-mapped-25.11')).toHaveLength(3);
    expect(why).toContain('    → app-1.0\n      → lib-2.0');
    expect(why).toContain('    → wrapper-1.0\n      → helper-0.3\n        → lib-2.0');
  });

  it('answers in JSON from a toplevel, with Nix’s sizes and the chains shortest first', async () => {
    const { code, stdout } = await runCli(['inspect', '--toplevel', v1, '--why', 'helper', '--json']);
    expect(code).toBe(0);
    const [event] = jsonEvents(stdout) as Array<{
      event: string;
      totals: { paths: number; narSize: number; packedBytes?: number };
      biggest: Array<{ path: string; narSize: number }>;
      why: { matches: Array<{ path: string; chains: string[][] }> };
    }>;
    const closure = await closureOf(v1);
    expect(event!.event).toBe('inspect');
    expect(event!.totals.paths).toBe(closure.length);
    let total = 0;
    for (const path of closure) total += await narSizeOf(path);
    expect(event!.totals.narSize).toBe(total);
    expect(event!.totals.packedBytes).toBeUndefined();
    expect(nameOf(event!.biggest[0]!.path)).toBe('lib-2.0');
    expect(event!.why.matches[0]!.chains.map((c) => c.map(nameOf))).toEqual([
      ['nixos-system-mapped-25.11', 'wrapper-1.0', 'helper-0.3'],
    ]);
  });

  it('reads the registration from a compressed manifest; packed sizes then stay unknown', async () => {
    for (const compression of ['zstd', 'xz']) {
      const out = join(await tempDir('nbc-inspect-z-'), 'boot');
      const built = await runCli([
        'build',
        '--toplevel',
        v1,
        '--out',
        out,
        '--cache',
        await tempDir('nbc-inspect-zc-'),
        '--initrd-compression',
        compression,
      ]);
      expect(built.code, built.stderr).toBe(0);
      const { code, stdout } = await runCli(['inspect', '--dir', out, '--json']);
      expect(code).toBe(0);
      const [event] = jsonEvents(stdout) as Array<{ totals: { paths: number; packedBytes?: number } }>;
      expect(event!.totals.paths, compression).toBe((await closureOf(v1)).length);
      expect(event!.totals.packedBytes, compression).toBeUndefined();
    }
  });

  it('refuses in one sentence a boot folder whose nix-store initrd is not one it wrote', async () => {
    const copy = join(await tempDir('nbc-inspect-bad-'), 'boot');
    await cp(boot, copy, { recursive: true });
    const file = join(copy, 'nix-store');
    const { size } = await stat(file);
    // The recorded size, so only the bytes tell: a cpio magic, then garbage.
    await writeFile(file, Buffer.concat([Buffer.from('070701'), Buffer.alloc(size - 6, 'z')]));
    const { code, stdout, stderr } = await runCli(['inspect', '--dir', copy]);
    expect(code).toBe(1);
    expect(stderr).toBe(`error: ${file} is not an initrd Netboot Composer wrote; build the system again.\n`);
    expect(stdout).toBe('');
  });

  it.each([
    [[], 2, 'Give exactly one of --toplevel PATH (a built system) or --dir BOOT_FOLDER (a build).'],
    [['--dir', 'EMPTY', '--toplevel', '/nix/store/x'], 2, 'Give exactly one of --toplevel PATH'],
    [['--dir', 'EMPTY'], 1, 'holds no boot folder Netboot Composer made'],
    [['--dir', 'BOOT', '--why', 'no-such-thing'], 1, 'No store path in the closure of'],
    [['--dir', 'BOOT', '--why', ' '], 2, '--why takes the name of a store path'],
  ])('refuses %j in one sentence (exit %i)', async (args, exit, message) => {
    const empty = await tempDir('nbc-inspect-empty-');
    await mkdir(join(empty, 'x'));
    const { code, stdout, stderr } = await runCli([
      'inspect',
      ...args.map((a) => (a === 'EMPTY' ? empty : a === 'BOOT' ? boot : a)),
    ]);
    expect(code).toBe(exit);
    expect(stderr).toMatch(/^error: /);
    expect(stderr).toContain(message);
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stdout).toBe('');
  });
});
