import { spawnSync } from 'node:child_process';
import { mkdir, readdir, stat, truncate, utimes, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Cache, cacheKey, cacheStats, pruneCache } from '../../../electron/pipeline/compose/cache.ts';
import { parseSize, planEviction } from '../../../electron/pipeline/compose/cache-limit.ts';
import { tempDir } from '../../helpers/fixtures.ts';

const PATH = '/nix/store/c8ccy5gy6bmdpycl6bp3yyw3amz32paf-hello-2.12';

describe('the squashfs cache', () => {
  it('keys entries by store path, NAR hash and recipe', () => {
    const key = cacheKey([PATH, 'hash', 'mksquashfs 4.5.1 zstd:6']);
    expect(key).toMatch(/^[0-9a-f]{32}$/);
    expect(cacheKey([PATH, 'hash', 'mksquashfs 4.5.1 zstd:6'])).toBe(key);
    expect(cacheKey([PATH, 'other hash', 'mksquashfs 4.5.1 zstd:6'])).not.toBe(key);
    expect(cacheKey([PATH, 'hash', 'mksquashfs 4.5.1 zstd:7'])).not.toBe(key);
    expect(cacheKey([PATH, 'hash', 'mksquashfs 4.6 zstd:6'])).not.toBe(key);
    expect(cacheKey([PATH.replace('hello', 'howdy'), 'hash', 'mksquashfs 4.5.1 zstd:6'])).not.toBe(key);
  });

  it('names files after the store path, so people can find them', () => {
    const cache = new Cache('/var/cache/nbc');
    expect(cache.dataFile('squashfs', 'k'.repeat(32), PATH, 'sqsh')).toBe(
      `/var/cache/nbc/v1/squashfs/${'k'.repeat(32)}-hello-2.12.sqsh`,
    );
  });

  it('stores an entry whole and finds it again', async () => {
    const cache = new Cache(await tempDir());
    const file = cache.dataFile('squashfs', 'a'.repeat(32), PATH, 'sqsh');
    const entry = await cache.put(file, { key: 'a'.repeat(32), storePath: PATH, recipe: 'r' }, (temp) =>
      writeFile(temp, 'data!'),
    );
    expect(entry.bytes).toBe(5);
    expect(await cache.lookup(file)).toMatchObject({ storePath: PATH, bytes: 5, file });
    const names = await readdir(join(cache.dir, 'v1', 'squashfs'));
    expect(names.filter((n) => n.startsWith('.tmp-'))).toEqual([]);
  });

  it('treats a truncated entry as missing', async () => {
    const cache = new Cache(await tempDir());
    const file = cache.dataFile('squashfs', 'b'.repeat(32), PATH, 'sqsh');
    await cache.put(file, { key: 'b'.repeat(32), storePath: PATH, recipe: 'r' }, (temp) => writeFile(temp, 'abcdef'));
    await truncate(file, 3);
    expect(await cache.lookup(file)).toBeUndefined();
  });

  it('leaves nothing behind when making an entry fails', async () => {
    const cache = new Cache(await tempDir());
    const file = cache.dataFile('squashfs', 'c'.repeat(32), PATH, 'sqsh');
    await expect(
      cache.put(file, { key: 'c'.repeat(32), storePath: PATH, recipe: 'r' }, async (temp) => {
        await writeFile(temp, 'half');
        throw new Error('mksquashfs died');
      }),
    ).rejects.toThrow('mksquashfs died');
    expect(await readdir(join(cache.dir, 'v1', 'squashfs'))).toEqual([]);
    expect(await cache.lookup(file)).toBeUndefined();
  });

  it('says clearly when the cache folder cannot be made', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'file'), 'x');
    await expect(new Cache(join(dir, 'file', 'cache')).prepare()).rejects.toThrow(
      /cache folder .* cannot be created \(part of the path is a file\); choose another one with --cache/,
    );
  });
});

describe('sizes as people write them', () => {
  it('reads units as powers of 1024', () => {
    expect(parseSize('5G')).toBe(5 * 1024 ** 3);
    expect(parseSize('500M')).toBe(500 * 1024 ** 2);
    expect(parseSize('1.5GiB')).toBe(1.5 * 1024 ** 3);
    expect(parseSize('2048k')).toBe(2048 * 1024);
    expect(parseSize('1024')).toBe(1024);
    expect(parseSize('0')).toBe(0);
  });

  it('says what a size looks like when given something else', () => {
    expect(() => parseSize('lots')).toThrow(/"lots" is not a size: write a number with an optional unit, like 5G/);
    expect(() => parseSize('5Q')).toThrow(/not a size/);
    expect(() => parseSize('-1G')).toThrow(/not a size/);
  });
});

describe('least-recently-used eviction', () => {
  const entry = (file: string, bytes: number, lastUsedMs: number) => ({ file, bytes, lastUsedMs });

  it('removes the least recently used entries until the cache fits, and no more', () => {
    const entries = [entry('new', 10, 300), entry('old', 10, 100), entry('mid', 10, 200)];
    expect(planEviction(entries, 20, new Set()).map((e) => e.file)).toEqual(['old']);
    expect(planEviction(entries, 10, new Set()).map((e) => e.file)).toEqual(['old', 'mid']);
    expect(planEviction(entries, 30, new Set())).toEqual([]);
  });

  it('never removes an entry a build needs, even when the cache then stays over its limit', () => {
    const entries = [entry('needed', 50, 1), entry('other', 10, 2)];
    expect(planEviction(entries, 0, new Set(['needed'])).map((e) => e.file)).toEqual(['other']);
  });
});

