/**
 * The split of the store into several initrd files (`nix-store`,
 * `nix-store-1`, ...), each a concatenation of whole per-path segments.
 *
 * Stable: a path's file is a function of its store path alone (a hash of
 * it, its top bits) and of the number of files, and the number of files is
 * a power of two chosen from the closure's size. A one-path change thus
 * rewrites the one file that holds the path (two when the new path's
 * hash falls elsewhere), not the whole store; the number of files changes
 * only when the closure crosses a power of two of the target, and then
 * every file is new. No file passes {@link MAX_STORE_FILE_BYTES}: a FAT32
 * file (a USB stick) holds less than 4 GiB.
 */
import { createHash } from 'node:crypto';

const MiB = 1024 * 1024;

/** NAR bytes per store file the split aims at: a few tens of MB of squashfs each. */
export const DEFAULT_STORE_FILE_TARGET = 128 * MiB;
/** No store file holds more NAR than this (a squashfs is never much bigger than its NAR). */
export const MAX_STORE_FILE_BYTES = 3.5 * 1024 * MiB;
/** At most this many files while the target can be kept; each costs an `initrd=` word on the kernel's command line. */
const MAX_FILES_AT_TARGET = 32;
/** At most this many files at all: beyond, a file may pass the limit (a closure of over 200 GiB). */
const MAX_FILES = 256;

/** The store file target from NETBOOT_COMPOSER_STORE_FILE_TARGET (bytes of NAR, for tests and the bench), or the default. */
export function storeFileTarget(env: NodeJS.ProcessEnv = process.env): number {
  const value = Number(env.NETBOOT_COMPOSER_STORE_FILE_TARGET?.trim());
  return Number.isSafeInteger(value) && value > 0 ? value : DEFAULT_STORE_FILE_TARGET;
}

/** A store path's place in [0, 2^32): the first 4 bytes of a hash of its path. */
function place(storePath: string): number {
  return createHash('sha256').update(storePath).digest().readUInt32BE(0);
}

export interface StoreSplit {
  /** How many files the split has room for (a power of two); some may hold no path. */
  files: number;
  /** The file of each path, in the order given. */
  fileOf: number[];
}

/** The file of each of `paths` (with their NAR sizes), aiming at `target` NAR bytes per file. */
export function splitStore(
  paths: readonly { path: string; narSize: number }[],
  target: number = DEFAULT_STORE_FILE_TARGET,
): StoreSplit {
  const total = paths.reduce((sum, p) => sum + p.narSize, 0);
  const places = paths.map((p) => place(p.path));
  let bits = 0;
  while (2 ** bits < Math.min(total / target, MAX_FILES_AT_TARGET, paths.length)) bits++;
  for (;;) {
    const files = 2 ** bits;
    const fileOf = places.map((p) => (bits === 0 ? 0 : Math.floor(p / 2 ** (32 - bits))));
    const sizes = new Array<number>(files).fill(0);
    const counts = new Array<number>(files).fill(0);
    paths.forEach((p, i) => {
      sizes[fileOf[i]!]! += p.narSize;
      counts[fileOf[i]!]!++;
    });
    // A file of one path too big is that path's own; more files would not help it.
    const fits = sizes.every((size, file) => size <= MAX_STORE_FILE_BYTES || counts[file] === 1);
    if (files >= MAX_FILES || fits) return { files, fileOf };
    bits++;
  }
}
