/**
 * The facts the size map, `inspect` and the diff are made of (see
 * electron/shared/closure-map.ts), read from what we have already:
 *
 *  - a toplevel: its registration, from the two `nix-store` runs of closure.ts;
 *  - a boot folder: the registration in its `manifest` initrd, each path's
 *    squashfs size from the cpio headers of the other initrds (no data is
 *    read), the RAM and toplevel from its record, and its netboot.ipxe.
 *
 * No Nix call per question: one read, then pure functions.
 */
import { execa } from 'execa';
import { open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync, zstdDecompressSync } from 'node:zlib';
import { SCRIPT_NAME } from '../../shared/boot-folder.ts';
import type { ClosureFacts, ClosureNode } from '../../shared/closure-map.ts';
import { NetbootError } from '../base/errors.ts';
import { findTool } from '../base/tools.ts';
import { readBootFolderFiles } from '../media/read-folder.ts';
import { REGISTRATION, SQUASHES_DIR } from '../media/store.ts';
import { parseRegistration, queryClosure, RegistrationError, type RegisteredPath } from './closure.ts';
import { initrdFormat } from './inspect.ts';

const HEADER = 110;
/** What is read whole: a netboot.ipxe, and a compressed manifest (the registration of a huge closure is tens of MiB). */
const MAX_SCRIPT_BYTES = 1024 * 1024;
const MAX_MANIFEST_BYTES = 256 * 1024 * 1024;

function toNodes(paths: RegisteredPath[], packed?: Map<string, number>): ClosureNode[] {
  return paths.map((p) => ({
    path: p.path,
    narSize: p.narSize,
    packedBytes: packed?.get(p.path),
    references: p.references,
  }));
}

/** The closure of a toplevel, from the local Nix store (no packed sizes: nothing is packed). */
export async function factsOfToplevel(toplevel: string, signal?: AbortSignal): Promise<ClosureFacts> {
  const closure = await queryClosure(toplevel, signal);
  return { toplevel, nodes: toNodes(closure.paths) };
}

/** Reads `length` bytes at `offset` (fewer at the end). */
type ReadAt = (offset: number, length: number) => Promise<Buffer>;

interface CpioHeader {
  name: string;
  size: number;
  dataStart: number;
}

/**
 * Walk the entries of concatenated cpio newc archives (zero padding between
 * them), reading only headers and names; `onEntry` may read the data.
 */
async function walkCpio(readAt: ReadAt, total: number, onEntry: (entry: CpioHeader) => Promise<void>): Promise<void> {
  let offset = 0;
  while (offset < total) {
    const head = await readAt(offset, HEADER);
    if (head.length < HEADER) break;
    if (head[0] === 0) {
      // Zero padding between archives: skip to the next 4-byte boundary with data.
      let skip = 4;
      while (skip < head.length && head[skip] === 0) skip += 4;
      offset += skip;
      continue;
    }
    const magic = head.toString('ascii', 0, 6);
    if (magic !== '070701' && magic !== '070702') throw new Error(`not a cpio archive at byte ${offset}`);
    const field = (i: number): number => parseInt(head.toString('ascii', 6 + i * 8, 14 + i * 8), 16);
    const size = field(6);
    const nameSize = field(11);
    if (!(nameSize >= 1 && nameSize <= 4096) || !(size >= 0)) throw new Error(`not a cpio header at byte ${offset}`);
    const name = (await readAt(offset + HEADER, nameSize)).toString('utf8', 0, nameSize - 1);
    const dataStart = Math.ceil((offset + HEADER + nameSize) / 4) * 4;
    if (name !== 'TRAILER!!!') await onEntry({ name, size, dataStart });
    offset = Math.ceil((dataStart + size) / 4) * 4;
  }
}

/** The bytes of an initrd's first archive unpacked, for the small `manifest` (gzip, zstd, xz or none). */
async function unpacked(file: string): Promise<Buffer | undefined> {
  const bytes = await readFile(file);
  const format = initrdFormat(bytes.subarray(0, 6));
  if (format === 'cpio') return bytes;
  if (format === 'gzip') return gunzipSync(bytes);
  if (format === 'zstd') return zstdDecompressSync(bytes);
  const xz = format === 'xz' ? findTool('xz') : undefined;
  if (xz === undefined) return undefined;
  const { stdout } = await execa(xz, ['-dc'], { input: bytes, encoding: 'buffer', stripFinalNewline: false });
  return Buffer.from(stdout);
}

