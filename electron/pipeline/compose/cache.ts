/**
 * The on-disk cache of packed store paths. A store path is immutable and
 * named by hash, so a squashfs made once for it (with the same compressor and
 * the same mksquashfs) never needs making again.
 *
 * Layout, under the cache folder:
 *   v1/squashfs/KEY-NAME.sqsh     one squashfs per store path
 *   v1/segments/KEY-NAME.cpio.EXT one compressed initrd segment per store path
 *   v1/.../KEY-NAME.*.json        what the entry is, and its size
 * An entry is written to a temporary file in the same folder and renamed into
 * place, data first and description last, so a reader sees a whole entry or
 * none. A data file whose size differs from its description (truncated,
 * replaced) is treated as missing and made again.
 *
 * Managed size: the cache has a limit (default 5 GiB; NETBOOT_COMPOSER_CACHE_LIMIT
 * or the build's `cacheLimitBytes`). A description's modification time is the
 * entry's last use; after a build, the least recently used entries go until the
 * cache fits. Two builds may run at once (the app and the CLI):
 *   v1/leases/PID-RAND.json   the files a running build needs: never evicted
 *   v1/prune.lock             held while pruning; a build writes its lease, then
 *                             waits for a prune in progress to end, so a prune
 *                             either sees the lease or runs before it matters
 *   DATAFILE.lock             held while an entry is made, so a second build
 *                             waits for it instead of packing the same path again
 *   v1/last-build.json        hits and misses of the last build
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFile, readdir, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { defaultCacheDir } from '../base/dirs.ts';
import { NetbootError } from '../base/errors.ts';
import { diskIsFull, makeFolder, whyNotWritable } from '../base/fsutil.ts';
import { alive, lockOwner, takeLock } from '../base/lock.ts';
import { defaultCacheLimit, planEviction, type EvictionCandidate } from './cache-limit.ts';

const FORMAT = 'v1';
export type CacheKind = 'squashfs' | 'segments';
const KINDS: readonly CacheKind[] = ['squashfs', 'segments'];

export interface CacheEntryMeta {
  key: string;
  storePath: string;
  /** What the entry was made with: compressor, tool version. Part of the key. */
  recipe: string;
  bytes: number;
  createdAt: string;
}

export interface CacheEntry extends CacheEntryMeta {
  file: string;
}

/** A key for `parts`: stable, short, safe in a file name. */
export function cacheKey(parts: readonly string[]): string {
  return createHash('sha256')
    .update(JSON.stringify([FORMAT, ...parts]))
    .digest('hex')
    .slice(0, 32);
}

/** A file-name-safe, bounded version of a store path's name, for people browsing the cache. */
function label(storePath: string): string {
  const base = storePath.split('/').pop() ?? 'path';
  return base.slice(33, 33 + 80).replace(/[^A-Za-z0-9+\-._=]/g, '_') || 'path';
}

export interface CacheStats {
  dir: string;
  /** Total on disk: squashfs images, initrd segments and their descriptions. */
  bytes: number;
  /** Squashfs entries (segments are counted in bytes). */
  entries: number;
  /** The configured limit. */
  limitBytes: number;
  /** Hit rate of the last build. */
  lastBuild?: { hits: number; misses: number; at: string } | undefined;
}

/** What the cache holds, and how the last build used it. */
export async function cacheStats(dir: string = defaultCacheDir(), limitBytes?: number): Promise<CacheStats> {
  return new Cache(dir).stats(limitBytes);
}

/**
 * Remove the least recently used entries until the cache holds at most
 * `maxBytes` (default: the configured limit). Entries a running build needs
 * are kept.
 */
export async function pruneCache(
  dir: string = defaultCacheDir(),
  maxBytes?: number,
): Promise<{ removedEntries: number; freedBytes: number; stats: CacheStats }> {
  const cache = new Cache(dir);
  const limit = maxBytes ?? defaultCacheLimit();
  const pruned = await cache.prune(limit, { waitMs: 10_000 });
  if (pruned === undefined) {
    throw new NetbootError(`Another process is pruning ${dir}; wait for it to finish and try again.`);
  }
  return { ...pruned, stats: await cache.stats(limit) };
}

/** A running build's claim on cache files: they are not evicted until it is released. */
export interface Lease {
  release(): Promise<void>;
}

/** Temporary files older than this are leftovers of a crash, not another build's work. */
const STALE_TEMP_MS = 24 * 60 * 60 * 1000;

