/**
 * The in-process squashfs 4.0 writer: a small store path's image without
 * starting mksquashfs (whose start costs ~8 ms of CPU per path, most of a
 * small path's time with a fast compressor). It makes what
 * `mksquashfs PATH OUT -keep-as-directory -all-root -no-xattrs -mkfs-time 0
 * -all-time 1 -root-time 1` makes of the same tree, as unsquashfs and the
 * kernel read it: the same listing and contents, 128 KiB blocks, small files
 * in fragments, all-zero blocks sparse, duplicate files stored once, hard
 * links as one inode, an export table; the bytes differ (the compressor
 * libraries are Node's, the data is laid out in another order).
 * Only gzip and zstd; the tree is held in memory, so only small paths.
 */
import { createHash } from 'node:crypto';
import { open, rm } from 'node:fs/promises';
import type { SquashfsCompression } from '../../shared/types.ts';
import { SquashfsCompressor } from './squashfs-compress.ts';
import {
  DATA_UNCOMPRESSED,
  dirInode,
  dirListing,
  fileInode,
  FLAG,
  INODE,
  INVALID_FRAGMENT,
  lookupTable,
  METADATA_SIZE,
  MetadataWriter,
  superblock,
  SUPERBLOCK_SIZE,
  symlinkInode,
  uncompressedMetadata,
  type DirEntry,
  type DirIndex,
} from './squashfs-format.ts';
import { readContents, scanTree, type DirInode, type FileInode, type Inode } from './squashfs-tree.ts';

export { NotForBuiltinError } from './squashfs-tree.ts';

export const BLOCK_SIZE = 128 * 1024;
/** Images are padded to 4 KiB, as mksquashfs pads them. */
const PADDING = 4096;
/** Every inode's time (-all-time 1, -root-time 1). */
const MTIME = 1;
/** Data blocks being compressed at once for one image (libuv's pool has 4 threads). */
const COMPRESS_CONCURRENCY = 4;

export interface WriterLimits {
  /** Refuse (NotForBuiltinError) a tree with more bytes of files than this: it is held in memory. */
  maxBytes: number;
  maxEntries: number;
}

const DEFAULT_LIMITS: WriterLimits = { maxBytes: 64 * 1024 * 1024, maxEntries: 200_000 };

/** Where a file's data went. */
interface Placement {
  start: number;
  blockSizes: number[];
  sparse: number;
  fragment: number;
  fragmentOffset: number;
}

/** A piece of data to store: its bytes, compressed (or not, when that is no smaller). */
interface Chunk {
  raw: Buffer;
  stored?: Buffer;
  sizeWord?: number;
}

/**
 * Lay out the files' data: whole blocks and tails in the files' order,
 * files under a block in shared fragment blocks, each distinct content once.
 */
function planData(files: readonly FileInode[]): {
  placements: Map<FileInode, Placement>;
  blocks: { file: FileInode; chunks: (Chunk | undefined)[] }[];
  fragments: Chunk[];
} {
  const placements = new Map<FileInode, Placement>();
  const blocks: { file: FileInode; chunks: (Chunk | undefined)[] }[] = [];
  const fragments: Chunk[] = [];
  const byContent = new Map<string, FileInode>();
  let fragmentParts: Buffer[] = [];
  let fragmentBytes = 0;
  const closeFragment = (): void => {
    if (fragmentBytes === 0) return;
    fragments.push({ raw: Buffer.concat(fragmentParts, fragmentBytes) });
    fragmentParts = [];
    fragmentBytes = 0;
  };
  for (const file of files) {
    const data = file.data!;
    if (data.length === 0) {
      placements.set(file, { start: 0, blockSizes: [], sparse: 0, fragment: INVALID_FRAGMENT, fragmentOffset: 0 });
      continue;
    }
    const key = `${data.length}:${createHash('sha256').update(data).digest('hex')}`;
    const same = byContent.get(key);
    if (same) {
      placements.set(file, placements.get(same)!);
      continue;
    }
    byContent.set(key, file);
    if (data.length < BLOCK_SIZE && !allZero(data)) {
      if (fragmentBytes + data.length > BLOCK_SIZE) closeFragment();
      placements.set(file, {
        start: 0,
        blockSizes: [],
        sparse: 0,
        fragment: fragments.length,
        fragmentOffset: fragmentBytes,
      });
      fragmentParts.push(data);
      fragmentBytes += data.length;
      continue;
    }
    const chunks: (Chunk | undefined)[] = [];
    let sparse = 0;
    for (let at = 0; at < data.length; at += BLOCK_SIZE) {
      const raw = data.subarray(at, at + BLOCK_SIZE);
      // An all-zero block is stored as nothing (a sparse block), as mksquashfs stores it:
      // a small file of zeros too, instead of a piece of a fragment.
      if (allZero(raw)) {
        chunks.push(undefined);
        sparse += raw.length;
      } else chunks.push({ raw });
    }
    blocks.push({ file, chunks });
    placements.set(file, { start: 0, blockSizes: [], sparse, fragment: INVALID_FRAGMENT, fragmentOffset: 0 });
  }
  closeFragment();
  return { placements, blocks, fragments };
}

