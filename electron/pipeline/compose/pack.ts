/**
 * Packing a closure: for each store path, its squashfs from the cache or
 * made now, by the in-process writer for small paths with gzip or zstd
 * (squashfs-writer.ts) and by mksquashfs for the rest (and, when the initrds are compressed, its
 * compressed cpio segment), at most `jobs` at once, biggest first.
 */
import { lstat } from 'node:fs/promises';
import { formatBytes } from '../../shared/progress.ts';
import type { BuildEvent, InitrdCompression, SquashfsCompression } from '../../shared/types.ts';
import { CanceledError, NetbootError } from '../base/errors.ts';
import { removeDeadScratch } from '../base/fsutil.ts';
import { findTool, toolVersion } from '../base/tools.ts';
import { cacheKey, type Cache, type CacheEntry } from './cache.ts';
import type { RegisteredPath } from './closure.ts';
import { formatCompression } from './compression.ts';
import { MAX_CPIO_FILE_SIZE } from './cpio.ts';
import { compressionExtension, segmentParts, writeArchive } from './initrd.ts';
import { runPool } from './pool.ts';
import { SHELL_ERR_FILE, ShellPool } from './shell.ts';
import { assertCompleteSquashfs, isCompleteSquashfs, packStorePath, progressMode } from './squashfs.ts';
import { builtinLibraries, builtinSupports } from './squashfs-compress.ts';
import { NotForBuiltinError, writeSquashfs } from './squashfs-writer.ts';

/** Paths smaller than this pack in well under a second: no pseudo-terminal for their progress. */
const TERMINAL_PROGRESS_MIN_BYTES = 4 * 1024 * 1024;
/**
 * Paths smaller than this (NAR bytes) are written by the in-process writer when
 * it is on: where mksquashfs's start is most of the time. Bigger ones keep
 * mksquashfs (its own threads, its progress, and no image held in memory).
 */
export const BUILTIN_MAX_NAR_BYTES = 4 * 1024 * 1024;
/** Version of the in-process writer's layout: part of its cache entries' recipe. */
const BUILTIN_WRITER_VERSION = 1;

/** Which program makes the squashfs images of small paths: the in-process writer, or mksquashfs for all. */
export type SquashfsWriterChoice = 'builtin' | 'mksquashfs';
export const SQUASHFS_WRITERS: readonly SquashfsWriterChoice[] = ['builtin', 'mksquashfs'];
/** The environment variable that picks the writer when the request does not. */
export const SQUASHFS_WRITER_ENV = 'NETBOOT_COMPOSER_SQUASHFS_WRITER';

/** Read a writer setting (`--squashfs-writer`, the environment), or say what is wrong with it. */
export function parseSquashfsWriter(text: string, where: string): SquashfsWriterChoice {
  const value = text.trim().toLowerCase();
  if ((SQUASHFS_WRITERS as readonly string[]).includes(value)) return value as SquashfsWriterChoice;
  throw new NetbootError(`${where} takes ${SQUASHFS_WRITERS.join(' or ')}, not "${text}".`);
}

/** The writer a build uses when its request does not say: the environment's, else mksquashfs. */
export function defaultSquashfsWriter(env: NodeJS.ProcessEnv = process.env): SquashfsWriterChoice {
  const text = env[SQUASHFS_WRITER_ENV];
  return text === undefined || text === '' ? 'mksquashfs' : parseSquashfsWriter(text, SQUASHFS_WRITER_ENV);
}
/** Cache lookups in flight at once: file system round trips, not CPU. */
const LOOKUP_CONCURRENCY = 32;

export interface Packed {
  path: RegisteredPath;
  squashfs: CacheEntry;
  /** The compressed initrd segment, when the initrds are compressed. */
  segment: CacheEntry | undefined;
}

/** Where each path's cache entries are: known before anything is packed, so a build can claim them. */
export interface PathPlan {
  path: RegisteredPath;
  /** Who makes its image; the cache key tells the writers apart (their bytes differ). */
  writer: SquashfsWriterChoice;
  squashfs: { key: string; file: string; recipe: string };
  segment: { key: string; file: string; recipe: string } | undefined;
}

export interface PackPlan {
  squashfsRecipe: string;
  segmentRecipe: string;
  paths: PathPlan[];
}

