/**
 * A store path read into memory for the in-process squashfs writer: its
 * folders (entries sorted by bytes, as mksquashfs sorts them), regular files
 * with their contents, symlinks, and which entries are hard links of one
 * another. Names stay bytes (Buffers): a store path's names need not be UTF-8.
 * Anything else (a device, a FIFO, a socket) or a tree larger than the
 * writer takes makes it give the path back to mksquashfs.
 */
import { lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';

export type Inode = DirInode | FileInode | SymlinkInode;

/** A name in a folder, and the inode it is (hard links: several entries, one inode). */
export interface Entry {
  name: Buffer;
  inode: Inode;
}

export interface DirInode {
  kind: 'dir';
  mode: number;
  entries: Entry[];
}

export interface FileInode {
  kind: 'file';
  mode: number;
  /** Entries of the tree that are this inode: 1 unless hard-linked within the tree. */
  links: number;
  size: number;
  /** Where it is read from. */
  path: Buffer;
  /** Filled by {@link readContents}. */
  data?: Buffer;
}

export interface SymlinkInode {
  kind: 'symlink';
  mode: number;
  links: number;
  target: Buffer;
}

/** The tree holds something the writer does not write, or too much to hold in memory: use mksquashfs. */
export class NotForBuiltinError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NotForBuiltinError';
  }
}

const SLASH = Buffer.from('/');

/** The longest name squashfs (and Linux) takes. */
const NAME_MAX = 256;

/**
 * Read the tree at `path` (not following a symlink at the top) as the entry
 * named by its last component, at most `maxBytes` of file contents and
 * `maxEntries` entries in all. File contents are read by {@link readContents}.
 * Synchronous calls: a few microseconds each on a small tree, where the
 * thread pool's round trips cost more than the calls.
 */
export async function scanTree(
  path: string,
  limits: { maxBytes: number; maxEntries: number },
  signal?: AbortSignal,
): Promise<{ root: Entry; files: FileInode[] }> {
  const linked = new Map<string, FileInode | SymlinkInode>();
  const files: FileInode[] = [];
  let bytes = 0;
  let entries = 0;

  const visit = async (full: Buffer, name: Buffer): Promise<Entry> => {
    signal?.throwIfAborted();
    if (++entries > limits.maxEntries) throw new NotForBuiltinError(`more than ${limits.maxEntries} entries`);
    if (name.length > NAME_MAX) throw new NotForBuiltinError('a name longer than squashfs takes');
    const info = lstatSync(full, { bigint: true });
    const mode = Number(info.mode & 0o7777n);
    if (info.isDirectory()) {
      const names = readdirSync(full, { encoding: 'buffer' }).sort(Buffer.compare);
      const children: Entry[] = [];
      for (const child of names) children.push(await visit(Buffer.concat([full, SLASH, child]), child));
      return { name, inode: { kind: 'dir', mode, entries: children } };
    }
    // A hard link of an inode met before: the same inode, under another name.
    const id = `${info.dev}:${info.ino}`;
    const seen = info.nlink > 1n ? linked.get(id) : undefined;
    if (seen) {
      seen.links++;
      return { name, inode: seen };
    }
    let inode: FileInode | SymlinkInode;
    if (info.isFile()) {
      const size = Number(info.size);
      bytes += size;
      if (bytes > limits.maxBytes) throw new NotForBuiltinError(`more than ${limits.maxBytes} bytes of files`);
      inode = { kind: 'file', mode, links: 1, size, path: full };
      files.push(inode);
    } else if (info.isSymbolicLink()) {
      inode = { kind: 'symlink', mode, links: 1, target: readlinkSync(full, { encoding: 'buffer' }) };
    } else {
      throw new NotForBuiltinError('a device, FIFO or socket');
    }
    if (info.nlink > 1n) linked.set(id, inode);
    return { name, inode };
  };

  const root = await visit(Buffer.from(path), Buffer.from(path.split('/').pop() ?? path));
  return { root, files };
}

/**
 * Read every file's contents. Synchronously: the files are small (the
 * writer takes small paths) and usually cached, and a read through the
 * thread pool costs more in round trips (open, stat, read, close) than the
 * read itself. A file whose size changed meanwhile is refused.
 */
export async function readContents(files: readonly FileInode[], signal?: AbortSignal): Promise<void> {
  for (const [i, file] of files.entries()) {
    signal?.throwIfAborted();
    const data = readFileSync(file.path);
    if (data.length !== file.size) throw new Error(`${file.path.toString()} changed while it was read`);
    file.data = data;
    // Let other work (the other paths' compression callbacks) run now and then.
    if (i % 64 === 63) await new Promise((resolve) => setImmediate(resolve));
  }
}
