import { readdir, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Cache, cacheKey } from '../../electron/pipeline/cache.ts';
import { tempDir } from '../helpers/fixtures.ts';

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