/** The cache files of every path in `paths` (in the order given) with these compressors. */
export async function planPacking(
  paths: readonly RegisteredPath[],
  cache: Cache,
  squashfsCompression: SquashfsCompression,
  initrdCompression: InitrdCompression,
  writer: SquashfsWriterChoice = 'mksquashfs',
): Promise<PackPlan> {
  const version = await toolVersion('mksquashfs');
  const squashfsRecipe = `mksquashfs ${version} ${formatCompression(squashfsCompression)}`;
  const segmentRecipe = `${squashfsRecipe} initrd ${formatCompression(initrdCompression)}`;
  // The writer's bytes are not mksquashfs's: its own recipe (mksquashfs's version too, for what it gives back).
  const builtinRecipe = `builtin-squashfs ${BUILTIN_WRITER_VERSION} ${builtinLibraries()} ${squashfsRecipe}`;
  const builtin = writer === 'builtin' && builtinSupports(squashfsCompression);
  return {
    squashfsRecipe,
    segmentRecipe,
    paths: paths.map((path) => {
      const pathWriter = builtin && path.narSize < BUILTIN_MAX_NAR_BYTES ? 'builtin' : 'mksquashfs';
      const recipe = pathWriter === 'builtin' ? builtinRecipe : squashfsRecipe;
      const segmentOfRecipe = `${recipe} initrd ${formatCompression(initrdCompression)}`;
      const key = cacheKey([path.path, path.narHash, recipe]);
      const segmentKey = cacheKey([path.path, path.narHash, segmentOfRecipe]);
      return {
        path,
        writer: pathWriter,
        squashfs: { key, recipe, file: cache.dataFile('squashfs', key, path.path, 'sqsh') },
        segment:
          initrdCompression.name === 'none'
            ? undefined
            : {
                key: segmentKey,
                recipe: segmentOfRecipe,
                file: cache.dataFile('segments', segmentKey, path.path, compressionExtension(initrdCompression)),
              },
      };
    }),
  };
}

/** Every cache file a plan uses. */
export function planFiles(plan: PackPlan): string[] {
  return plan.paths.flatMap((p) => (p.segment ? [p.squashfs.file, p.segment.file] : [p.squashfs.file]));
}

/**
 * Write `storePath`'s image with the in-process writer; false (nothing left
 * at `temp`) when its tree is one for mksquashfs after all (a device node, too big).
 */
async function writeBuiltin(
  storePath: string,
  temp: string,
  compression: SquashfsCompression,
  signal: AbortSignal,
): Promise<boolean> {
  try {
    await whileInStore(storePath, signal, () => writeSquashfs(storePath, temp, compression, { signal }));
    return true;
  } catch (error) {
    if (error instanceof NotForBuiltinError) return false;
    if (signal.aborted) throw new CanceledError();
    throw error;
  }
}

/** True while `storePath` is in the store (a symlink counts, even one whose target is gone). */
async function inStore(storePath: string): Promise<boolean> {
  return lstat(storePath).then(
    () => true,
    () => false,
  );
}

/**
 * Run `pack` on `storePath`; if the path was deleted from the store before it
 * was read whole (a garbage collection during the build), say so, whether the
 * tool failed on it or not: what it packed may be part of the path.
 */
async function whileInStore(storePath: string, signal: AbortSignal, pack: () => Promise<void>): Promise<void> {
  try {
    await pack();
  } catch (error) {
    if (!signal.aborted && !(await inStore(storePath))) {
      throw new StorePathGoneError(storePath, {
        cause: error,
        details: error instanceof NetbootError ? error.details : undefined,
      });
    }
    throw error;
  }
  if (!(await inStore(storePath))) throw new StorePathGoneError(storePath);
}

/** A store path of the closure was deleted while the build was packing it. */
export class StorePathGoneError extends NetbootError {
  constructor(storePath: string, options?: { cause?: unknown; details?: string | undefined }) {
    super(
      `${storePath} was deleted from the Nix store while it was being packed (a garbage collection?); build the system again with Nix, then build the boot folder again.`,
      options,
    );
    this.name = 'StorePathGoneError';
  }
}

export interface PackOptions {
  cache: Cache;
  squashfsCompression: SquashfsCompression;
  initrdCompression: InitrdCompression;
  jobs: number;
  emit: (event: BuildEvent) => void;
  signal?: AbortSignal | undefined;
  /** Called as soon as the path at `index` of the plan is packed or found, so assembly can start. */
  onPacked?: ((index: number, packed: Packed) => void) | undefined;
}