export class Cache {
  readonly dir: string;
  private prepared = false;

  constructor(dir: string) {
    // Absolute: its files are mksquashfs's arguments, and a relative "-x/..." would read as an option.
    this.dir = resolve(dir);
  }

  private folder(kind: CacheKind): string {
    return join(this.dir, FORMAT, kind);
  }

  /** Where the data of an entry lives. */
  dataFile(kind: CacheKind, key: string, storePath: string, extension: string): string {
    return join(this.folder(kind), `${key}-${label(storePath)}.${extension}`);
  }

  private metaFile(dataFile: string): string {
    return `${dataFile}.json`;
  }

  /** Make the cache folders, or say clearly why they cannot be made. */
  async prepare(): Promise<void> {
    if (this.prepared) return;
    for (const kind of KINDS) {
      try {
        await makeFolder(this.folder(kind));
      } catch (error) {
        throw new NetbootError(
          `The cache folder ${this.dir} cannot be created (${await whyNotWritable(this.folder(kind), error)}); choose another one with --cache.`,
          { cause: error },
        );
      }
    }
    await this.removeStaleTemps();
    this.prepared = true;
  }

  /**
   * Remove what killed builds left: temporary files (`.tmp-PID-RANDOM`)
   * whose process is dead (or that are older than a day), and the locks of
   * entries a dead process was making (its entry may be whole: it was killed
   * between the last rename and removing the lock).
   */
  private async removeStaleTemps(): Promise<void> {
    const now = Date.now();
    const folders = [...KINDS.map((kind) => this.folder(kind)), join(this.dir, FORMAT), this.leaseDir];
    folders.push(join(this.dir, FORMAT, 'facts'));
    for (const folder of folders) {
      for (const name of await readdir(folder).catch(() => [] as string[])) {
        const file = join(folder, name);
        if (name.startsWith('.tmp-')) {
          const pid = Number(/^\.tmp-(\d+)-/.exec(name)?.[1]);
          const dead = Number.isSafeInteger(pid) && pid > 0 && pid !== process.pid && !alive(pid);
          const info = dead ? undefined : await stat(file).catch(() => undefined);
          if (dead || (info && now - info.mtimeMs > STALE_TEMP_MS)) await rm(file, { force: true });
        } else if (name.endsWith('.lock') && name !== 'prune.lock') {
          const owner = await lockOwner(file);
          if (owner !== undefined && owner !== process.pid && !alive(owner)) await rm(file, { force: true });
        }
      }
    }
  }

  private get leaseDir(): string {
    return join(this.dir, FORMAT, 'leases');
  }

  private get pruneLock(): string {
    return join(this.dir, FORMAT, 'prune.lock');
  }

  /**
   * Claim `files` (data files, made or still to be made) for a running
   * build: no prune removes them until the lease is released. Returns once
   * no prune is in progress, so the claim is seen by every later prune.
   */
  async lease(files: Iterable<string>, signal?: AbortSignal): Promise<Lease> {
    await makeFolder(this.leaseDir);
    const file = join(this.leaseDir, `${process.pid}-${randomBytes(6).toString('hex')}.json`);
    const temp = this.tempFile(file);
    try {
      await writeFile(temp, `${JSON.stringify({ pid: process.pid, files: [...files].map((f) => basename(f)) })}\n`);
      await rename(temp, file);
    } catch (error) {
      await rm(temp, { force: true });
      throw (await diskIsFull(this.leaseDir, error)) ? this.full(error) : error;
    }
    try {
      // A prune that started before our lease was written may not have read
      // it: let it finish. One that starts later reads it.
      while ((await stat(this.pruneLock).catch(() => undefined)) !== undefined) {
        const owner = await lockOwner(this.pruneLock);
        if (owner !== undefined && !alive(owner)) break;
        signal?.throwIfAborted();
        await sleep(25);
      }
    } catch (error) {
      await rm(file, { force: true });
      throw error;
    }
    return { release: () => rm(file, { force: true }) };
  }

  /** The file names live builds have claimed; leases of dead processes are removed. */
  private async leasedNames(): Promise<Set<string>> {
    const names = new Set<string>();
    const leases = await readdir(this.leaseDir).catch(() => [] as string[]);
    for (const name of leases) {
      if (!name.endsWith('.json')) continue;
      const file = join(this.leaseDir, name);
      const lease = await readFile(file, 'utf8')
        .then((text) => JSON.parse(text) as { pid: number; files: string[] })
        .catch(() => undefined);
      if (!lease) continue;
      if (!alive(lease.pid)) {
        await rm(file, { force: true });
        continue;
      }
      for (const leased of lease.files) names.add(leased);
    }
    return names;
  }

