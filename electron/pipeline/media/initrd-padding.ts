/**
 * Initrds end on a 4-byte boundary. The kernel reads the initrds as one
 * stream; an uncompressed archive that starts off a boundary is garbage to
 * it. Builds pad what they write, exports pad what they copy (folders made
 * before the rule), and a test boot names the misaligned one when it fails.
 */
import { chmod, copyFile, open, stat } from 'node:fs/promises';

/**
 * Every initrd file ends on this boundary. The kernel skips zero bytes
 * between archives, but reads an uncompressed archive that starts off a
 * 4-byte boundary (counted from the start of all initrds) as garbage; the
 * kernel's EFI stub joins the `initrd=` files with no padding of its own.
 */
export const INITRD_ALIGNMENT = 4;

/** The zero bytes that bring a file of `bytes` to the next {@link INITRD_ALIGNMENT} boundary. */
export function alignmentPadding(bytes: number): number {
  return (INITRD_ALIGNMENT - (bytes % INITRD_ALIGNMENT)) % INITRD_ALIGNMENT;
}

/**
 * Where the first initrd that a loader without padding would place off a
 * 4-byte boundary starts, given the initrds' sizes in the order they are
 * loaded; undefined when each one starts on a boundary. Pure: tested on its own.
 */
export function firstMisalignedStart(sizes: readonly number[]): number | undefined {
  let offset = 0;
  for (const size of sizes.slice(0, -1)) {
    offset += size;
    if (offset % INITRD_ALIGNMENT !== 0) return offset;
  }
  return undefined;
}

/** Append zero bytes to `file` up to the next 4-byte boundary; returns how many. */
export async function padInitrd(file: string): Promise<number> {
  const { size, mode } = await stat(file);
  const padding = alignmentPadding(size);
  if (padding === 0) return 0;
  // A copy of a store file is read-only: writable for the append, then as it was.
  if ((mode & 0o200) === 0) await chmod(file, mode | 0o200);
  const handle = await open(file, 'r+');
  try {
    await handle.write(new Uint8Array(padding), 0, padding, size);
  } finally {
    await handle.close();
  }
  if ((mode & 0o200) === 0) await chmod(file, mode & 0o7777);
  return padding;
}

/** Copy the initrd `from` to `to`, zero-padded to a 4-byte boundary (see {@link INITRD_ALIGNMENT}). */
export async function copyInitrd(from: string, to: string): Promise<void> {
  await copyFile(from, to);
  await padInitrd(to);
}