/** A cache holding `count` entries of `bytes` each, used in the order made (the first is the oldest). */
async function filledCache(count: number, bytes: number): Promise<{ cache: Cache; files: string[] }> {
  const cache = new Cache(await tempDir());
  const files: string[] = [];
  for (let i = 0; i < count; i++) {
    const key = String(i).padStart(32, '0');
    const storePath = `/nix/store/${'a'.repeat(31)}${i}-path-${i}`;
    const file = cache.dataFile('squashfs', key, storePath, 'sqsh');
    const entry = await cache.put(file, { key, storePath, recipe: 'r' }, (temp) => writeFile(temp, 'x'.repeat(bytes)));
    // Distinct, increasing use times, as builds a second apart would leave.
    await utimes(`${file}.json`, 1000 + i, 1000 + i);
    files.push(entry.file);
  }
  return { cache, files };
}

async function bytesOnDisk(dir: string): Promise<number> {
  let total = 0;
  for (const kind of ['squashfs', 'segments']) {
    const folder = join(dir, 'v1', kind);
    for (const name of await readdir(folder)) total += (await stat(join(folder, name))).size;
  }
  return total;
}

describe('the cache on disk', () => {
  it('reports its size as the bytes its files take, its entries and the last build', async () => {
    const { cache } = await filledCache(3, 1000);
    await cache.recordBuild(2, 1);
    const stats = await cacheStats(cache.dir, 12345);
    expect(stats).toMatchObject({ dir: cache.dir, entries: 3, limitBytes: 12345, lastBuild: { hits: 2, misses: 1 } });
    expect(stats.bytes).toBe(await bytesOnDisk(cache.dir));
    expect(stats.bytes).toBeGreaterThan(3000);
  });

  it('prunes the least recently used entries down to the size asked', async () => {
    const { cache, files } = await filledCache(4, 10_000);
    const before = await bytesOnDisk(cache.dir);
    const { removedEntries, freedBytes, stats } = await pruneCache(cache.dir, 25_000);
    expect(removedEntries).toBe(2);
    expect(await bytesOnDisk(cache.dir)).toBe(before - freedBytes);
    expect(stats.bytes).toBeLessThanOrEqual(25_000);
    // The two oldest went; the two used last are whole.
    expect(await cache.lookup(files[0]!)).toBeUndefined();
    expect(await cache.lookup(files[1]!)).toBeUndefined();
    expect(await cache.lookup(files[2]!)).toMatchObject({ bytes: 10_000 });
    expect(await cache.lookup(files[3]!)).toMatchObject({ bytes: 10_000 });
  });

  it('keeps what a running build has leased, and lets it go once released', async () => {
    const { cache, files } = await filledCache(3, 10_000);
    const lease = await cache.lease([files[0]!]);
    await pruneCache(cache.dir, 0);
    expect(await cache.lookup(files[0]!)).toMatchObject({ bytes: 10_000 });
    expect(await cache.lookup(files[1]!)).toBeUndefined();
    await lease.release();
    await pruneCache(cache.dir, 0);
    expect(await cache.lookup(files[0]!)).toBeUndefined();
    expect(await bytesOnDisk(cache.dir)).toBe(0);
  });

  it('ignores the lease of a build that died', async () => {
    const { cache, files } = await filledCache(1, 10_000);
    const dead = spawnSync('true').pid!;
    await mkdir(join(cache.dir, 'v1', 'leases'), { recursive: true });
    await writeFile(
      join(cache.dir, 'v1', 'leases', `${dead}-x.json`),
      JSON.stringify({ pid: dead, files: [files[0]!.split('/').pop()] }),
    );
    await pruneCache(cache.dir, 0);
    expect(await cache.lookup(files[0]!)).toBeUndefined();
    expect(await readdir(join(cache.dir, 'v1', 'leases'))).toEqual([]);
  });

  it('makes an entry once when two builds want it at the same time', async () => {
    const cache = new Cache(await tempDir());
    const file = cache.dataFile('squashfs', 'd'.repeat(32), PATH, 'sqsh');
    let made = 0;
    const produce = async (temp: string) => {
      made++;
      await new Promise((resolve) => setTimeout(resolve, 100));
      await writeFile(temp, 'packed once');
    };
    const meta = { key: 'd'.repeat(32), storePath: PATH, recipe: 'r' };
    const [first, second] = await Promise.all([
      cache.getOrMake(file, meta, produce),
      cache.getOrMake(file, meta, produce),
    ]);
    expect(made).toBe(1);
    expect([first.made, second.made].sort()).toEqual([false, true]);
    expect(second.entry.bytes).toBe('packed once'.length);
    expect((await readdir(dirname(file))).filter((n) => n.endsWith('.lock'))).toEqual([]);
  });

  it('takes over an entry whose maker died', async () => {
    const cache = new Cache(await tempDir());
    await cache.prepare();
    const file = cache.dataFile('squashfs', 'e'.repeat(32), PATH, 'sqsh');
    await writeFile(`${file}.lock`, String(spawnSync('true').pid));
    const { entry, made } = await cache.getOrMake(file, { key: 'e'.repeat(32), storePath: PATH, recipe: 'r' }, (t) =>
      writeFile(t, 'mine'),
    );
    expect(made).toBe(true);
    expect(entry.bytes).toBe(4);
  });
});