  /** Every entry on disk, as eviction sees it. */
  private async candidates(): Promise<{ entries: EvictionCandidate[]; orphans: string[]; squashfsEntries: number }> {
    const entries: EvictionCandidate[] = [];
    const orphans: string[] = [];
    let squashfsEntries = 0;
    for (const kind of KINDS) {
      const folder = this.folder(kind);
      const names = await readdir(folder).catch(() => [] as string[]);
      const present = new Set(names);
      const data = names.filter((name) => !name.startsWith('.') && !name.endsWith('.lock') && !name.endsWith('.json'));
      for (const name of names) {
        // A description whose data is gone: nothing to keep.
        if (name.endsWith('.json') && !name.startsWith('.') && !present.has(name.slice(0, -'.json'.length))) {
          orphans.push(join(folder, name));
        }
      }
      // All the stats at once: hundreds of round trips one after another add up.
      const infos = await Promise.all(
        data.map(async (name) => {
          const file = join(folder, name);
          const [info, meta] = await Promise.all([
            stat(file).catch(() => undefined),
            stat(this.metaFile(file)).catch(() => undefined),
          ]);
          return { file, info, meta };
        }),
      );
      for (const { file, info, meta } of infos) {
        if (!info) continue;
        if (!meta) {
          orphans.push(file);
          continue;
        }
        if (kind === 'squashfs') squashfsEntries++;
        entries.push({ file, bytes: info.size + meta.size, lastUsedMs: meta.mtimeMs });
      }
    }
    return { entries, orphans, squashfsEntries };
  }

  /** Size, entries, limit and the last build's hit rate. */
  async stats(limitBytes: number = defaultCacheLimit()): Promise<CacheStats> {
    const { entries, squashfsEntries } = await this.candidates();
    const lastBuild = await readFile(join(this.dir, FORMAT, 'last-build.json'), 'utf8')
      .then((text) => JSON.parse(text) as CacheStats['lastBuild'])
      .catch(() => undefined);
    return {
      dir: this.dir,
      bytes: entries.reduce((sum, entry) => sum + entry.bytes, 0),
      entries: squashfsEntries,
      limitBytes,
      lastBuild,
    };
  }

  /** Record the last build's hits (reused squashfs images) and misses (packed ones). */
  async recordBuild(hits: number, misses: number): Promise<void> {
    const file = join(this.dir, FORMAT, 'last-build.json');
    const temp = this.tempFile(file);
    await writeFile(temp, `${JSON.stringify({ hits, misses, at: new Date().toISOString() })}\n`);
    await rename(temp, file);
  }

  /**
   * Evict the least recently used entries until the cache holds at most
   * `maxBytes`, keeping every file a live build has leased. Returns
   * undefined when another prune holds the lock for longer than `waitMs`.
   */
  async prune(
    maxBytes: number,
    options: { waitMs?: number; signal?: AbortSignal | undefined } = {},
  ): Promise<{ removedEntries: number; freedBytes: number } | undefined> {
    await makeFolder(join(this.dir, FORMAT));
    if (!(await takeLock(this.pruneLock, options.waitMs ?? 0, options.signal))) return undefined;
    try {
      const keep = await this.leasedNames();
      const { entries, orphans } = await this.candidates();
      let freedBytes = 0;
      for (const orphan of orphans) {
        if (keep.has(basename(orphan)) || keep.has(basename(orphan).replace(/\.json$/, ''))) continue;
        freedBytes += (await stat(orphan).catch(() => undefined))?.size ?? 0;
        await rm(orphan, { force: true });
      }
      const keepFiles = new Set(entries.filter((e) => keep.has(basename(e.file))).map((e) => e.file));
      const evict = planEviction(entries, maxBytes, keepFiles);
      for (const entry of evict) {
        // The description first: from then on, readers see the entry as missing.
        await rm(this.metaFile(entry.file), { force: true });
        await rm(entry.file, { force: true });
        freedBytes += entry.bytes;
      }
      return { removedEntries: evict.length, freedBytes };
    } finally {
      await rm(this.pruneLock, { force: true });
    }
  }