const ZEROS = Buffer.alloc(BLOCK_SIZE);

function allZero(data: Buffer): boolean {
  return ZEROS.subarray(0, data.length).equals(data);
}

async function compressAll(chunks: Chunk[], compressor: SquashfsCompressor, signal?: AbortSignal): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < chunks.length) {
      const chunk = chunks[next++]!;
      signal?.throwIfAborted();
      const packed = await compressor.compress(chunk.raw);
      if (packed.length < chunk.raw.length) {
        chunk.stored = packed;
        chunk.sizeWord = packed.length;
      } else {
        chunk.stored = chunk.raw;
        chunk.sizeWord = chunk.raw.length | DATA_UNCOMPRESSED;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(COMPRESS_CONCURRENCY, chunks.length) }, worker));
}

/** Inode numbers as mksquashfs gives them: a folder's entries (subtrees first), then the folder. */
function numberInodes(root: DirInode): Map<Inode, number> {
  const numbers = new Map<Inode, number>();
  const visit = (dir: DirInode): void => {
    for (const { inode } of dir.entries) {
      if (inode.kind === 'dir') visit(inode);
      else if (!numbers.has(inode)) numbers.set(inode, numbers.size + 1);
    }
    numbers.set(dir, numbers.size + 1);
  };
  visit(root);
  return numbers;
}

const ENTRY_TYPE = { dir: INODE.dir, file: INODE.file, symlink: INODE.symlink } as const;

/** Build the image of the tree at `storePath` in memory: the bytes, padded to 4 KiB. */
export async function squashfsImage(
  storePath: string,
  compression: SquashfsCompression,
  options: { signal?: AbortSignal | undefined; limits?: WriterLimits } = {},
): Promise<Buffer> {
  const { signal } = options;
  const compressor = new SquashfsCompressor(compression);
  const compressMeta = (block: Buffer): Promise<Buffer> => compressor.compress(block);
  const { root: top, files } = await scanTree(storePath, options.limits ?? DEFAULT_LIMITS, signal);
  await readContents(files, signal);

  // The data: blocks of each file in order, then the fragment blocks.
  const { placements, blocks, fragments } = planData(files);
  const chunks = [...blocks.flatMap((b) => b.chunks.filter((c): c is Chunk => c !== undefined)), ...fragments];
  await compressAll(chunks, compressor, signal);
  const compOptions = compressor.options();
  const head = compOptions ? uncompressedMetadata(compOptions) : Buffer.alloc(0);
  const pieces: Buffer[] = [Buffer.alloc(SUPERBLOCK_SIZE), head];
  let at = SUPERBLOCK_SIZE + head.length;
  for (const { file, chunks: fileChunks } of blocks) {
    const placement = placements.get(file)!;
    placement.start = at;
    for (const chunk of fileChunks) {
      if (!chunk) {
        placement.blockSizes.push(0);
        continue;
      }
      pieces.push(chunk.stored!);
      placement.blockSizes.push(chunk.sizeWord!);
      at += chunk.stored!.length;
    }
  }
  const fragmentEntries = Buffer.alloc(16 * fragments.length);
  fragments.forEach((fragment, i) => {
    fragmentEntries.writeBigUInt64LE(BigInt(at), 16 * i);
    fragmentEntries.writeUInt32LE(fragment.sizeWord!, 16 * i + 8);
    pieces.push(fragment.stored!);
    at += fragment.stored!.length;
  });
  // Free the contents: from here on only metadata is made.
  for (const file of files) delete file.data;

  // The inodes and folders: a folder's entries are written before it, so its listing knows where they are.
  const rootDir: DirInode = { kind: 'dir', mode: 0o777, entries: [top] };
  const numbers = numberInodes(rootDir);
  const inodeCount = numbers.size;
  const refs = new Map<Inode, bigint>();
  const inodes = new MetadataWriter(compressMeta);
  const dirs = new DirTableWriter(compressMeta);

  const writeInode = async (inode: Inode, parent: number): Promise<bigint> => {
    signal?.throwIfAborted();
    const known = refs.get(inode);
    if (known !== undefined) return known;
    const inodeNumber = numbers.get(inode)!;
    let bytes: Buffer;
    if (inode.kind === 'dir') {
      const entries: DirEntry[] = [];
      for (const entry of inode.entries) {
        entries.push({
          name: entry.name,
          type: ENTRY_TYPE[entry.inode.kind],
          inodeNumber: numbers.get(entry.inode)!,
          inode: await writeInode(entry.inode, inodeNumber),
        });
      }
      const listing = dirListing(entries);
      const { block, offset, index } = await dirs.write(listing);
      bytes = dirInode({
        mode: inode.mode,
        mtime: MTIME,
        inodeNumber,
        nlink: 2 + inode.entries.filter((e) => e.inode.kind === 'dir').length,
        listingSize: listing.bytes.length,
        block,
        offset,
        parent,
        index,
      });
    } else if (inode.kind === 'file') {
      const placement = placements.get(inode)!;
      bytes = fileInode({
        mode: inode.mode,
        mtime: MTIME,
        inodeNumber,
        nlink: inode.links,
        size: inode.size,
        ...placement,
      });
    } else {
      bytes = symlinkInode({ mode: inode.mode, mtime: MTIME, inodeNumber, nlink: inode.links, target: inode.target });
    }
    const ref = inodes.reference();
    await inodes.append(bytes);
    refs.set(inode, ref);
    return ref;
  };
  // The root's parent is one past the last inode, as mksquashfs has it.
  const rootRef = await writeInode(rootDir, inodeCount + 1);

  const inodeTableStart = at;
  const inodeTable = (await inodes.finish()).bytes;
  const directoryTableStart = inodeTableStart + inodeTable.length;
  const dirTable = await dirs.finish();
  pieces.push(inodeTable, dirTable);
  at = directoryTableStart + dirTable.length;

  let fragmentTableStart = at;
  if (fragments.length > 0) {
    const table = await lookupTable(fragmentEntries, at, compressMeta);
    fragmentTableStart = table.indexStart;
    pieces.push(table.bytes);
    at += table.bytes.length;
  }
  const exportEntries = Buffer.alloc(8 * inodeCount);
  for (const [inode, number] of numbers) exportEntries.writeBigUInt64LE(refs.get(inode)!, 8 * (number - 1));
  const exportTable = await lookupTable(exportEntries, at, compressMeta);
  pieces.push(exportTable.bytes);
  at += exportTable.bytes.length;
  const ids = Buffer.alloc(4); // one id: root's 0
  const idTable = await lookupTable(ids, at, compressMeta);
  pieces.push(idTable.bytes);
  at += idTable.bytes.length;

  const flags = FLAG.noXattrs | FLAG.duplicates | FLAG.exportable | (compOptions ? FLAG.compressorOptions : 0);
  pieces[0] = superblock({
    inodeCount,
    blockSize: BLOCK_SIZE,
    fragmentCount: fragments.length,
    compressionId: compressor.id,
    flags,
    idCount: 1,
    rootInode: rootRef,
    bytesUsed: at,
    idTableStart: idTable.indexStart,
    inodeTableStart,
    directoryTableStart,
    fragmentTableStart,
    exportTableStart: exportTable.indexStart,
  });
  const padded = Math.ceil(at / PADDING) * PADDING;
  pieces.push(Buffer.alloc(padded - at));
  return Buffer.concat(pieces, padded);
}

