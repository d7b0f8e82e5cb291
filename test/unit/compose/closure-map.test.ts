/**
 * The size map's grouping, the why-chains and the diff (issue 16), on real
 * closures: two versions of test/fixtures/closure-map.nix built with Nix
 * (old-tool removed, new-tool added, app changed with the same name, the
 * kernel parameters changed), packed by the CLI into boot folders.
 */
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { factsOfBootFolder, factsOfToplevel } from '../../../electron/pipeline/compose/closure-facts.ts';
import { historyFile, recordBuild, systemKey } from '../../../electron/pipeline/compose/history.ts';
import { diffClosures, lineDiff, snapshotOf } from '../../../electron/shared/closure-diff.ts';
import {
  biggestPaths,
  closureTotals,
  findPaths,
  groupClosure,
  parseName,
  pathName,
  whyChains,
  type ClosureFacts,
} from '../../../electron/shared/closure-map.ts';
import { readCpio } from '../../helpers/cpio-reader.ts';
import { mappedBootFolders, narSizeOf } from '../../helpers/closure-map.ts';
import { closureOf, tempDir } from '../../helpers/fixtures.ts';

let built: Awaited<ReturnType<typeof mappedBootFolders>>;
let top1: ClosureFacts;
let top2: ClosureFacts;
let folder1: ClosureFacts;
let folder2: ClosureFacts;
const named = (facts: ClosureFacts, name: string): string => {
  const found = facts.nodes.find((n) => pathName(n.path) === name);
  if (!found) throw new Error(`${name} is not in the closure`);
  return found.path;
};

beforeAll(async () => {
  built = await mappedBootFolders();
  [top1, top2, folder1, folder2] = await Promise.all([
    factsOfToplevel(built.v1),
    factsOfToplevel(built.v2),
    factsOfBootFolder(built.boot1),
    factsOfBootFolder(built.boot2),
  ]);
});

describe('the facts of a closure', () => {
  it('hold every path of the closure with Nix’s sizes, from the toplevel and from the boot folder alike', async () => {
    const closure = (await closureOf(built.v1)).sort();
    expect(top1.nodes.map((n) => n.path).sort()).toEqual(closure);
    expect(folder1.nodes.map((n) => n.path).sort()).toEqual(closure);
    expect(top2.nodes.map((n) => n.path).sort()).toEqual(folder2.nodes.map((n) => n.path).sort());
    for (const node of folder1.nodes) expect(node.narSize).toBe(await narSizeOf(node.path));
    expect(folder1.toplevel).toBe(built.v1);
    expect(folder1.ramBytes).toBeGreaterThan(closureTotals(folder1).narSize);
  });

  it('read each packed size from the nix-store initrd’s own entries', async () => {
    const entries = readCpio(await readFile(join(built.boot1, 'nix-store')));
    const files = entries.filter((e) => (e.mode & 0o170000) === 0o100000);
    expect(files).toHaveLength(folder1.nodes.length);
    for (const node of folder1.nodes) {
      const base = node.path.slice('/nix/store/'.length);
      const entry = files.find((e) => e.name.endsWith(`${base.slice(0, 8)}/${base.slice(8)}`));
      expect(entry?.data.length, node.path).toBe(node.packedBytes);
    }
    // The download: the kernel and the three initrds, as on disk.
    let download = 0;
    for (const name of await readdir(built.boot1)) {
      if (!name.startsWith('.') && name !== 'netboot.ipxe')
        download += (await readFile(join(built.boot1, name))).length;
    }
    expect(folder1.downloadBytes).toBe(download);
  });
});

