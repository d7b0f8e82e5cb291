/**
 * The pipeline on real closures built with Nix, packed with the real
 * mksquashfs: what ships in the boot folder is checked byte by byte.
 */
import { execFileSync } from 'node:child_process';
import { readdir, readFile, stat, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { build, type BuildRequest } from '../../../electron/pipeline/compose/build.ts';
import { squashfsLocation } from '../../../electron/pipeline/media/store.ts';
import type { BuildEvent } from '../../../electron/shared/types.ts';
import { readCpio, type ReadEntry } from '../../helpers/cpio-reader.ts';
import { buildFixture, closureOf, tempDir } from '../../helpers/fixtures.ts';
import { listSquashfs, listStorePath } from '../../helpers/listing.ts';

async function run(request: Omit<BuildRequest, 'source'> & { toplevel: string }) {
  const events: BuildEvent[] = [];
  const result = await build(
    { ...request, source: { kind: 'toplevel', path: request.toplevel } },
    { onEvent: (event) => events.push(event) },
  );
  const done = (status: string) =>
    events
      .filter((e): e is Extract<BuildEvent, { event: 'path-done' }> => e.event === 'path-done' && e.status === status)
      .map((e) => e.path)
      .sort();
  return { result, events, packed: done('packed'), reused: done('reused') };
}

async function folderBytes(dir: string): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  for (const name of (await readdir(dir)).sort()) {
    if (name.startsWith('.')) continue;
    files[name] = (await readFile(join(dir, name))).toString('base64');
  }
  return files;
}

/** The squashfs files in a `nix-store` initrd, by location. */
function squashfsFiles(entries: ReadEntry[]): Map<string, Buffer> {
  return new Map(entries.filter((e) => (e.mode & 0o170000) === 0o100000).map((e) => [`/${e.name}`, e.data]));
}

let toplevel: string;
let closure: string[];

beforeAll(async () => {
  toplevel = await buildFixture();
  closure = await closureOf(toplevel);
});

