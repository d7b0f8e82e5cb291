/**
 * Does a system's own stage 1 know how to load our initrds? A NixOS system
 * built without the netboot module packs fine and then fails on the metal,
 * the most common mistake with --toplevel. Its initrd is searched for the
 * folder the module's stage 1 reads, `/nix-store-squashes`.
 */
import { execa } from 'execa';
import { createReadStream } from 'node:fs';
import { Readable, type Transform } from 'node:stream';
import { createGunzip, createZstdDecompress } from 'node:zlib';
import { findTool } from '../base/tools.ts';
import { SQUASHES_DIR } from '../media/store.ts';

export type StageOneVerdict = 'loads-squashes' | 'no-squashes' | 'unknown';

const NEEDLE = Buffer.from(SQUASHES_DIR.slice(1), 'utf8');

/** How an initrd (or one of its concatenated parts) begins. Pure: tested on its own. */
export function initrdFormat(head: Uint8Array): 'cpio' | 'gzip' | 'zstd' | 'xz' | 'unknown' {
  const b = Buffer.from(head.subarray(0, 6));
  if (b.toString('ascii', 0, 6) === '070701' || b.toString('ascii', 0, 6) === '070702') return 'cpio';
  if (b[0] === 0x1f && b[1] === 0x8b) return 'gzip';
  if (b.readUInt32LE(0) === 0xfd2fb528) return 'zstd';
  if (b.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) return 'xz';
  return 'unknown';
}

/** True when `needle` occurs in the bytes `stream` yields, across chunk boundaries. */
async function streamContains(stream: AsyncIterable<Buffer>, needle: Buffer): Promise<boolean> {
  let tail = Buffer.alloc(0);
  for await (const chunk of stream) {
    const window = Buffer.concat([tail, chunk]);
    if (window.includes(needle)) return true;
    tail = window.subarray(Math.max(0, window.length - needle.length + 1));
  }
  return false;
}

function decompressor(format: 'gzip' | 'zstd' | 'xz'): Transform | undefined {
  if (format === 'gzip') return createGunzip();
  if (format === 'zstd') return createZstdDecompress();
  const xz = findTool('xz');
  return xz ? (execa(xz, ['-dc'], { stdin: 'pipe', stdout: 'pipe' }).duplex() as unknown as Transform) : undefined;
}

/**
 * Whether the initrd at `file` holds the netboot module's stage 1. Only its
 * first archive is read (NixOS puts stage 1 there); "unknown" when it is in a
 * format this cannot read.
 */
export async function inspectStageOne(file: string): Promise<StageOneVerdict> {
  const head = await new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    createReadStream(file, { start: 0, end: 5 })
      .on('data', (c) => chunks.push(c as Buffer))
      .on('end', () => resolve(Buffer.concat(chunks)))
      .on('error', reject);
  });
  const format = initrdFormat(head);
  if (format === 'unknown') return 'unknown';
  const raw = createReadStream(file, { highWaterMark: 1024 * 1024 });
  let bytes: AsyncIterable<Buffer> = raw;
  if (format !== 'cpio') {
    const decompress = decompressor(format);
    if (!decompress) return 'unknown';
    // Trailing data after the first compressed stream (more archives) is not an error here.
    decompress.on('error', () => decompress.end());
    bytes = Readable.from(raw.pipe(decompress));
  }
  try {
    return (await streamContains(bytes, NEEDLE)) ? 'loads-squashes' : 'no-squashes';
  } catch {
    return 'unknown';
  } finally {
    raw.destroy();
  }
}
