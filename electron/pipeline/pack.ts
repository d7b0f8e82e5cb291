/**
 * Packing a closure: for each store path, its squashfs from the cache or
 * made now with mksquashfs (and, when the initrds are compressed, its
 * compressed cpio segment), at most `jobs` at once, biggest first.
 */
import type { BuildEvent, InitrdCompression, SquashfsCompression } from '../shared/types.ts';
import { cacheKey, type Cache, type CacheEntry } from './cache.ts';
import type { RegisteredPath } from './closure.ts';
import { formatBytes } from '../shared/progress.ts';
import { formatCompression } from './compression.ts';
import { MAX_CPIO_FILE_SIZE } from './cpio.ts';
import { NetbootError } from './errors.ts';
import { compressionExtension, segmentParts, writeArchive } from './initrd.ts';
import { runPool } from './pool.ts';
import { assertCompleteSquashfs, isCompleteSquashfs, packStorePath, progressMode } from './squashfs.ts';
import { findTool, toolVersion } from './tools.ts';

/** Paths smaller than this pack in well under a second: no pseudo-terminal for their progress. */
const TERMINAL_PROGRESS_MIN_BYTES = 4 * 1024 * 1024;

export interface Packed {
  path: RegisteredPath;
  squashfs: CacheEntry;
  /** The compressed initrd segment, when the initrds are compressed. */
  segment: CacheEntry | undefined;
}

export interface PackOptions {
  cache: Cache;
  squashfsCompression: SquashfsCompression;
  initrdCompression: InitrdCompression;
  jobs: number;
  emit: (event: BuildEvent) => void;
  signal?: AbortSignal | undefined;
}

/** Pack `paths` in the order given (put the biggest first); results come back in the same order. */
export async function packClosure(
  paths: readonly RegisteredPath[],
  options: PackOptions,
): Promise<{ packed: Packed[]; packedCount: number; reusedCount: number }> {
  const { cache, squashfsCompression, initrdCompression, emit } = options;
  const version = await toolVersion('mksquashfs');
  const progress = progressMode(version, findTool('script') !== undefined);
  const squashfsRecipe = `mksquashfs ${version} ${formatCompression(squashfsCompression)}`;
  const segmentRecipe = `${squashfsRecipe} initrd ${formatCompression(initrdCompression)}`;
  let packedCount = 0;
  let reusedCount = 0;

  const squashfsOf = async (path: RegisteredPath, signal: AbortSignal, share: number) => {
    const key = cacheKey([path.path, path.narHash, squashfsRecipe]);
    const file = cache.dataFile('squashfs', key, path.path, 'sqsh');
    const cached = await cache.lookup(file);
    if (cached && (await isCompleteSquashfs(cached.file))) return { entry: cached, reused: true };
    emit({ event: 'path-start', path: path.path });
    let last = -1;
    const entry = await cache.put(file, { key, storePath: path.path, recipe: squashfsRecipe }, async (temp) => {
      await packStorePath(path.path, temp, {
        compression: squashfsCompression,
        processors: share,
        // A pseudo-terminal costs a few milliseconds: worth it only where there is progress to see.
        progress: progress === 'terminal' && path.narSize < TERMINAL_PROGRESS_MIN_BYTES ? 'none' : progress,
        signal,
        onProgress: (percent) => {
          if (percent === last) return;
          last = percent;
          emit({ event: 'path-progress', path: path.path, percent });
        },
      });
      await assertCompleteSquashfs(temp, path.path);
    });
    return { entry, reused: false };
  };

  const segmentOf = async (path: RegisteredPath, squashfs: CacheEntry, signal: AbortSignal) => {
    const key = cacheKey([path.path, path.narHash, segmentRecipe]);
    const file = cache.dataFile('segments', key, path.path, compressionExtension(initrdCompression));
    return (
      (await cache.lookup(file)) ??
      (await cache.put(file, { key, storePath: path.path, recipe: segmentRecipe }, (temp) =>
        writeArchive(segmentParts(path.path, squashfs.file, squashfs.bytes), initrdCompression, temp, signal),
      ))
    );
  };

  const packOne = async (path: RegisteredPath, signal: AbortSignal, share: number): Promise<Packed> => {
    const began = performance.now();
    const { entry: squashfs, reused } = await squashfsOf(path, signal, share);
    if (squashfs.bytes > MAX_CPIO_FILE_SIZE) {
      throw new NetbootError(
        `${path.path} packs to ${formatBytes(squashfs.bytes)}, more than the 4 GiB an initrd (cpio newc) entry can hold; split it, or make it smaller with a stronger --squashfs-compression (xz).`,
      );
    }
    const segment = initrdCompression.name === 'none' ? undefined : await segmentOf(path, squashfs, signal);
    await cache.touch(squashfs);
    if (segment) await cache.touch(segment);
    if (reused) reusedCount++;
    else packedCount++;
    emit({
      event: 'path-done',
      path: path.path,
      status: reused ? 'reused' : 'packed',
      narSize: path.narSize,
      packedBytes: squashfs.bytes,
      seconds: (performance.now() - began) / 1000,
    });
    return { path, squashfs, segment };
  };

  const packed = await runPool(
    paths.map((path) => ({ run: (signal: AbortSignal, share: number) => packOne(path, signal, share) })),
    options.jobs,
    options.signal,
  );
  return { packed, packedCount, reusedCount };
}
