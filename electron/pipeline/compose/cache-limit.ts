/**
 * How big the cache may grow, and which entries go when it is over: sizes as
 * people write them, the configured limit, and the least-recently-used plan.
 * Pure apart from reading the environment.
 */
import { NetbootError } from '../base/errors.ts';

/** The size limit when none is set: a few full systems' worth of squashfs images. */
export const DEFAULT_CACHE_LIMIT_BYTES = 5 * 1024 ** 3;

const SIZE_UNITS: { [unit: string]: number } = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/** Parse a size as people write it: `5G`, `500M`, `1.5GiB`, `10737418240`. Units are powers of 1024. */
export function parseSize(text: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*$/i.exec(text);
  const unit = SIZE_UNITS[(match?.[2] ?? '').toLowerCase()];
  if (!match || unit === undefined) {
    throw new NetbootError(`"${text}" is not a size: write a number with an optional unit, like 5G, 500M or 2048K.`);
  }
  return Math.floor(Number(match[1]) * unit);
}

/** The cache's size limit: NETBOOT_COMPOSER_CACHE_LIMIT (e.g. `10G`) if set, else {@link DEFAULT_CACHE_LIMIT_BYTES}. */
export function defaultCacheLimit(): number {
  const fromEnv = process.env.NETBOOT_COMPOSER_CACHE_LIMIT;
  if (fromEnv === undefined || fromEnv === '') return DEFAULT_CACHE_LIMIT_BYTES;
  try {
    return parseSize(fromEnv);
  } catch (error) {
    throw new NetbootError(`NETBOOT_COMPOSER_CACHE_LIMIT: ${(error as Error).message}`);
  }
}

/** One evictable entry: its data file, the bytes it holds on disk (description included), its last use. */
export interface EvictionCandidate {
  file: string;
  bytes: number;
  lastUsedMs: number;
}

/**
 * Which entries to remove so that the cache holds at most `maxBytes`: the
 * least recently used first, never one in `keep`. Pure: tested on its own.
 * When what must be kept is itself over the limit, the result leaves the
 * cache above it rather than break a running build.
 */
export function planEviction(
  entries: readonly EvictionCandidate[],
  maxBytes: number,
  keep: ReadonlySet<string>,
): EvictionCandidate[] {
  let total = entries.reduce((sum, entry) => sum + entry.bytes, 0);
  const evict: EvictionCandidate[] = [];
  const oldestFirst = [...entries].sort((a, b) => a.lastUsedMs - b.lastUsedMs || a.file.localeCompare(b.file));
  for (const entry of oldestFirst) {
    if (total <= maxBytes) break;
    if (keep.has(entry.file)) continue;
    evict.push(entry);
    total -= entry.bytes;
  }
  return evict;
}