/** Where a squashfs sits in the nix-store initrd → its store path (store.ts's squashfsLocation, backwards). */
function storePathOf(location: string): string | undefined {
  const rest = location.replace(/^\/?/, '/');
  if (!rest.startsWith(`${SQUASHES_DIR}/`)) return undefined;
  const parts = rest.slice(SQUASHES_DIR.length + 1).split('/');
  if (parts.length !== 2 || parts[0]!.length !== 8) return undefined;
  return `/nix/store/${parts[0]}${parts[1]}`;
}

/** The initrd names netboot.ipxe loads, in order. */
function scriptInitrds(script: string): string[] {
  return script
    .split('\n')
    .map((line) => /^initrd (?:--name (\S+) \S+|(\S+))$/.exec(line))
    .flatMap((m) => (m ? [m[1] ?? m[2]!] : []));
}

/**
 * The closure a boot folder we made holds: registration, packed sizes, the
 * RAM and download it needs, its script. One sentence when it is not a boot
 * folder of ours.
 */
export async function factsOfBootFolder(dir: string): Promise<ClosureFacts> {
  const folder = await readBootFolderFiles(dir);
  if (!folder) {
    throw new NetbootError(
      `${dir} holds no boot folder Netboot Composer made; give one a build wrote (--dir), or a system (--toplevel).`,
    );
  }
  const names = new Set(folder.files.map((f) => f.name));
  // Only files the record lists (checked: plain files inside the folder, no link on the way).
  const scriptFile = folder.files.find((f) => f.name === SCRIPT_NAME);
  const script =
    scriptFile && scriptFile.bytes <= MAX_SCRIPT_BYTES
      ? await readFile(join(dir, SCRIPT_NAME), 'utf8').catch(() => '')
      : '';
  const initrds = scriptInitrds(script).filter((n) => names.has(n));
  const packed = new Map<string, number>();
  let registration: string | undefined;
  for (const name of initrds) {
    const file = join(dir, name);
    const handle = await open(file, 'r');
    try {
      const head = Buffer.alloc(6);
      await handle.read(head, 0, 6, 0);
      if (initrdFormat(head) === 'cpio') {
        const { size } = await handle.stat();
        const readAt: ReadAt = async (offset, length) => {
          const buffer = Buffer.alloc(length);
          const { bytesRead } = await handle.read(buffer, 0, length, offset);
          return buffer.subarray(0, bytesRead);
        };
        await walkCpio(readAt, size, async (entry) => {
          const path = storePathOf(entry.name);
          if (path !== undefined) packed.set(path, entry.size);
          if (entry.name.replace(/^\/?/, '/') === REGISTRATION) {
            registration = gunzipSync(await readAt(entry.dataStart, entry.size)).toString('utf8');
          }
        });
      } else if (
        registration === undefined &&
        name === 'manifest' &&
        (await handle.stat()).size <= MAX_MANIFEST_BYTES
      ) {
        const bytes = await unpacked(file);
        if (bytes) {
          await walkCpio(
            async (o, l) => bytes.subarray(o, o + l),
            bytes.length,
            async (entry) => {
              if (entry.name.replace(/^\/?/, '/') === REGISTRATION) {
                registration = gunzipSync(bytes.subarray(entry.dataStart, entry.dataStart + entry.size)).toString();
              }
            },
          );
        }
      }
    } catch (error) {
      if (error instanceof NetbootError) throw error;
      throw new NetbootError(`${file} is not an initrd Netboot Composer wrote; build the system again.`, {
        cause: error,
      });
    } finally {
      await handle.close();
    }
  }
  if (registration === undefined) {
    throw new NetbootError(`${dir} holds no registration of its store paths (manifest); build the system again.`);
  }
  let paths: RegisteredPath[];
  try {
    paths = parseRegistration(registration);
  } catch (error) {
    if (!(error instanceof RegistrationError)) throw error;
    throw new NetbootError(`The registration in ${dir}'s manifest ${error.problem}; build the system again.`);
  }
  const toplevel = folder.info.toplevel ?? topOf(paths);
  const downloadBytes = folder.files.filter((f) => f.name !== SCRIPT_NAME).reduce((s, f) => s + f.bytes, 0);
  return { toplevel, nodes: toNodes(paths, packed), ramBytes: folder.info.ramBytes, downloadBytes, script };
}

/** The path nothing else in the closure refers to (the toplevel), for a folder whose record names none. */
function topOf(paths: RegisteredPath[]): string {
  const referred = new Set(paths.flatMap((p) => p.references.filter((r) => r !== p.path)));
  return paths.find((p) => !referred.has(p.path))?.path ?? paths[0]?.path ?? '';
}
