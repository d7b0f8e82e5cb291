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
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, readdir, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { NetbootError } from './errors.ts';
import { whyNotWritable } from './fsutil.ts';

const FORMAT = 'v1';
export type CacheKind = 'squashfs' | 'segments';

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

/** The cache folder used when none is given: `$XDG_CACHE_HOME/netboot-composer`. */
export function defaultCacheDir(): string {
  const fromEnv = process.env.NETBOOT_COMPOSER_CACHE;
  if (fromEnv) return fromEnv;
  const xdg = process.env.XDG_CACHE_HOME;
  return join(xdg && xdg.startsWith('/') ? xdg : join(homedir(), '.cache'), 'netboot-composer');
}

/** Where machine facts are kept between runs (the KVM probe): `$XDG_STATE_HOME/netboot-composer`. */
export function defaultStateDir(): string {
  const xdg = process.env.XDG_STATE_HOME;
  return join(xdg && xdg.startsWith('/') ? xdg : join(homedir(), '.local', 'state'), 'netboot-composer');
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

/** Temporary files older than this are leftovers of a crash, not another build's work. */
const STALE_TEMP_MS = 24 * 60 * 60 * 1000;

export class Cache {
  readonly dir: string;
  private prepared = false;

  constructor(dir: string) {
    this.dir = dir;
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
    for (const kind of ['squashfs', 'segments'] as const) {
      try {
        await mkdir(this.folder(kind), { recursive: true });
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

  private async removeStaleTemps(): Promise<void> {
    const now = Date.now();
    for (const kind of ['squashfs', 'segments'] as const) {
      const folder = this.folder(kind);
      for (const name of await readdir(folder)) {
        if (!name.startsWith('.tmp-')) continue;
        const file = join(folder, name);
        const info = await stat(file).catch(() => undefined);
        if (info && now - info.mtimeMs > STALE_TEMP_MS) await rm(file, { force: true });
      }
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
    await mkdir(dirname(file), { recursive: true });
    const temp = this.tempFile(file);
    await writeFile(temp, answer);
    await rename(temp, file);
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
      await rm(temp, { force: true });
      await rm(tempMeta, { force: true });
      throw error;
    }
  }
}
