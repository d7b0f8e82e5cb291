/**
 * A streaming writer for cpio "newc" archives, the format Linux unpacks as an
 * initramfs. Owners, times and inode numbers are fixed so the same entries
 * always give the same bytes. File contents are streamed from disk, never
 * held in memory.
 */
import { createReadStream } from 'node:fs';
import { NetbootError } from '../base/errors.ts';

const MAGIC = '070701';
const HEADER_SIZE = 110;
/** newc stores sizes in 32 bits. */
export const MAX_CPIO_FILE_SIZE = 0xffffffff;

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;

export type CpioEntry =
  | { kind: 'dir'; name: string; mode?: number }
  | { kind: 'file'; name: string; mode?: number; data: Uint8Array }
  | { kind: 'file'; name: string; mode?: number; path: string; size: number }
  | { kind: 'symlink'; name: string; target: string };

/** A piece of an archive: bytes, or a span of a file on disk to stream. */
export type CpioPart = Uint8Array | { path: string; size: number };

export interface CpioOptions {
  /** Modification time of every entry (seconds). Nix's store uses 1. */
  mtime?: number;
  /** Inode number of the first entry; the rest count up. */
  firstInode?: number;
}

function hex8(value: number): string {
  return value.toString(16).padStart(8, '0');
}

function padding(length: number): Uint8Array {
  return new Uint8Array((4 - (length % 4)) % 4);
}

/** The header and name of one entry, padded to 4 bytes. */
export function cpioHeader(fields: {
  name: string;
  mode: number;
  size: number;
  ino: number;
  nlink: number;
  mtime: number;
}): Uint8Array {
  if (fields.size > MAX_CPIO_FILE_SIZE) {
    throw new NetbootError(
      `${fields.name} is ${fields.size} bytes, more than the 4 GiB an initrd (cpio newc) entry can hold.`,
    );
  }
  const name = Buffer.from(`${fields.name}\0`, 'utf8');
  const header = Buffer.from(
    MAGIC +
      hex8(fields.ino) +
      hex8(fields.mode) +
      hex8(0) + // uid
      hex8(0) + // gid
      hex8(fields.nlink) +
      hex8(fields.mtime) +
      hex8(fields.size) +
      hex8(0) + // devmajor
      hex8(0) + // devminor
      hex8(0) + // rdevmajor
      hex8(0) + // rdevminor
      hex8(name.length) +
      hex8(0), // check
    'ascii',
  );
  return Buffer.concat([header, name, padding(HEADER_SIZE + name.length)]);
}

/** The end-of-archive entry. */
const CPIO_TRAILER: Uint8Array = cpioHeader({
  name: 'TRAILER!!!',
  mode: 0,
  size: 0,
  ino: 0,
  nlink: 1,
  mtime: 0,
});

/**
 * The parts of a complete archive (trailer included) holding `entries` in
 * the order given. Names are relative (`nix-store-squashes/squashes`); give
 * a folder before what it holds.
 */
export function* cpioParts(entries: Iterable<CpioEntry>, options: CpioOptions = {}): Generator<CpioPart> {
  const mtime = options.mtime ?? 1;
  let ino = options.firstInode ?? 1;
  for (const entry of entries) {
    const name = entry.name.replace(/^\/+/, '');
    if (name.length === 0) throw new NetbootError('A cpio entry needs a name.');
    if (entry.kind === 'dir') {
      yield cpioHeader({ name, mode: S_IFDIR | (entry.mode ?? 0o755), size: 0, ino: ino++, nlink: 2, mtime });
    } else if (entry.kind === 'symlink') {
      const target = Buffer.from(entry.target, 'utf8');
      yield cpioHeader({ name, mode: S_IFLNK | 0o777, size: target.length, ino: ino++, nlink: 1, mtime });
      yield target;
      yield padding(target.length);
    } else {
      const size = 'data' in entry ? entry.data.length : entry.size;
      yield cpioHeader({ name, mode: S_IFREG | (entry.mode ?? 0o444), size, ino: ino++, nlink: 1, mtime });
      yield 'data' in entry ? entry.data : { path: entry.path, size };
      yield padding(size);
    }
  }
  yield CPIO_TRAILER;
}

/** The size in bytes of the archive made of `parts`. */
export function partsSize(parts: Iterable<CpioPart>): number {
  let size = 0;
  for (const part of parts) size += part instanceof Uint8Array ? part.length : part.size;
  return size;
}

/**
 * Stream `parts` as bytes: a file part is read from disk, and must still have
 * the size it was given (a file that changed under us is an error, not a
 * corrupt archive).
 */
export async function* cpioBytes(parts: Iterable<CpioPart>): AsyncGenerator<Uint8Array> {
  for (const part of parts) {
    if (part instanceof Uint8Array) {
      if (part.length > 0) yield part;
      continue;
    }
    let read = 0;
    for await (const chunk of createReadStream(part.path, { highWaterMark: 1024 * 1024 })) {
      const bytes = chunk as Buffer;
      read += bytes.length;
      if (read > part.size) break;
      yield bytes;
    }
    if (read !== part.size) {
      throw new NetbootError(`${part.path} changed size while it was being written into an initrd; build again.`);
    }
  }
}
