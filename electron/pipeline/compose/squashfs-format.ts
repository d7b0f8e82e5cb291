/**
 * The byte layout of squashfs 4.0 (the kernel's fs/squashfs/squashfs_fs.h),
 * for the in-process writer: the superblock, metadata blocks, inodes,
 * directory listings with their index, and the lookup tables. Pure: no I/O.
 */

export const SQUASHFS_MAGIC = 0x73717368;
export const SUPERBLOCK_SIZE = 96;
export const METADATA_SIZE = 8192;
/** A metadata block's header: its size, with this bit when stored uncompressed. */
const METADATA_UNCOMPRESSED = 0x8000;
/** A data block's or fragment's size, with this bit when stored uncompressed. */
export const DATA_UNCOMPRESSED = 1 << 24;
export const INVALID_FRAGMENT = 0xffffffff;
const INVALID_XATTR = 0xffffffff;
const INVALID_TABLE = 0xffffffffffffffffn;

/** Inode types: the basic ones also name entries in directory listings. */
export const INODE = { dir: 1, file: 2, symlink: 3, ldir: 8, lfile: 9 } as const;

export const FLAG = {
  noXattrs: 0x0200,
  compressorOptions: 0x0400,
  duplicates: 0x0040,
  exportable: 0x0080,
} as const;

/** Writes a stream of bytes as metadata blocks and says where each byte lands. */
export class MetadataWriter {
  private readonly blocks: Buffer[] = [];
  private written = 0;
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  private readonly compress: (block: Buffer) => Promise<Buffer>;

  constructor(compress: (block: Buffer) => Promise<Buffer>) {
    this.compress = compress;
  }

  /**
   * Where the next byte will be: the start of its block (compressed bytes
   * from the start of the table) and its offset in the block's data.
   */
  position(): { block: number; offset: number } {
    return { block: this.written, offset: this.pendingBytes };
  }

  /** The reference of the next byte, as inodes are referred to: block << 16 | offset. */
  reference(): bigint {
    const { block, offset } = this.position();
    return (BigInt(block) << 16n) | BigInt(offset);
  }

  async append(bytes: Buffer): Promise<void> {
    let rest = bytes;
    while (rest.length > 0) {
      const room = METADATA_SIZE - this.pendingBytes;
      const piece = rest.subarray(0, room);
      this.pending.push(piece);
      this.pendingBytes += piece.length;
      rest = rest.subarray(piece.length);
      if (this.pendingBytes === METADATA_SIZE) await this.flush();
    }
  }

  private async flush(): Promise<void> {
    if (this.pendingBytes === 0) return;
    const data = Buffer.concat(this.pending, this.pendingBytes);
    const packed = await this.compress(data);
    const stored = packed.length < data.length ? packed : data;
    const header = Buffer.alloc(2);
    header.writeUInt16LE(stored === data ? data.length | METADATA_UNCOMPRESSED : stored.length);
    this.blocks.push(header, stored);
    this.written += 2 + stored.length;
    this.pending = [];
    this.pendingBytes = 0;
  }

  /** The whole table, its last block flushed; `blockStarts` are each block's offset in it. */
  async finish(): Promise<{ bytes: Buffer; blockStarts: number[] }> {
    await this.flush();
    const blockStarts: number[] = [];
    let at = 0;
    for (let i = 0; i < this.blocks.length; i += 2) {
      blockStarts.push(at);
      at += this.blocks[i]!.length + this.blocks[i + 1]!.length;
    }
    return { bytes: Buffer.concat(this.blocks), blockStarts };
  }
}

/**
 * A lookup table (fragments, the export table, ids): its entries in metadata
 * blocks, then the index of those blocks' absolute positions. Returns the
 * bytes to write at `at` and where its index starts (the superblock's field).
 */
export async function lookupTable(
  entries: Buffer,
  at: number,
  compress: (block: Buffer) => Promise<Buffer>,
): Promise<{ bytes: Buffer; indexStart: number }> {
  const writer = new MetadataWriter(compress);
  await writer.append(entries);
  const { bytes, blockStarts } = await writer.finish();
  const index = Buffer.alloc(8 * blockStarts.length);
  blockStarts.forEach((start, i) => index.writeBigUInt64LE(BigInt(at + start), 8 * i));
  return { bytes: Buffer.concat([bytes, index]), indexStart: at + bytes.length };
}

export interface InodeHeader {
  type: number;
  mode: number;
  inodeNumber: number;
  mtime: number;
}