/** The directory table: listings one after another, with where each index point of a listing landed. */
class DirTableWriter {
  private readonly writer: MetadataWriter;
  /** The compressed start of each metadata block begun so far. */
  private readonly blockStarts: number[] = [];
  private streamBytes = 0;

  constructor(compress: (block: Buffer) => Promise<Buffer>) {
    this.writer = new MetadataWriter(compress);
  }

  async write(listing: ReturnType<typeof dirListing>): Promise<{ block: number; offset: number; index: DirIndex[] }> {
    const start = this.writer.position();
    const streamStart = this.streamBytes;
    // Block starts are known once the block before is written: note each as the stream reaches it.
    const pieces: { streamOffset: number; name: Buffer }[] = listing.index.map((entry) => ({
      streamOffset: streamStart + entry.listingOffset,
      name: entry.name,
    }));
    let rest = listing.bytes;
    this.noteBlock();
    while (rest.length > 0) {
      const room = METADATA_SIZE - (this.streamBytes % METADATA_SIZE);
      const piece = rest.subarray(0, room);
      await this.writer.append(piece);
      this.streamBytes += piece.length;
      rest = rest.subarray(piece.length);
      this.noteBlock();
    }
    const index = pieces.map(({ streamOffset, name }, i) => ({
      listingOffset: listing.index[i]!.listingOffset,
      block: this.blockStarts[Math.floor(streamOffset / METADATA_SIZE)]!,
      name,
    }));
    return { block: start.block, offset: start.offset, index };
  }

  private noteBlock(): void {
    const blockNumber = Math.floor(this.streamBytes / METADATA_SIZE);
    if (this.blockStarts.length <= blockNumber) this.blockStarts.push(this.writer.position().block);
  }

  async finish(): Promise<Buffer> {
    return (await this.writer.finish()).bytes;
  }
}

/** Write the image of `storePath` to `outFile` (a new file). */
export async function writeSquashfs(
  storePath: string,
  outFile: string,
  compression: SquashfsCompression,
  options: { signal?: AbortSignal | undefined; limits?: WriterLimits } = {},
): Promise<void> {
  const image = await squashfsImage(storePath, compression, options);
  const handle = await open(outFile, 'wx');
  try {
    await handle.writeFile(image);
  } catch (error) {
    await handle.close();
    await rm(outFile, { force: true });
    throw error;
  }
  await handle.close();
}
