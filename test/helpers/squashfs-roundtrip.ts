/**
 * The in-process squashfs writer against mksquashfs: trees made on disk from
 * a description (generated or written out), both images of each, and what
 * unsquashfs makes of them: `-lls` listings compared byte for byte, and the
 * extractions compared with each other and with the tree (types, modes,
 * contents, symlink targets, hard-link groups, times).
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmod, link, lstat, mkdir, open, readdir, readFile, readlink, symlink, writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { packStorePath } from '../../electron/pipeline/compose/squashfs.ts';
import { writeSquashfs } from '../../electron/pipeline/compose/squashfs-writer.ts';
import type { SquashfsCompression } from '../../electron/shared/types.ts';

const run = promisify(execFile);

export type Content = { kind: 'text' | 'random' | 'zero' | 'sparse'; size: number; seed: number };

export type Spec =
  | { kind: 'dir'; mode: number; entries: { name: string | Buffer; spec: Spec }[] }
  | { kind: 'file'; mode: number; content: Content; links?: number }
  | { kind: 'symlink'; target: string | Buffer };

const SLASH = Buffer.from('/');
const path = (dir: Buffer, name: string | Buffer): Buffer => Buffer.concat([dir, SLASH, Buffer.from(name)]);

/** Deterministic bytes of a content description. */
export function contentBytes(content: Content): Buffer {
  const { size, seed } = content;
  if (content.kind === 'zero' || content.kind === 'sparse') return Buffer.alloc(size);
  if (content.kind === 'text') {
    const words = ['store', 'path', 'nix', 'lib', 'share', 'bin', `w${seed}`, '\n'];
    const out = Buffer.alloc(size);
    let at = 0;
    for (let i = 0; at < size; i++) at += out.write(`${words[(i * 7 + seed) % words.length]} `, at);
    return out;
  }
  const out = Buffer.alloc(size);
  for (let at = 0, i = 0; at < size; i++) {
    at += createHash('sha256').update(`${seed}:${i}`).digest().copy(out, at);
  }
  return out;
}

/** Make `spec` at `at` (a Buffer path: names need not be UTF-8); folders' modes are set last. */
export async function makeTree(at: Buffer, spec: Spec): Promise<void> {
  if (spec.kind === 'symlink') {
    await symlink(Buffer.from(spec.target), at);
  } else if (spec.kind === 'file') {
    if (spec.content.kind === 'sparse') {
      // A hole, a few bytes of data in the middle, a hole: sparse on disk.
      const handle = await open(at, 'w');
      await handle.truncate(spec.content.size);
      if (spec.content.size > 8) await handle.write(Buffer.from('data'), 0, 4, Math.floor(spec.content.size / 2));
      await handle.close();
    } else {
      await writeFile(at, contentBytes(spec.content));
    }
    await chmod(at, spec.mode);
    for (let i = 1; i <= (spec.links ?? 0); i++) await link(at, Buffer.concat([at, Buffer.from(`.hl${i}`)]));
  } else {
    await mkdir(at);
    for (const entry of spec.entries) await makeTree(path(at, entry.name), entry.spec);
    await chmod(at, spec.mode);
  }
}

/** One line per entry below `root`: name (hex), type, mode, size, content hash, target, hard-link group, mtime. */
export async function treeFacts(root: Buffer, options: { times: boolean }): Promise<string[]> {
  const lines: string[] = [];
  const firstOfInode = new Map<bigint, string>();
  const walk = async (at: Buffer, rel: string): Promise<void> => {
    const info = await lstat(at, { bigint: true });
    const mode = (info.mode & 0o7777n).toString(8);
    const time = options.times ? ` t=${info.mtimeMs}` : '';
    if (info.isDirectory()) {
      lines.push(`${rel} d ${mode}${time}`);
      const names = (await readdir(at, { encoding: 'buffer' })).sort(Buffer.compare);
      for (const name of names) await walk(path(at, name), `${rel}/${name.toString('hex')}`);
    } else if (info.isSymbolicLink()) {
      lines.push(`${rel} l -> ${(await readlink(at, { encoding: 'buffer' })).toString('hex')}${time}`);
    } else if (info.isFile()) {
      const group = info.nlink > 1n ? (firstOfInode.get(info.ino) ?? rel) : '-';
      if (info.nlink > 1n && !firstOfInode.has(info.ino)) firstOfInode.set(info.ino, rel);
      const hash = createHash('sha256')
        .update(await readFile(at))
        .digest('hex');
      lines.push(`${rel} f ${mode} ${info.size} ${hash} links=${group}${time}`);
    } else {
      lines.push(`${rel} ? ${mode}`);
    }
  };
  await walk(root, '.');
  return lines;
}

async function lls(image: string): Promise<string> {
  const { stdout } = await run('unsquashfs', ['-lls', image], { encoding: 'buffer', maxBuffer: 256 * 1024 * 1024 });
  return stdout.toString('latin1');
}

async function extract(image: string, into: string): Promise<void> {
  await run('unsquashfs', ['-n', '-d', into, image], { maxBuffer: 64 * 1024 * 1024 });
}

export interface RoundTrip {
  /** `unsquashfs -lls` of mksquashfs's image and of ours. */
  listings: { mksquashfs: string; builtin: string };
  /** The extractions' facts, times included. */
  extracted: { mksquashfs: string[]; builtin: string[] };
  /** The store path's own facts, and those of its copy in our image (times left out: the image's are 1). */
  source: string[];
  fromBuiltin: string[];
  /** The images' bytes used (their superblocks' field: the size before the padding to 4 KiB). */
  sizes: { mksquashfs: number; builtin: number };
}

async function bytesUsed(image: string): Promise<number> {
  const handle = await open(image, 'r');
  try {
    const superblock = Buffer.alloc(96);
    await handle.read(superblock, 0, 96, 0);
    return Number(superblock.readBigUInt64LE(40));
  } finally {
    await handle.close();
  }
}

/** Pack `storePath` (named `name` in `work`) both ways and read both back. */
export async function roundTrip(storePath: string, work: string, compression: SquashfsCompression): Promise<RoundTrip> {
  const ours = `${work}/builtin.sqsh`;
  const theirs = `${work}/mksquashfs.sqsh`;
  await Promise.all([
    writeSquashfs(storePath, ours, compression),
    packStorePath(storePath, theirs, { compression, processors: 1, progress: 'none' }),
  ]);
  const [oursList, theirsList] = await Promise.all([lls(ours), lls(theirs)]);
  await Promise.all([extract(ours, `${work}/x-builtin`), extract(theirs, `${work}/x-mksquashfs`)]);
  const name = storePath.split('/').pop()!;
  const [extractedOurs, extractedTheirs, source, fromBuiltin, oursStat, theirsStat] = await Promise.all([
    treeFacts(Buffer.from(`${work}/x-builtin`), { times: true }),
    treeFacts(Buffer.from(`${work}/x-mksquashfs`), { times: true }),
    treeFacts(Buffer.from(storePath), { times: false }),
    treeFacts(Buffer.from(`${work}/x-builtin/${name}`), { times: false }),
    bytesUsed(ours),
    bytesUsed(theirs),
  ]);
  return {
    listings: { mksquashfs: theirsList, builtin: oursList },
    extracted: { mksquashfs: extractedTheirs, builtin: extractedOurs },
    source,
    fromBuiltin,
    sizes: { mksquashfs: theirsStat, builtin: oursStat },
  };
}