describe('the size map’s groups', () => {
  it('put each path in exactly one group, by the toplevel’s direct reference that pulled it in', () => {
    const groups = groupClosure(folder1);
    const all = groups.flatMap((g) => g.nodes.map((n) => n.path)).sort();
    expect(all).toEqual(folder1.nodes.map((n) => n.path).sort());
    const of = (name: string): string | undefined =>
      groups.find((g) => g.nodes.some((n) => pathName(n.path) === name))?.label;
    expect(of('wrapper-1.0')).toBe('wrapper-1.0');
    // helper is only reached through wrapper: wrapper's group.
    expect(of('helper-0.3')).toBe('wrapper-1.0');
    // lib is reached through app, wrapper and selfref: shared.
    expect(of('lib-2.0')).toBe('shared by 3');
    expect(of('app-1.0')).toBe('app-1.0');
    expect(of('selfref-1.0')).toBe('selfref-1.0');
    expect(of('nixos-system-mapped-25.11')).toBe('nixos-system-mapped-25.11');
    for (const g of groups) {
      expect(g.narSize).toBe(g.nodes.reduce((s, n) => s + n.narSize, 0));
      expect(g.packedBytes).toBe(g.nodes.reduce((s, n) => s + n.packedBytes!, 0));
    }
    expect(groups.map((g) => g.size)).toEqual([...groups.map((g) => g.size)].sort((a, b) => b - a));
  });
});

describe('why a path is there', () => {
  it('gives every chain from the toplevel, the shortest first, through shared dependencies', () => {
    const chains = whyChains(folder1, named(folder1, 'lib-2.0')).map((c) => c.map(pathName));
    expect(chains).toEqual([
      ['nixos-system-mapped-25.11', 'app-1.0', 'lib-2.0'],
      ['nixos-system-mapped-25.11', 'selfref-1.0', 'lib-2.0'],
      ['nixos-system-mapped-25.11', 'wrapper-1.0', 'helper-0.3', 'lib-2.0'],
    ]);
    expect(whyChains(folder1, named(folder1, 'lib-2.0'), 1)).toHaveLength(1);
  });

  it('takes no step through a self-reference, and the toplevel is its own chain', () => {
    const selfref = named(folder1, 'selfref-1.0');
    expect(folder1.nodes.find((n) => n.path === selfref)!.references).toContain(selfref);
    expect(whyChains(folder1, selfref)).toEqual([[built.v1, selfref]]);
    expect(whyChains(folder1, built.v1)).toEqual([[built.v1]]);
    expect(whyChains(folder1, '/nix/store/00000000000000000000000000000000-absent')).toEqual([]);
  });

  it('finds a path by its name, with or without the version, or a part of it', () => {
    expect(findPaths(folder1, 'app').map((n) => pathName(n.path))).toEqual(['app-1.0']);
    expect(findPaths(folder1, 'lib-2.0').map((n) => n.path)).toEqual([named(folder1, 'lib-2.0')]);
    expect(findPaths(folder1, named(folder1, 'helper-0.3'))).toHaveLength(1);
    expect(findPaths(folder1, 'tool').map((n) => pathName(n.path))).toEqual(['old-tool-1.0']);
    expect(findPaths(folder1, 'nothing-like-it')).toEqual([]);
    expect(biggestPaths(folder1, 1)[0]!.narSize).toBe(Math.max(...folder1.nodes.map((n) => n.narSize)));
    expect(parseName('app-1.0')).toEqual({ pname: 'app', version: '1.0' });
    expect(parseName('nixos-system-node-1-25.11').pname).toBe('nixos-system-node');
  });
});

