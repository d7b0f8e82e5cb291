/**
 * The record of a boot folder, `.netboot-composer.json`: which files
 * Netboot Composer wrote there (with the fingerprint of what each was made
 * from), and facts about the system (RAM needed, toplevel). A build writes
 * it; a test boot, an export and the next build read it. A USB image carries
 * the same record.
 *
 * Beside it, while a build or an export writes the folder (out-dir.ts):
 *   .netboot-composer.lock    the writer's pid: one writer at a time, across processes
 *   .netboot-composer.temps   the temporary files it made, so that the next
 *                             writer removes those of one that was killed
 *   .netboot-composer.commit  the journal of a commit: written before the first
 *                             rename, removed after the last, so that a commit
 *                             a kill interrupted is finished by whoever comes next
 *                             (journal.ts)
 *
 * This module reads and writes the record itself, as it is on disk, refusing
 * one that lies; read-folder.ts reads a folder someone may be writing.
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { lstat, open, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { NetbootError } from '../base/errors.ts';
import { errnoCode } from '../base/fsutil.ts';
import { isStorePath } from './store.ts';

export const RECORD_NAME = '.netboot-composer.json';
export const LOCK_NAME = '.netboot-composer.lock';
export const TEMPS_NAME = '.netboot-composer.temps';
export const JOURNAL_NAME = '.netboot-composer.commit';

/** Far more than any record of ours (a boot folder's is under 2 KB): a bigger file is not read. */
export const MAX_RECORD_BYTES = 1024 * 1024;

/** More files than any folder of ours holds (a stick's: 9). */
const MAX_RECORDED_FILES = 1000;

interface RecordedFile {
  /** What the file was made from; the same fingerprint means the same bytes. */
  fingerprint: string;
  bytes: number;
  mtimeMs: number;
}

/** Facts about the boot folder that later commands (test-boot) use. */
export interface BootFolderInfo {
  /** RAM a machine needs to boot the folder, as the build computed it. */
  ramBytes?: number;
  toplevel?: string;
}

export interface FolderRecord {
  tool: 'netboot-composer';
  version: 1;
  info?: BootFolderInfo;
  files: { [name: string]: RecordedFile };
}

/**
 * A name we may write or remove: a file in the folder or in a subfolder of it
 * ("EFI/BOOT/BOOTX64.EFI" on a USB stick), never a path that leaves it. A
 * record edited by hand cannot make us touch anything else.
 */
export function isSafeName(name: string): boolean {
  return (
    name.length > 0 &&
    name.length <= 1024 &&
    !name.includes('\\') &&
    // eslint-disable-next-line no-control-regex
    !/[\0-\x1f\x7f]/.test(name) &&
    name.split('/').every((part) => part !== '' && part !== '.' && part !== '..')
  );
}

/** A name as a message shows it: short, on one line. */
function shownName(name: string): string {
  // eslint-disable-next-line no-control-regex
  const printable = name.replace(/[\0-\x1f\x7f]/g, '?');
  return JSON.stringify(printable.length > 80 ? `${printable.slice(0, 80)}…` : printable);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * What a record's text says, or why it cannot be one of ours: a record is
 * read from folders others may write (an export's target, a USB stick, a
 * boot folder someone handed over), so every name and number is checked
 * before anything acts on it. `not ours` when it is not a record at all.
 */
function parseRecord(text: string): FolderRecord | 'not ours' | { lie: string } {
  let record: unknown;
  try {
    record = JSON.parse(text);
  } catch {
    return 'not ours';
  }
  if (!isObject(record) || record.tool !== 'netboot-composer' || !isObject(record.files)) return 'not ours';
  const names = Object.keys(record.files);
  if (names.length > MAX_RECORDED_FILES) return { lie: `lists ${names.length} files` };
  const files: FolderRecord['files'] = {};
  for (const name of names) {
    if (!isSafeName(name)) return { lie: `names ${shownName(name)}, which is not a file inside the folder` };
    const entry = record.files[name];
    if (
      !isObject(entry) ||
      typeof entry.fingerprint !== 'string' ||
      entry.fingerprint.length > 4096 ||
      !Number.isSafeInteger(entry.bytes) ||
      (entry.bytes as number) < -1 ||
      typeof entry.mtimeMs !== 'number' ||
      !Number.isFinite(entry.mtimeMs)
    ) {
      return { lie: `has no fingerprint, size and time for ${shownName(name)}` };
    }
    files[name] = { fingerprint: entry.fingerprint, bytes: entry.bytes as number, mtimeMs: entry.mtimeMs };
  }
  const info = record.info ?? {};
  if (!isObject(info)) return { lie: 'has no facts about the system where they belong' };
  const { ramBytes, toplevel } = info;
  if (
    ramBytes !== undefined &&
    (!Number.isSafeInteger(ramBytes) || (ramBytes as number) < 0 || (ramBytes as number) > 2 ** 50)
  ) {
    return { lie: 'says the system needs an impossible amount of RAM' };
  }
  if (toplevel !== undefined && (typeof toplevel !== 'string' || !isStorePath(toplevel))) {
    return { lie: `names ${shownName(String(toplevel))} as the system, which is not a Nix store path` };
  }
  return {
    tool: 'netboot-composer',
    version: 1,
    info: {
      ...(ramBytes !== undefined ? { ramBytes: ramBytes as number } : {}),
      ...(toplevel !== undefined ? { toplevel: toplevel as string } : {}),
    },
    files,
  };
}

/** Why a file of ours was not read: it is a link, not a plain file, too big, or it grew while read. */
export type NotRead = 'a link' | 'not a plain file' | 'too big' | 'grew';

/**
 * The text of `path`, a small file of ours in a folder someone else may have
 * written (the record, the journal, the temps list): read without following
 * a link, without waiting on a FIFO, and only when it is a plain file of at
 * most {@link MAX_RECORD_BYTES}, so nothing outside the folder is read and
 * nothing huge. Undefined when there is no such file.
 */
export async function readOwnFile(
  path: string,
): Promise<{ text: string } | { notRead: NotRead; bytes?: number } | undefined> {
  let handle;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    return errnoCode(error) === 'ELOOP' ? { notRead: 'a link' } : undefined;
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) return { notRead: 'not a plain file' };
    if (info.size > MAX_RECORD_BYTES) return { notRead: 'too big', bytes: info.size };
    const buffer = Buffer.alloc(MAX_RECORD_BYTES + 1);
    let length = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, length);
      if (bytesRead === 0) break;
      length += bytesRead;
      if (length > MAX_RECORD_BYTES) return { notRead: 'grew' };
    }
    return { text: buffer.subarray(0, length).toString('utf8') };
  } finally {
    await handle.close();
  }
}

