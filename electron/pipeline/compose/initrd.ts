/**
 * The two initrds the pipeline makes, as the seed's stage 1 expects them:
 *
 *  - `nix-store`: the squashfs files, one complete cpio archive (segment) per
 *    store path, concatenated. Linux unpacks concatenated archives, each
 *    compressed or not, so a segment made once is reused as it is.
 *  - `manifest`: `/nix-store-squashes/squashes` and `registration.gz`.
 */
import { execa } from 'execa';
import { createWriteStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { Readable, type Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { constants, createGzip, createZstdCompress, gzipSync } from 'node:zlib';
import type { InitrdCompression } from '../../shared/types.ts';
import { CanceledError, NetbootError } from '../base/errors.ts';
import { requireTool } from '../base/tools.ts';
import { REGISTRATION, SQUASHES_DIR, SQUASHES_LIST, squashfsLocation } from '../media/store.ts';
import { cpioBytes, cpioParts, type CpioEntry, type CpioPart } from './cpio.ts';

/** The cpio entries of the `nix-store` segment for one store path. */
function segmentEntries(storePath: string, squashfsFile: string, size: number): CpioEntry[] {
  const location = squashfsLocation(storePath);
  return [
    { kind: 'dir', name: SQUASHES_DIR, mode: 0o755 },
    { kind: 'dir', name: location.slice(0, location.lastIndexOf('/')), mode: 0o755 },
    { kind: 'file', name: location, mode: 0o444, path: squashfsFile, size },
  ];
}

/** The parts of the `nix-store` segment for one store path: a whole archive. */
export function segmentParts(storePath: string, squashfsFile: string, size: number): CpioPart[] {
  return [...cpioParts(segmentEntries(storePath, squashfsFile, size))];
}

/** The registration as stage 1 reads it: gzip, with no name or time in the header. */
export function gzipRegistration(registration: string): Uint8Array {
  return gzipSync(Buffer.from(registration, 'utf8'), { level: 9 });
}

/** The cpio entries of the `manifest` initrd. */
export function manifestEntries(squashes: string, registrationGz: Uint8Array): CpioEntry[] {
  return [
    { kind: 'dir', name: SQUASHES_DIR, mode: 0o755 },
    { kind: 'file', name: REGISTRATION, mode: 0o444, data: registrationGz },
    { kind: 'file', name: SQUASHES_LIST, mode: 0o444, data: Buffer.from(squashes, 'utf8') },
  ];
}

/** File extension of a compressed segment in the cache. */
export function compressionExtension(compression: InitrdCompression): string {
  return { none: 'cpio', gzip: 'cpio.gz', zstd: 'cpio.zst', xz: 'cpio.xz' }[compression.name];
}

/** A stream that compresses as the kernel's initramfs unpacker expects. */
function compressor(compression: InitrdCompression): Transform | undefined {
  switch (compression.name) {
    case 'none':
      return undefined;
    case 'gzip':
      return createGzip({ level: compression.level ?? 9 });
    case 'zstd':
      return createZstdCompress({
        params: {
          [constants.ZSTD_c_compressionLevel]: compression.level ?? 19,
          [constants.ZSTD_c_checksumFlag]: 1,
        },
      });
    case 'xz': {
      // The kernel's xz decoder checks CRC32 only, not xz's default CRC64.
      const level = compression.level ?? 6;
      return execa(requireTool('xz'), ['--check=crc32', `-${level}`, '-T1', '-c'], {
        stdin: 'pipe',
        stdout: 'pipe',
      }).duplex() as unknown as Transform;
    }
  }
}

/**
 * Write the archive made of `parts` to `file`, compressed with `compression`.
 * Several calls' outputs, concatenated, form a valid initrd.
 */
export async function writeArchive(
  parts: Iterable<CpioPart>,
  compression: InitrdCompression,
  file: string,
  signal?: AbortSignal,
): Promise<void> {
  if (compression.name === 'none') return joinParts(parts, file, signal);
  const source = Readable.from(cpioBytes(parts));
  const sink = createWriteStream(file);
  const compress = compressor(compression);
  try {
    if (compress) await pipeline(source, compress, sink, { signal });
    else await pipeline(source, sink, { signal });
  } catch (error) {
    if (signal?.aborted) throw new CanceledError();
    throw error;
  }
}

/** Bytes gathered before each write: few, large writes and reads, no stream machinery. */
const COPY_BUFFER_BYTES = 8 * 1024 * 1024;

/**
 * Write `parts` to `file` as they are, through one reused buffer: the
 * `nix-store` initrd is hundreds of MB of cached files joined, and Node's
 * streams cost several times the copy itself here. `parts` may arrive over
 * time (the build joins each path's archive as soon as it is packed).
 */
export async function joinParts(
  parts: Iterable<CpioPart> | AsyncIterable<CpioPart>,
  file: string,
  signal?: AbortSignal,
  bufferBytes = COPY_BUFFER_BYTES,
): Promise<void> {
  const out = await open(file, 'w');
  const buffer = Buffer.allocUnsafe(bufferBytes);
  let filled = 0;
  const flush = async (): Promise<void> => {
    let written = 0;
    while (written < filled) written += (await out.write(buffer, written, filled - written)).bytesWritten;
    filled = 0;
  };
  try {
    for await (const part of parts) {
      if (signal?.aborted) throw new CanceledError();
      if (part instanceof Uint8Array) {
        if (filled + part.length > buffer.length) await flush();
        if (part.length > buffer.length) await out.write(part);
        else {
          buffer.set(part, filled);
          filled += part.length;
        }
        continue;
      }
      const input = await open(part.path, 'r');
      try {
        let read = 0;
        while (read < part.size) {
          if (filled === buffer.length) await flush();
          const want = Math.min(buffer.length - filled, part.size - read);
          const { bytesRead } = await input.read(buffer, filled, want, read);
          if (bytesRead === 0) break;
          filled += bytesRead;
          read += bytesRead;
        }
        // Shorter than it was when listed, or longer: it changed under us.
        if (read !== part.size || (await input.stat()).size !== part.size) {
          throw new NetbootError(`${part.path} changed size while it was being written into an initrd; build again.`);
        }
      } finally {
        await input.close();
      }
      if (signal?.aborted) throw new CanceledError();
    }
    await flush();
  } finally {
    await out.close();
  }
}