describe('packing a real closure', () => {
  it('ships one squashfs per store path holding exactly that path: files, modes, link targets, owners', async () => {
    const out = await tempDir();
    const { result } = await run({ toplevel, outDir: out, cacheDir: await tempDir() });
    expect(result.paths).toBe(closure.length);
    expect(closure.length).toBeGreaterThanOrEqual(8);

    const entries = readCpio(await readFile(join(out, 'nix-store')));
    const images = squashfsFiles(entries);
    expect([...images.keys()].sort()).toEqual(closure.map(squashfsLocation).sort());
    // One complete archive per store path, so cached segments can be joined as they are.
    expect(new Set(entries.map((e) => e.archive)).size).toBe(closure.length);

    const scratch = await tempDir();
    const kinds = new Set<string>();
    for (const storePath of closure) {
      const image = join(scratch, 'image.sqsh');
      await writeFile(image, images.get(squashfsLocation(storePath))!);
      const { lines, owners } = listSquashfs(image);
      expect(lines, storePath).toEqual(await listStorePath(storePath));
      expect([...owners]).toEqual(['root/root']);
      kinds.add(execFileSync('stat', ['-c', '%F', storePath], { encoding: 'utf8' }).trim());
    }
    // The fixture covers every kind of store path: folder, single file, symlink.
    expect([...kinds]).toEqual(expect.arrayContaining(['directory', 'regular file', 'symbolic link']));
  });

  it('keeps hard links inside a store path as hard links', async () => {
    const stable = await buildFixture({ attr: 'stable' });
    const out = await tempDir();
    await run({ toplevel, outDir: out, cacheDir: await tempDir() });
    const images = squashfsFiles(readCpio(await readFile(join(out, 'nix-store'))));
    const scratch = await tempDir();
    const image = join(scratch, 'stable.sqsh');
    await writeFile(image, images.get(squashfsLocation(stable))!);
    execFileSync('unsquashfs', ['-q', '-d', join(scratch, 'x'), image]);
    const base = join(scratch, 'x', stable.slice('/nix/store/'.length), 'share');
    const a = await stat(join(base, 'numbers'));
    const b = await stat(join(base, 'numbers-hardlink'));
    expect(a.ino).toBe(b.ino);
    expect(a.nlink).toBe(2);
  });

  it('writes the manifest stage 1 reads: the squashes list and the registration nix-store --load-db takes', async () => {
    const out = await tempDir();
    await run({ toplevel, outDir: out, cacheDir: await tempDir() });
    const entries = readCpio(await readFile(join(out, 'manifest')));
    expect(entries.map((e) => e.name)).toEqual([
      'nix-store-squashes',
      'nix-store-squashes/registration.gz',
      'nix-store-squashes/squashes',
    ]);
    const squashes = entries[2]!.data.toString('utf8');
    expect(
      squashes
        .split('\n')
        .filter(Boolean)
        .map((l) => l.replace(' ', '')),
    ).toEqual(closure.map(squashfsLocation).sort());
    const registration = gunzipSync(entries[1]!.data).toString('utf8');
    const expected = execFileSync('nix-store', ['--dump-db', ...closure], { encoding: 'utf8' });
    expect(registration).toBe(expected);

    const script = await readFile(join(out, 'netboot.ipxe'), 'utf8');
    expect(script).toContain(
      `init=${toplevel}/init initrd=initrd initrd=manifest initrd=nix-store console=ttyS0 quiet`,
    );
    expect(await readFile(join(out, 'bzImage'), 'utf8')).toBe('not a real kernel\n');
    // The system's initrd (18 bytes), zero-padded to a 4-byte boundary.
    expect(await readFile(join(out, 'initrd'), 'utf8')).toBe('not a real initrd\n\0\0');
  });

  it('reuses every path on a second build and leaves the boot folder byte-identical', async () => {
    const out = await tempDir();
    const cacheDir = await tempDir();
    const first = await run({ toplevel, outDir: out, cacheDir });
    const before = await folderBytes(out);
    const second = await run({ toplevel, outDir: out, cacheDir });
    expect(first.packed).toEqual([...closure].sort());
    expect(second.packed).toEqual([]);
    expect(second.reused).toEqual([...closure].sort());
    expect(second.events.filter((e) => e.event === 'file').every((e) => e.event === 'file' && e.reused)).toBe(true);
    expect(await folderBytes(out)).toEqual(before);
  });

  it('repacks only the paths whose hashes changed when one leaf changes', async () => {
    const cacheDir = await tempDir();
    await run({ toplevel, outDir: await tempDir(), cacheDir });
    const changed = await buildFixture({ variant: 'b' });
    const newClosure = await closureOf(changed);
    const expected = newClosure.filter((p) => !closure.includes(p)).sort();
    // The leaf, the path that refers to it, and the toplevel: nothing else.
    expect(expected.map((p) => p.slice(44))).toEqual(
      expect.arrayContaining(['leaf', 'mid-1.0', 'nixos-system-test-25.11']),
    );
    expect(expected).toHaveLength(3);
    const again = await run({ toplevel: changed, outDir: await tempDir(), cacheDir });
    expect(again.packed).toEqual(expected);
    expect(again.reused).toHaveLength(newClosure.length - 3);
  });

  it('makes byte-identical boot folders from the same input, with separate caches', async () => {
    const a = await tempDir();
    const b = await tempDir();
    await run({ toplevel, outDir: a, cacheDir: await tempDir() });
    await run({ toplevel, outDir: b, cacheDir: await tempDir(), jobs: 1 });
    expect(await folderBytes(a)).toEqual(await folderBytes(b));
  });

  it('notices a truncated cache file, packs that path again and ships the same bytes', async () => {
    const cacheDir = await tempDir();
    const out = await tempDir();
    await run({ toplevel, outDir: out, cacheDir });
    const before = await folderBytes(out);
    const folder = join(cacheDir, 'v1', 'squashfs');
    const victim = (await readdir(folder)).find((n) => n.endsWith('-stable-1.0.sqsh'))!;
    await truncate(join(folder, victim), 100);
    const again = await run({ toplevel, outDir: out, cacheDir });
    expect(again.packed.map((p) => p.slice(44))).toEqual(['stable-1.0']);
    expect(await folderBytes(out)).toEqual(before);
  });

  /**
   * The zero bytes that end an initrd on a 4-byte boundary are skipped by the
   * kernel, but the zstd tool calls them an unknown header: drop 0 to 3 of
   * them, as the kernel reads past them. Only the true padding decompresses
   * (fewer leaves zeros, more cuts the frame).
   */
  const unzstdPadded = (b: Buffer): Buffer => {
    let last: unknown;
    for (let pad = 0; pad <= 3 && (pad === 0 || b[b.length - pad] === 0); pad++) {
      try {
        return execFileSync('zstd', ['-dcq'], {
          input: b.subarray(0, b.length - pad),
          maxBuffer: 1 << 30,
          stdio: ['pipe', 'pipe', 'ignore'],
        });
      } catch (error) {
        last = error;
      }
    }
    throw last;
  };

  it.each([
    ['gzip', (b: Buffer) => gunzipSync(b)],
    ['zstd:3', unzstdPadded],
    ['xz', (b: Buffer) => execFileSync('xz', ['-dc'], { input: b, maxBuffer: 1 << 30 })],
  ])('compresses the initrds with %s, each store path a separate compressed archive', async (name, decompress) => {
    const plainOut = await tempDir();
    const out = await tempDir();
    const cacheDir = await tempDir();
    await run({ toplevel, outDir: plainOut, cacheDir });
    const [compressorName, level] = name.split(':') as ['gzip' | 'zstd' | 'xz', string | undefined];
    const { packed, reused } = await run({
      toplevel,
      outDir: out,
      cacheDir,
      initrdCompression: { name: compressorName, ...(level ? { level: Number(level) } : {}) },
    });
    // The squashfs images are shared with the uncompressed build: nothing is packed again.
    expect(packed).toEqual([]);
    expect(reused).toHaveLength(closure.length);
    const compressed = await readFile(join(out, 'nix-store'));
    const entries = readCpio(decompress(compressed));
    expect(new Set(entries.map((e) => e.archive)).size).toBe(closure.length);
    const plain = squashfsFiles(readCpio(await readFile(join(plainOut, 'nix-store'))));
    expect(squashfsFiles(entries)).toEqual(plain);
    expect(readCpio(decompress(await readFile(join(out, 'manifest')))).map((e) => e.name)).toContain(
      'nix-store-squashes/squashes',
    );
  });
});