/** The text of `dir`'s record, or undefined when there is none; one that cannot be ours is refused in one sentence. */
async function readRecordFile(dir: string): Promise<string | undefined> {
  const path = join(dir, RECORD_NAME);
  const read = await readOwnFile(path);
  if (read === undefined || 'text' in read) return read?.text;
  const why = {
    'a link': `${path} is a link, and Netboot Composer writes its record as a plain file, so it is not one of ours and was not followed`,
    'not a plain file': `${path} is not a plain file, so it is not a record of Netboot Composer's`,
    'too big': `${path} is ${read.bytes} bytes long, far more than a record of Netboot Composer's, so it was not read`,
    grew: `${path} grew while it was read, so it is not a record of Netboot Composer's`,
  }[read.notRead];
  throw new NetbootError(`${why}; remove it or choose another folder.`);
}

/**
 * The text of a record for files written without an {@link OutDir} (inside a
 * USB image), in the same format, so that a stick made from the image is a
 * folder whose files we know.
 */
export function recordText(
  files: readonly { name: string; fingerprint: string; bytes: number }[],
  info: BootFolderInfo,
): string {
  const record: FolderRecord = {
    tool: 'netboot-composer',
    version: 1,
    info,
    files: Object.fromEntries(files.map((f) => [f.name, { fingerprint: f.fingerprint, bytes: f.bytes, mtimeMs: 0 }])),
  };
  return `${JSON.stringify(record, null, 2)}\n`;
}

/** What a record's text says (see {@link recordText}), or undefined when it is not one of ours (or lies). */
export function readRecordText(text: string): { files: string[]; info: BootFolderInfo } | undefined {
  if (text.length > MAX_RECORD_BYTES) return undefined;
  const record = parseRecord(text);
  if (record === 'not ours' || 'lie' in record) return undefined;
  return { files: Object.keys(record.files), info: record.info ?? {} };
}

/**
 * The record of `dir` as it is on disk, or undefined when it has none,
 * without finishing an interrupted commit first: for the writer that holds
 * the folder's lock (see {@link readRecord}). One that is damaged, or lies (a
 * name outside the folder, an impossible number), is refused in one
 * sentence, and nothing it names is touched.
 */
export async function readRecordNow(dir: string): Promise<FolderRecord | undefined> {
  const text = await readRecordFile(dir);
  if (text === undefined) return undefined;
  const record = parseRecord(text);
  const path = join(dir, RECORD_NAME);
  if (record === 'not ours') {
    throw new NetbootError(
      `${path} is damaged, so it is not clear which files Netboot Composer wrote there; remove it or choose another --out.`,
    );
  }
  if ('lie' in record) {
    throw new NetbootError(
      `${path} ${record.lie}, so it is not a record Netboot Composer wrote and nothing it names is touched; remove it or choose another folder.`,
    );
  }
  return record;
}

/**
 * The first link on the way from the folder `dir` to its file `name` (a
 * subfolder of `dir` that is a link; the file itself is not looked at), or
 * undefined. What is written or removed through such a link lands outside
 * the folder, so no one does.
 */
export async function linkOnTheWay(dir: string, name: string): Promise<string | undefined> {
  const parts = name.split('/');
  for (let i = 1; i < parts.length; i++) {
    const folder = join(dir, ...parts.slice(0, i));
    if ((await lstat(folder).catch(() => undefined))?.isSymbolicLink()) return folder;
  }
  return undefined;
}

/** Write `text` to `dir`/`name` whole: a temporary file beside it (`NAME.partial-RANDOM`), renamed into place. */
export async function writeFileWhole(dir: string, name: string, text: string): Promise<void> {
  const temp = join(dir, `${name}.partial-${randomBytes(4).toString('hex')}`);
  try {
    await writeFile(temp, text);
    await rename(temp, join(dir, name));
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

/** The text of a record of `files` (see {@link FolderRecord}). */
export function folderRecordText(files: FolderRecord['files'], info: BootFolderInfo): string {
  // By name, so that the same files give the same record whatever order they were written in.
  const sorted = Object.fromEntries(Object.entries(files).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  const record: FolderRecord = { tool: 'netboot-composer', version: 1, info, files: sorted };
  return `${JSON.stringify(record, null, 2)}\n`;
}
