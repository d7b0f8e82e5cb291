/**
 * The split of the store into several initrd files (`nix-store`,
 * `nix-store-1`, ...), each a concatenation of whole per-path segments.
 *
 * Stable: a path's file is a function of its package name alone (the store
 * path's name without its hash and version, as `builtins.parseDrvName` reads
 * it: `hello` for `/nix/store/HASH-hello-2.12`, `nixos-system-myhost` for the
 * toplevel), hashed, its top bits, and of the number of files, a power of two
 * chosen from the closure's size. A changed path has a new hash but the same
 * name, so it lands in the file its old version was in: a one-path change
 * rewrites one file, not the whole store (by hash alone it would rewrite
 * two, the old version's file and the new one's). The number of files
 * changes only when the closure crosses a power of two of the target, and
 * then every file is new. No file passes {@link MAX_STORE_FILE_BYTES}: a
 * FAT32 file (a USB stick) holds less than 4 GiB; should many big paths
 * share a name and make a file that big, the split goes by whole store path.
 */
import { createHash } from 'node:crypto';

const MiB = 1024 * 1024;

/** NAR bytes per store file the split aims at: 15-30 MB of squashfs each, so a rebuild rewrites little. */
export const DEFAULT_STORE_FILE_TARGET = 64 * MiB;
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

/** The package name of a store path: its name up to the first `-` not followed by a letter (Nix's parseDrvName). */
export function packageName(storePath: string): string {
  const name = storePath.slice(storePath.lastIndexOf('/') + 1).replace(/^[0-9a-z]{32}-/, '');
  const version = /-[^A-Za-z]/.exec(name);
  return version ? name.slice(0, version.index) : name;
}

/** A key's place in [0, 2^32): the first 4 bytes of its SHA-256. */
function place(key: string): number {
  return createHash('sha256').update(key).digest().readUInt32BE(0);
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
  return splitBy(paths, target, (p) => place(packageName(p)), false) ?? splitBy(paths, target, (p) => place(p), true)!;
}

/** The split by `placeOf` each path; undefined when a file of several paths would pass the limit and `always` is false. */
function splitBy(
  paths: readonly { path: string; narSize: number }[],
  target: number,
  placeOf: (path: string) => number,
  always: boolean,
): StoreSplit | undefined {
  const total = paths.reduce((sum, p) => sum + p.narSize, 0);
  const places = paths.map((p) => placeOf(p.path));
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
    if (fits) return { files, fileOf };
    if (files >= MAX_FILES) return always ? { files, fileOf } : undefined;
    bits++;
  }
}