function header(fields: InodeHeader, size: number): Buffer {
  const buffer = Buffer.alloc(size);
  buffer.writeUInt16LE(fields.type, 0);
  buffer.writeUInt16LE(fields.mode & 0o7777, 2);
  buffer.writeUInt16LE(0, 4); // uid: the id table's only id, root (-all-root)
  buffer.writeUInt16LE(0, 6); // gid
  buffer.writeUInt32LE(fields.mtime, 8);
  buffer.writeUInt32LE(fields.inodeNumber, 12);
  return buffer;
}

export interface FileInode extends Omit<InodeHeader, 'type'> {
  start: number;
  size: number;
  sparse: number;
  nlink: number;
  fragment: number;
  fragmentOffset: number;
  blockSizes: readonly number[];
}

/** A regular file: basic unless it needs the extended form (links, sparse blocks, 4 GiB). */
export function fileInode(file: FileInode): Buffer {
  const blocks = Buffer.alloc(4 * file.blockSizes.length);
  file.blockSizes.forEach((size, i) => blocks.writeUInt32LE(size, 4 * i));
  const basic = file.nlink === 1 && file.sparse === 0 && file.start < 2 ** 32 && file.size < 2 ** 32;
  if (basic) {
    const inode = header({ ...file, type: INODE.file }, 32);
    inode.writeUInt32LE(file.start, 16);
    inode.writeUInt32LE(file.fragment, 20);
    inode.writeUInt32LE(file.fragmentOffset, 24);
    inode.writeUInt32LE(file.size, 28);
    return Buffer.concat([inode, blocks]);
  }
  const inode = header({ ...file, type: INODE.lfile }, 56);
  inode.writeBigUInt64LE(BigInt(file.start), 16);
  inode.writeBigUInt64LE(BigInt(file.size), 24);
  inode.writeBigUInt64LE(BigInt(file.sparse), 32);
  inode.writeUInt32LE(file.nlink, 40);
  inode.writeUInt32LE(file.fragment, 44);
  inode.writeUInt32LE(file.fragmentOffset, 48);
  inode.writeUInt32LE(INVALID_XATTR, 52);
  return Buffer.concat([inode, blocks]);
}

export function symlinkInode(link: Omit<InodeHeader, 'type'> & { nlink: number; target: Buffer }): Buffer {
  const inode = header({ ...link, type: INODE.symlink }, 24);
  inode.writeUInt32LE(link.nlink, 16);
  inode.writeUInt32LE(link.target.length, 20);
  return Buffer.concat([inode, link.target]);
}

/** One entry of a directory: its name and where its inode is. */
export interface DirEntry {
  name: Buffer;
  /** The basic inode type (dir, file, symlink). */
  type: number;
  inodeNumber: number;
  /** Reference of the inode in the inode table (block << 16 | offset). */
  inode: bigint;
}

/** Where a listing's part that starts at `listingOffset` begins, for the directory index. */
export interface DirIndex {
  listingOffset: number;
  /** The directory table block holding that byte (relative to the table). */
  block: number;
  name: Buffer;
}

/**
 * A directory's listing as mksquashfs lays it out: runs of at most 256
 * entries under a header, a new run whenever the inodes' block changes or the
 * inode numbers drift too far, and, each time the listing grows past another
 * 8 KiB since the last index point, a new run with an index entry pointing at
 * its header (the kernel's lookups skip to it by name). The index comes back
 * as offsets in the listing; the caller knows which directory table block
 * each lands in once the listing is written.
 */
export function dirListing(entries: readonly DirEntry[]): {
  bytes: Buffer;
  index: { listingOffset: number; name: Buffer }[];
} {
  const parts: Buffer[] = [];
  const index: { listingOffset: number; name: Buffer }[] = [];
  let length = 0;
  let runHeader: Buffer | undefined;
  let runCount = 0;
  let runBlock = -1n;
  let runBase = 0;
  let indexBase = 0;
  for (const entry of entries) {
    const block = entry.inode >> 16n;
    const entrySize = 8 + entry.name.length;
    const delta = entry.inodeNumber - runBase;
    const crosses = runHeader !== undefined && length + entrySize - indexBase > METADATA_SIZE;
    if (
      runHeader === undefined ||
      runCount === 256 ||
      block !== runBlock ||
      crosses ||
      delta > 32767 ||
      delta < -32768
    ) {
      if (runHeader) runHeader.writeUInt32LE(runCount - 1, 0);
      if (crosses) {
        index.push({ listingOffset: length, name: entry.name });
        indexBase = length;
      }
      runHeader = Buffer.alloc(12);
      runHeader.writeUInt32LE(Number(block), 4);
      runHeader.writeUInt32LE(entry.inodeNumber, 8);
      parts.push(runHeader);
      length += 12;
      runCount = 0;
      runBlock = block;
      runBase = entry.inodeNumber;
    }
    const item = Buffer.alloc(8);
    item.writeUInt16LE(Number(entry.inode & 0xffffn), 0);
    item.writeInt16LE(entry.inodeNumber - runBase, 2);
    item.writeUInt16LE(entry.type, 4);
    item.writeUInt16LE(entry.name.length - 1, 6);
    parts.push(item, entry.name);
    length += entrySize;
    runCount++;
  }
  if (runHeader) runHeader.writeUInt32LE(runCount - 1, 0);
  return { bytes: Buffer.concat(parts, length), index };
}

