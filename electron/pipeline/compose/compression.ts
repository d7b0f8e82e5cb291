/**
 * Compressor settings written `NAME[:LEVEL]`, for the squashfs images and
 * for the initrds, with the levels each tool accepts.
 */
import {
  DEFAULT_INITRD_COMPRESSION,
  DEFAULT_SQUASHFS_COMPRESSION,
  INITRD_LEVELS,
  SQUASHFS_LEVELS,
  type LevelRange,
} from '../../shared/compression.ts';
import {
  INITRD_COMPRESSORS,
  SQUASHFS_COMPRESSORS,
  type InitrdCompression,
  type SquashfsCompression,
} from '../../shared/types.ts';
import { NetbootError } from '../base/errors.ts';

export { DEFAULT_INITRD_COMPRESSION, DEFAULT_SQUASHFS_COMPRESSION };

function parse<Name extends string>(
  text: string,
  names: readonly Name[],
  levels: Record<Name, LevelRange | undefined>,
  what: string,
): { name: Name; level?: number } {
  const match = /^([a-z0-9]+)(?::(.*))?$/.exec(text.trim().toLowerCase());
  const name = match?.[1] as Name | undefined;
  if (!match || name === undefined || !names.includes(name)) {
    throw new NetbootError(
      `"${text}" is not a ${what} compressor: use one of ${names.join(', ')}, optionally with :LEVEL.`,
    );
  }
  const levelText = match[2];
  if (levelText === undefined) return { name };
  const range = levels[name];
  if (range === undefined) {
    throw new NetbootError(`${name} takes no level for ${what}s: write just "${name}".`);
  }
  const level = Number(levelText);
  if (!/^\d+$/.test(levelText) || level < range.min || level > range.max) {
    throw new NetbootError(
      `"${levelText}" is not a ${name} level: use a whole number from ${range.min} to ${range.max}.`,
    );
  }
  return { name, level };
}

/** Parse `--squashfs-compression`, e.g. "zstd:6", "xz", "gzip:9". */
export function parseSquashfsCompression(text: string): SquashfsCompression {
  return parse(text, SQUASHFS_COMPRESSORS, SQUASHFS_LEVELS, 'squashfs');
}

/** Parse `--initrd-compression`, e.g. "none", "zstd:19", "gzip". */
export function parseInitrdCompression(text: string): InitrdCompression {
  return parse(text, INITRD_COMPRESSORS, INITRD_LEVELS, 'initrd');
}

/** The canonical text of a setting: what the user would write, levels included. */
export function formatCompression(compression: { name: string; level?: number | undefined }): string {
  return compression.level === undefined ? compression.name : `${compression.name}:${compression.level}`;
}

/** mksquashfs's arguments for a compressor setting. */
export function mksquashfsCompressionArgs(compression: SquashfsCompression): string[] {
  const args = ['-comp', compression.name];
  if (compression.level !== undefined) args.push('-Xcompression-level', String(compression.level));
  return args;
}
