/**
 * The compressors the in-process squashfs writer supports: gzip (zlib
 * streams, as squashfs's gzip is) and zstd, both from `node:zlib`. Data
 * and metadata blocks are compressed on libuv's thread pool (async zlib), so
 * a build uses the cores while the main thread lays out the next path.
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

  /** Compress a block (data, at most 128 KiB, or metadata) off the main thread. */
  async compress(data: Buffer): Promise<Buffer> {
    return this.name === 'gzip' ? deflate(data, this.zlibOptions()) : zstdPooled(data, this.level);
  }
}

/**
 * zstd through a few long-lived streams, each block a frame of its own
 * (ZSTD_e_end), instead of a new context per block: Node frees a zstd
 * context only when the garbage collector gets to its object, and a build
 * makes thousands of blocks (a context per block took the process to
 * ~280 MiB). The window is the block size (windowLog 17): the kernel gives
 * zstd a window of one block and refuses frames that ask for more (a stream
 * without a known size would ask for the level's, 2 MiB at level 6).
 */
class ZstdStream {
  private readonly stream: zlib.ZstdCompress;
  private failure: Error | undefined;

  constructor(level: number) {
    this.stream = zlib.createZstdCompress({
      params: { [zlib.constants.ZSTD_c_compressionLevel]: level, [zlib.constants.ZSTD_c_windowLog]: 17 },
    });
    this.stream.on('error', (error: Error) => {
      this.failure = error;
    });
  }

  async compress(data: Buffer): Promise<Buffer> {
    const chunks: Buffer[] = [];
    const onData = (chunk: Buffer): void => {
      chunks.push(chunk);
    };
    this.stream.on('data', onData);
    try {
      this.stream.write(data);
      await new Promise<void>((resolve) => this.stream.flush(zlib.constants.ZSTD_e_end, resolve));
    } finally {
      this.stream.off('data', onData);
    }
    if (this.failure) throw this.failure;
    return Buffer.concat(chunks);
  }

  close(): void {
    this.stream.close();
  }
}

/** Idle streams by level: at most as many as blocks were ever compressed at once. */
const idleStreams = new Map<number, ZstdStream[]>();

async function zstdPooled(data: Buffer, level: number): Promise<Buffer> {
  const idle = idleStreams.get(level) ?? [];
  idleStreams.set(level, idle);
  const stream = idle.pop() ?? new ZstdStream(level);
  try {
    const packed = await stream.compress(data);
    idle.push(stream);
    return packed;
  } catch (error) {
    stream.close();
    throw error;
  }
}