/** Pack the paths of `plan` in its order (put the biggest first); results come back in the same order. */
export async function packClosure(
  plan: PackPlan,
  options: PackOptions,
): Promise<{ packed: Packed[]; packedCount: number; reusedCount: number }> {
  const { cache, squashfsCompression, initrdCompression, emit } = options;
  const version = plan.squashfsRecipe.split(' ')[1] ?? '';
  const progress = progressMode(version, findTool('script') !== undefined);
  let packedCount = 0;
  let reusedCount = 0;
  // The error files of the shells of a build that was killed.
  await removeDeadScratch('netboot-composer-', SHELL_ERR_FILE);
  const shells = new ShellPool();

  const squashfsOf = async ({ path, squashfs, writer }: PathPlan, signal: AbortSignal, share: number) => {
    let last = -1;
    const { entry, made } = await cache.getOrMake(
      squashfs.file,
      { key: squashfs.key, storePath: path.path, recipe: squashfs.recipe },
      async (temp) => {
        emit({ event: 'path-start', path: path.path });
        if (writer === 'builtin' && (await writeBuiltin(path.path, temp, squashfsCompression, signal))) return;
        await whileInStore(path.path, signal, () =>
          packStorePath(path.path, temp, {
            compression: squashfsCompression,
            processors: share,
            // A pseudo-terminal costs a few milliseconds: worth it only where there is progress to see.
            progress: progress === 'terminal' && path.narSize < TERMINAL_PROGRESS_MIN_BYTES ? 'none' : progress,
            signal,
            shells,
            onProgress: (percent) => {
              // A path's progress only goes forward, whatever mksquashfs printed.
              if (percent <= last) return;
              last = percent;
              emit({ event: 'path-progress', path: path.path, percent });
            },
          }),
        );
        await assertCompleteSquashfs(temp, path.path);
      },
      { isValid: (found) => isCompleteSquashfs(found.file), signal },
    );
    return { entry, reused: !made };
  };

  const segmentOf = async ({ path, segment }: PathPlan, squashfs: CacheEntry, signal: AbortSignal) => {
    if (!segment) return undefined;
    const { entry } = await cache.getOrMake(
      segment.file,
      { key: segment.key, storePath: path.path, recipe: segment.recipe },
      (temp) => writeArchive(segmentParts(path.path, squashfs.file, squashfs.bytes), initrdCompression, temp, signal),
      { signal },
    );
    return entry;
  };

  /** The path's entries when all are in the cache, whole; marked as used now. */
  const lookupOne = async (item: PathPlan): Promise<Packed | undefined> => {
    const squashfs = await cache.lookup(item.squashfs.file);
    if (!squashfs || !(await isCompleteSquashfs(squashfs.file))) return undefined;
    const segment = item.segment ? await cache.lookup(item.segment.file) : undefined;
    if (item.segment && !segment) return undefined;
    await cache.touch(squashfs);
    if (segment) await cache.touch(segment);
    return { path: item.path, squashfs, segment };
  };

  const packOne = async (item: PathPlan, signal: AbortSignal, share: number): Promise<Packed> => {
    const began = performance.now();
    const { path } = item;
    const { entry: squashfs, reused } = await squashfsOf(item, signal, share);
    if (squashfs.bytes > MAX_CPIO_FILE_SIZE) {
      throw new NetbootError(
        `${path.path} packs to ${formatBytes(squashfs.bytes)}, more than the 4 GiB an initrd (cpio newc) entry can hold; split it, or make it smaller with a stronger --squashfs-compression (xz).`,
      );
    }
    const segment = await segmentOf(item, squashfs, signal);
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
    const packed = { path, squashfs, segment };
    options.onPacked?.(indexOf.get(path.path)!, packed);
    return packed;
  };

  // First every lookup, many at once (they are a few small reads each), so
  // that the pool below schedules only real work: biggest first, and the
  // last jobs get the cores the others leave idle.
  const found = await runPool(
    plan.paths.map((item) => ({ run: () => lookupOne(item) })),
    LOOKUP_CONCURRENCY,
    options.signal,
  );
  const indexOf = new Map(plan.paths.map((item, index) => [item.path.path, index]));
  for (const [index, hit] of found.entries()) {
    if (!hit) continue;
    options.onPacked?.(index, hit);
    reusedCount++;
    emit({
      event: 'path-done',
      path: hit.path.path,
      status: 'reused',
      narSize: hit.path.narSize,
      packedBytes: hit.squashfs.bytes,
      seconds: 0,
    });
  }
  const missing = plan.paths.filter((_, index) => found[index] === undefined);
  let made: Packed[];
  try {
    made = await runPool(
      missing.map((item) => ({ run: (signal: AbortSignal, share: number) => packOne(item, signal, share) })),
      options.jobs,
      options.signal,
    );
  } finally {
    await shells.close();
  }
  const byPath = new Map(made.map((item) => [item.path.path, item]));
  const packed = plan.paths.map((item, index) => found[index] ?? byPath.get(item.path.path)!);
  return { packed, packedCount, reusedCount };
}
