/**
 * The compressors the in-process squashfs writer supports: gzip (zlib
 * streams, as squashfs's gzip is) and zstd, both from `node:zlib`. Data
 * blocks are compressed on libuv's thread pool (async zlib), so a build uses
 * the cores while the main thread lays out the next path; metadata blocks
 * (8 KiB, a few per path) are compressed in place.
 */
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { SQUASHFS_LEVELS } from '../../shared/compression.ts';
import type { SquashfsCompression } from '../../shared/types.ts';

/** The superblock's compression ids (squashfs_fs.h). */
const COMPRESSION_ID = { gzip: 1, zstd: 6 } as const;

export type BuiltinCompressorName = keyof typeof COMPRESSION_ID;

/** True when the in-process writer can make images with this compressor. */
export function builtinSupports(compression: SquashfsCompression): boolean {
  return compression.name === 'gzip' || compression.name === 'zstd';
}

/** What changes the bytes the writer makes: the compression libraries Node carries. */
export function builtinLibraries(): string {
  return `zlib ${process.versions.zlib ?? '?'} zstd ${process.versions.zstd ?? '?'}`;
}

const deflate = promisify(zlib.deflate);
const zstdCompress = promisify(zlib.zstdCompress);

export class SquashfsCompressor {
  readonly id: number;
  readonly level: number;
  private readonly name: BuiltinCompressorName;

  constructor(compression: SquashfsCompression) {
    if (!builtinSupports(compression)) throw new Error(`the built-in squashfs writer has no ${compression.name}`);
    this.name = compression.name as BuiltinCompressorName;
    this.id = COMPRESSION_ID[this.name];
    this.level = compression.level ?? SQUASHFS_LEVELS[this.name]!.default;
  }

  /**
   * The compressor options mksquashfs stores after the superblock: written
   * only when they differ from the compressor's defaults (gzip: level,
   * window, strategies; zstd: level), else undefined.
   */
  options(): Buffer | undefined {
    if (this.level === SQUASHFS_LEVELS[this.name]!.default) return undefined;
    if (this.name === 'gzip') {
      const options = Buffer.alloc(8);
      options.writeUInt32LE(this.level, 0);
      options.writeUInt16LE(15, 4);
      options.writeUInt16LE(0, 6);
      return options;
    }
    const options = Buffer.alloc(4);
    options.writeUInt32LE(this.level, 0);
    return options;
  }

  private zlibOptions(): zlib.ZlibOptions {
    return { level: this.level, windowBits: 15, memLevel: 8 };
  }

  /**
   * The size is told in advance: the frame then says its size and needs a
   * window no bigger than the block. Without it (async zlib streams the
   * input) the frame asks for the level's window (2 MiB at level 6), and the
   * kernel, which gives zstd a window of one block, refuses to read it.
   */
  private zstdOptions(size: number): zlib.ZstdOptions {
    return { pledgedSrcSize: size, params: { [zlib.constants.ZSTD_c_compressionLevel]: this.level } };
  }

  /** Compress a data block off the main thread. */
  async compress(data: Buffer): Promise<Buffer> {
    return this.name === 'gzip' ? deflate(data, this.zlibOptions()) : zstdCompress(data, this.zstdOptions(data.length));
  }

  /** Compress a metadata block (at most 8 KiB) now. */
  compressSync(data: Buffer): Buffer {
    return this.name === 'gzip'
      ? zlib.deflateSync(data, this.zlibOptions())
      : zlib.zstdCompressSync(data, this.zstdOptions(data.length));
  }
}