describe('what changed', () => {
  it('lists the path added, the one removed and the ones changed, with Nix’s sizes, and the totals', async () => {
    const diff = diffClosures(snapshotOf(folder1, 'a'), snapshotOf(folder2, 'b'));
    expect(diff.added.map((p) => p.name)).toEqual(['new-tool-1.0']);
    expect(diff.removed.map((p) => p.name)).toEqual(['old-tool-1.0']);
    expect(diff.changed.map((c) => c.pname)).toEqual(['app', 'nixos-system-mapped']);
    const app = diff.changed[0]!;
    expect(app.before.path).toBe(named(folder1, 'app-1.0'));
    expect(app.after.path).toBe(named(folder2, 'app-1.0'));
    expect(app.before.narSize).toBe(await narSizeOf(app.before.path));
    expect(app.after.narSize).toBe(await narSizeOf(app.after.path));
    expect(app.after.narSize).toBeGreaterThan(app.before.narSize);
    expect(diff.added[0]!.narSize).toBe(await narSizeOf(diff.added[0]!.path));
    expect(diff.added[0]!.packedBytes).toBe(folder2.nodes.find((n) => n.path === diff.added[0]!.path)!.packedBytes);
    expect(diff.removed[0]!.narSize).toBe(await narSizeOf(diff.removed[0]!.path));
    expect(diff.unchanged).toBe(folder2.nodes.length - 3);
    expect(diff.totals).toMatchObject({
      ramBefore: folder1.ramBytes,
      ramAfter: folder2.ramBytes,
      downloadBefore: folder1.downloadBytes,
      downloadAfter: folder2.downloadBytes,
      narBefore: closureTotals(folder1).narSize,
      narAfter: closureTotals(folder2).narSize,
    });
  });

  it('shows the iPXE script’s lines when the kernel parameters or init changed, and nothing when not', () => {
    const diff = diffClosures(snapshotOf(folder1, 'a'), snapshotOf(folder2, 'b'));
    const removed = diff.script!.filter((l) => l.kind === 'removed').map((l) => l.text);
    const added = diff.script!.filter((l) => l.kind === 'added').map((l) => l.text);
    expect(removed).toHaveLength(1);
    expect(removed[0]).toMatch(/^kernel bzImage init=.* quiet/);
    expect(added[0]).toMatch(/^kernel bzImage init=.* loglevel=4/);
    expect(added[0]).toContain(`init=${built.v2}/init`);
    expect(diff.script!.filter((l) => l.kind === 'same').length).toBeGreaterThan(3);
    expect(diffClosures(snapshotOf(folder2, 'a'), snapshotOf(folder2, 'b')).script).toBeUndefined();
    expect(lineDiff('a\nb\nc', 'a\nc\nd')).toEqual([
      { kind: 'same', text: 'a' },
      { kind: 'removed', text: 'b' },
      { kind: 'same', text: 'c' },
      { kind: 'added', text: 'd' },
    ]);
  });
});

describe('the history of builds per system', () => {
  it('keeps the build before, through a rebuild of the same system, whole on disk', async () => {
    const cache = await tempDir('nbc-history-');
    expect(systemKey(built.v1)).toBe('nixos-system-mapped');
    expect(systemKey(built.v2)).toBe('nixos-system-mapped');
    expect(await recordBuild(cache, folder1)).toBeUndefined();
    expect((await recordBuild(cache, folder2))?.toplevel).toBe(built.v1);
    // The same toplevel again: still compared with version 1.
    expect((await recordBuild(cache, folder2))?.toplevel).toBe(built.v1);
    const file = historyFile(cache, 'nixos-system-mapped');
    expect(await readdir(join(file, '..'))).toEqual([file.slice(file.lastIndexOf('/') + 1)]);
    const kept = JSON.parse(await readFile(file, 'utf8')) as { current: { paths: unknown[] } };
    expect(kept.current.paths).toHaveLength(folder2.nodes.length);
    // A file that is not ours is started again, not trusted.
    await writeFile(file, '{"tool":"netboot-composer-history","system":"x"');
    expect(await recordBuild(cache, folder1)).toBeUndefined();
    // What a killed writer left (its pid is gone) is removed by the next one.
    const left = join(file, '..', `.${file.slice(file.lastIndexOf('/') + 1)}.999999999.partial`);
    await writeFile(left, '{');
    await recordBuild(cache, folder2);
    expect(await readdir(join(file, '..'))).toEqual([file.slice(file.lastIndexOf('/') + 1)]);
  });
});