  /** The entry at `dataFile` if it is whole, else undefined (and the broken rest is removed). */
  async lookup(dataFile: string): Promise<CacheEntry | undefined> {
    let meta: CacheEntryMeta;
    try {
      meta = JSON.parse(await readFile(this.metaFile(dataFile), 'utf8')) as CacheEntryMeta;
    } catch {
      return undefined;
    }
    const info = await stat(dataFile).catch(() => undefined);
    if (!info || info.size !== meta.bytes) {
      await rm(this.metaFile(dataFile), { force: true });
      return undefined;
    }
    return { ...meta, file: dataFile };
  }

  /**
   * A small fact about an immutable input (a store path), worked out once:
   * `compute` runs the first time `question` is asked, and its answer is kept.
   */
  async remember<T extends string>(question: string, compute: () => Promise<T>): Promise<T> {
    const file = join(this.dir, FORMAT, 'facts', cacheKey([question]));
    const known = await readFile(file, 'utf8').catch(() => undefined);
    if (known !== undefined) return known as T;
    const answer = await compute();
    const temp = this.tempFile(file);
    try {
      await makeFolder(dirname(file));
      await writeFile(temp, answer);
      await rename(temp, file);
    } catch (error) {
      await rm(temp, { force: true });
      throw (await diskIsFull(this.dir, error)) ? this.full(error) : error;
    }
    return answer;
  }

  /** Mark an entry as used now (the least recently used go first when pruning). */
  async touch(entry: CacheEntry): Promise<void> {
    const now = new Date();
    await utimes(this.metaFile(entry.file), now, now).catch(() => undefined);
  }

  /** A temporary file name in the folder of `dataFile` (the same file system, so renaming is atomic). */
  private tempFile(dataFile: string): string {
    return join(dirname(dataFile), `.tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
  }

  /**
   * The entry at `dataFile`, made with `produce` unless it is there and
   * `isValid` accepts it. While one process makes an entry, another that
   * wants it waits and takes the result instead of doing the work again.
   */
  async getOrMake(
    dataFile: string,
    meta: Omit<CacheEntryMeta, 'bytes' | 'createdAt'>,
    produce: (tempFile: string) => Promise<void>,
    options: { isValid?: (entry: CacheEntry) => Promise<boolean>; signal?: AbortSignal | undefined } = {},
  ): Promise<{ entry: CacheEntry; made: boolean }> {
    const usable = async (): Promise<CacheEntry | undefined> => {
      const entry = await this.lookup(dataFile);
      return entry && (!options.isValid || (await options.isValid(entry))) ? entry : undefined;
    };
    const found = await usable();
    if (found) return { entry: found, made: false };
    await this.prepare();
    const lock = `${dataFile}.lock`;
    await takeLock(lock, Number.POSITIVE_INFINITY, options.signal);
    try {
      // Made by another build while we waited for the lock.
      const madeMeanwhile = await usable();
      if (madeMeanwhile) return { entry: madeMeanwhile, made: false };
      return { entry: await this.put(dataFile, meta, produce), made: true };
    } finally {
      await rm(lock, { force: true });
    }
  }

  /**
   * Make an entry: `produce` writes the data to the temporary file it is
   * given; then the data and its description are renamed into place. If
   * `produce` throws (or the build is canceled) nothing is left behind.
   */
  async put(
    dataFile: string,
    meta: Omit<CacheEntryMeta, 'bytes' | 'createdAt'>,
    produce: (tempFile: string) => Promise<void>,
  ): Promise<CacheEntry> {
    await this.prepare();
    const temp = this.tempFile(dataFile);
    const tempMeta = `${temp}.json`;
    try {
      await produce(temp);
      const { size } = await stat(temp);
      const full: CacheEntryMeta = { ...meta, bytes: size, createdAt: new Date().toISOString() };
      await writeFile(tempMeta, `${JSON.stringify(full, null, 2)}\n`);
      // Remove an old description first: a reader never pairs new data with it.
      await rm(this.metaFile(dataFile), { force: true });
      await rename(temp, dataFile);
      await rename(tempMeta, this.metaFile(dataFile));
      return { ...full, file: dataFile };
    } catch (error) {
      // Asked before the temporary files, which hold the room, are removed.
      const full = await diskIsFull(dirname(dataFile), error);
      await rm(temp, { force: true });
      await rm(tempMeta, { force: true });
      throw full ? this.full(error) : error;
    }
  }

  /** The sentence for a cache whose disk is full. */
  private full(error: unknown): NetbootError {
    return new NetbootError(`The disk of the cache folder ${this.dir} is full; free some space and try again.`, {
      cause: error,
    });
  }
}
