/**
 * The cache as the app shows it: its size, and pruning it. A stand-in until
 * the cache's own size limit and LRU pruning land (electron/pipeline/cache.ts).
 */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { CacheSummary } from '../shared/ipc.ts';

const DEFAULT_LIMIT = 8 * 1024 ** 3;

async function walk(dir: string): Promise<{ bytes: number; entries: number }> {
  let bytes = 0;
  let entries = 0;
  const items = await readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const item of items) {
    const path = join(dir, item.name);
    if (item.isDirectory()) {
      const sub = await walk(path);
      bytes += sub.bytes;
      entries += sub.entries;
    } else if (item.isFile()) {
      bytes += (await stat(path).catch(() => undefined))?.size ?? 0;
      if (item.name.endsWith('.squashfs')) entries++;
    }
  }
  return { bytes, entries };
}

export async function cacheSummary(dir: string): Promise<CacheSummary> {
  return { dir, ...(await walk(dir)), limitBytes: DEFAULT_LIMIT };
}

export async function pruneCacheTo(dir: string, _maxBytes: number | undefined): Promise<CacheSummary> {
  return cacheSummary(dir);
}
