/**
 * The store as several initrd files (store-split.ts) on a real closure built
 * with Nix and packed with the real mksquashfs: each file is whole per-path
 * archives on 4-byte boundaries, together exactly the one-file store, listed
 * in the script; a changed path rewrites only the file that holds it.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { build } from '../../../electron/pipeline/compose/build.ts';
import { exportTo } from '../../../electron/pipeline/export/export.ts';
import { squashfsLocation } from '../../../electron/pipeline/media/store.ts';
import type { BuildEvent } from '../../../electron/shared/types.ts';
import { readCpio } from '../../helpers/cpio-reader.ts';
import { buildFixture, closureOf, tempDir } from '../../helpers/fixtures.ts';

/** Small enough that the fixture's closure is several files. */
const TARGET = 1024;

async function run(toplevel: string, outDir: string, cacheDir: string, storeFileTarget?: number) {
  const events: BuildEvent[] = [];
  const result = await build(
    { source: { kind: 'toplevel', path: toplevel }, outDir, cacheDir, storeFileTarget },
    { onEvent: (event) => events.push(event) },
  );
  const files = events.filter((e): e is Extract<BuildEvent, { event: 'file' }> => e.event === 'file');
  return { result, files };
}

const storeNames = (names: readonly string[]): string[] => names.filter((n) => /^nix-store/.test(n));

/** The squashfs files of the store files of `dir`, by location, and the archives per file. */
async function storeContents(dir: string): Promise<{ images: Map<string, string>; archives: number }> {
  const images = new Map<string, string>();
  let archives = 0;
  for (const name of storeNames(await readdir(dir))) {
    const bytes = await readFile(join(dir, name));
    expect(bytes.length % 4, name).toBe(0);
    const entries = readCpio(bytes);
    archives += new Set(entries.map((e) => e.archive)).size;
    for (const e of entries) if ((e.mode & 0o170000) === 0o100000) images.set(`/${e.name}`, e.data.toString('base64'));
  }
  return { images, archives };
}

let toplevel: string;
let closure: string[];

beforeAll(async () => {
  toplevel = await buildFixture();
  closure = await closureOf(toplevel);
});

describe('the store split into several initrd files', () => {
  it('writes whole per-path archives into each file, together the one-file store, all listed by the script', async () => {
    const cacheDir = await tempDir();
    const one = await tempDir();
    const split = await tempDir();
    await run(toplevel, one, cacheDir);
    const { files } = await run(toplevel, split, cacheDir, TARGET);
    expect(storeNames(await readdir(one))).toEqual(['nix-store']);
    const names = storeNames(files.map((f) => f.name));
    expect(names.length).toBeGreaterThanOrEqual(3);
    // Numbered, in the order they are loaded.
    const numbers = names.map((n) => Number(/-(\d+)$/.exec(n)?.[1] ?? 0));
    expect(numbers).toEqual([...numbers].sort((a, b) => a - b));
    const together = await storeContents(split);
    expect(together.archives).toBe(closure.length);
    expect([...together.images.keys()].sort()).toEqual(closure.map(squashfsLocation).sort());
    expect(together.images).toEqual((await storeContents(one)).images);
    const script = await readFile(join(split, 'netboot.ipxe'), 'utf8');
    const words = ['initrd=initrd', 'initrd=manifest', ...names.map((n) => `initrd=${n}`)].join(' ');
    expect(script).toContain(`/init ${words} console=ttyS0`);
    expect(script).toContain(['initrd initrd', 'initrd manifest', ...names.map((n) => `initrd ${n}`)].join('\n'));
  });

  it('rewrites only the store files that hold a changed path, and a re-export copies only those', async () => {
    const cacheDir = await tempDir();
    const out = await tempDir();
    const exported = await tempDir();
    await run(toplevel, out, cacheDir, TARGET);
    await exportTo(out, { kind: 'folder', dir: exported });
    const before = new Map<string, number>();
    for (const name of storeNames(await readdir(out))) before.set(name, (await stat(join(out, name))).ino);

    const changed = await buildFixture({ variant: 'b' });
    const newClosure = await closureOf(changed);
    const { files } = await run(changed, out, cacheDir, TARGET);
    // The files the split puts the old and the new paths in.
    const moved = [
      ...closure.filter((p) => !newClosure.includes(p)),
      ...newClosure.filter((p) => !closure.includes(p)),
    ];
    const rewritten = storeNames(files.filter((f) => !f.reused).map((f) => f.name));
    const kept = storeNames(files.filter((f) => f.reused).map((f) => f.name));
    expect(kept.length).toBeGreaterThan(0);
    // Each new path has the name of an old one (leaf, mid, the toplevel) and takes its file: at most one file each.
    expect(rewritten.length).toBeLessThanOrEqual(moved.length / 2);
    // A kept file is the very file the first build wrote.
    for (const name of kept) expect((await stat(join(out, name))).ino).toBe(before.get(name));
    const together = await storeContents(out);
    expect([...together.images.keys()].sort()).toEqual(newClosure.map(squashfsLocation).sort());

    const events: BuildEvent[] = [];
    await exportTo(out, { kind: 'folder', dir: exported }, { onEvent: (e) => events.push(e) });
    const copied = events.filter((e) => e.event === 'file' && !e.reused).map((e) => (e as { name: string }).name);
    expect(storeNames(copied).sort()).toEqual([...rewritten].sort());
    for (const name of kept) {
      expect(await readFile(join(exported, name))).toEqual(await readFile(join(out, name)));
    }
  });
});