export interface DirInode extends Omit<InodeHeader, 'type'> {
  nlink: number;
  /** The listing's bytes (the inode stores 3 more, for "." and ".."). */
  listingSize: number;
  block: number;
  offset: number;
  parent: number;
  index: readonly DirIndex[];
}

/** A directory: basic unless its listing is long (an index, or 64 KiB and more). */
export function dirInode(dir: DirInode): Buffer {
  const fileSize = dir.listingSize + 3;
  if (dir.index.length === 0 && fileSize <= 0xffff) {
    const inode = header({ ...dir, type: INODE.dir }, 32);
    inode.writeUInt32LE(dir.block, 16);
    inode.writeUInt32LE(dir.nlink, 20);
    inode.writeUInt16LE(fileSize, 24);
    inode.writeUInt16LE(dir.offset, 26);
    inode.writeUInt32LE(dir.parent, 28);
    return inode;
  }
  const inode = header({ ...dir, type: INODE.ldir }, 40);
  inode.writeUInt32LE(dir.nlink, 16);
  inode.writeUInt32LE(fileSize, 20);
  inode.writeUInt32LE(dir.block, 24);
  inode.writeUInt32LE(dir.parent, 28);
  inode.writeUInt16LE(dir.index.length, 32);
  inode.writeUInt16LE(dir.offset, 34);
  inode.writeUInt32LE(INVALID_XATTR, 36);
  const entries = dir.index.map((entry) => {
    const item = Buffer.alloc(12);
    item.writeUInt32LE(entry.listingOffset, 0);
    item.writeUInt32LE(entry.block, 4);
    item.writeUInt32LE(entry.name.length - 1, 8);
    return Buffer.concat([item, entry.name]);
  });
  return Buffer.concat([inode, ...entries]);
}

export interface Superblock {
  inodeCount: number;
  blockSize: number;
  fragmentCount: number;
  compressionId: number;
  flags: number;
  idCount: number;
  rootInode: bigint;
  bytesUsed: number;
  idTableStart: number;
  inodeTableStart: number;
  directoryTableStart: number;
  fragmentTableStart: number;
  exportTableStart: number;
}

export function superblock(fields: Superblock): Buffer {
  const sb = Buffer.alloc(SUPERBLOCK_SIZE);
  sb.writeUInt32LE(SQUASHFS_MAGIC, 0);
  sb.writeUInt32LE(fields.inodeCount, 4);
  sb.writeUInt32LE(0, 8); // -mkfs-time 0
  sb.writeUInt32LE(fields.blockSize, 12);
  sb.writeUInt32LE(fields.fragmentCount, 16);
  sb.writeUInt16LE(fields.compressionId, 20);
  sb.writeUInt16LE(Math.log2(fields.blockSize), 22);
  sb.writeUInt16LE(fields.flags, 24);
  sb.writeUInt16LE(fields.idCount, 26);
  sb.writeUInt16LE(4, 28);
  sb.writeUInt16LE(0, 30);
  sb.writeBigUInt64LE(fields.rootInode, 32);
  sb.writeBigUInt64LE(BigInt(fields.bytesUsed), 40);
  sb.writeBigUInt64LE(BigInt(fields.idTableStart), 48);
  sb.writeBigUInt64LE(INVALID_TABLE, 56); // no xattrs
  sb.writeBigUInt64LE(BigInt(fields.inodeTableStart), 64);
  sb.writeBigUInt64LE(BigInt(fields.directoryTableStart), 72);
  sb.writeBigUInt64LE(BigInt(fields.fragmentTableStart), 80);
  sb.writeBigUInt64LE(BigInt(fields.exportTableStart), 88);
  return sb;
}

/** A metadata block stored as it is (the compressor options). */
export function uncompressedMetadata(data: Buffer): Buffer {
  const header = Buffer.alloc(2);
  header.writeUInt16LE(data.length | METADATA_UNCOMPRESSED);
  return Buffer.concat([header, data]);
}
