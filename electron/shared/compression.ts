/**
 * The levels each compressor takes: the CLI's parser, main's request schema
 * and the app's Options step all read these.
 */
import type { InitrdCompression, SquashfsCompression } from './types.ts';

export interface LevelRange {
  min: number;
  max: number;
  /** What the tool uses when no level is given. */
  default: number;
}

/** Levels mksquashfs 4.5 accepts per compressor; undefined: it takes none. */
export const SQUASHFS_LEVELS: Record<SquashfsCompression['name'], LevelRange | undefined> = {
  gzip: { min: 1, max: 9, default: 9 },
  zstd: { min: 1, max: 22, default: 15 },
  lzo: { min: 1, max: 9, default: 8 },
  xz: undefined,
  lz4: undefined,
};

export const INITRD_LEVELS: Record<InitrdCompression['name'], LevelRange | undefined> = {
  none: undefined,
  gzip: { min: 1, max: 9, default: 6 },
  zstd: { min: 1, max: 19, default: 3 },
  xz: { min: 0, max: 9, default: 6 },
};

/** What a build uses when the user does not say. */
export const DEFAULT_SQUASHFS_COMPRESSION: SquashfsCompression = { name: 'zstd', level: 6 };
export const DEFAULT_INITRD_COMPRESSION: InitrdCompression = { name: 'none' };

/** True when `level` is one `name` takes (or is absent). */
export function levelFits(
  levels: Record<string, LevelRange | undefined>,
  name: string,
  level: number | undefined,
): boolean {
  if (level === undefined) return true;
  const range = levels[name];
  return range !== undefined && Number.isInteger(level) && level >= range.min && level <= range.max;
}
