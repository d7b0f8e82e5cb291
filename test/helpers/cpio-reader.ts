/**
 * A reader for cpio newc archives, as strict as Linux's initramfs unpacker
 * about what matters: every archive starts on a 4-byte boundary, only zeros
 * may sit between archives, and each ends with TRAILER!!!. GNU cpio stops at
 * the first trailer, so concatenated archives need this.
 */
export interface ReadEntry {
  name: string;
  mode: number;
  uid: number;
  gid: number;
  nlink: number;
  mtime: number;
  data: Buffer;
  /** Which archive (0-based) of the concatenation the entry came from. */
  archive: number;
}

export function readCpio(bytes: Buffer): ReadEntry[] {
  const entries: ReadEntry[] = [];
  let offset = 0;
  let archive = 0;
  let inArchive = false;
  while (offset < bytes.length) {
    if (!inArchive) {
      if (bytes[offset] === 0) {
        offset++;
        continue;
      }
      if (offset % 4 !== 0) throw new Error(`archive ${archive} starts at ${offset}, not on a 4-byte boundary`);
      inArchive = true;
    }
    const magic = bytes.toString('ascii', offset, offset + 6);
    if (magic !== '070701') throw new Error(`bad magic ${JSON.stringify(magic)} at ${offset}`);
    const field = (i: number): number => parseInt(bytes.toString('ascii', offset + 6 + i * 8, offset + 14 + i * 8), 16);
    const mode = field(1);
    const uid = field(2);
    const gid = field(3);
    const nlink = field(4);
    const mtime = field(5);
    const size = field(6);
    const nameSize = field(11);
    const nameStart = offset + 110;
    const name = bytes.toString('utf8', nameStart, nameStart + nameSize - 1);
    if (bytes[nameStart + nameSize - 1] !== 0) throw new Error(`name of ${name} is not NUL-terminated`);
    const dataStart = Math.ceil((nameStart + nameSize) / 4) * 4;
    const data = bytes.subarray(dataStart, dataStart + size);
    if (data.length !== size) throw new Error(`${name} is cut short`);
    offset = Math.ceil((dataStart + size) / 4) * 4;
    if (name === 'TRAILER!!!') {
      inArchive = false;
      archive++;
      continue;
    }
    entries.push({ name, mode, uid, gid, nlink, mtime, data: Buffer.from(data), archive });
  }
  if (inArchive) throw new Error('the last archive has no trailer');
  return entries;
}
