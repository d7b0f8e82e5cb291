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
 *                             (see {@link finishInterruptedCommit})
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { lstat, open, readdir, rename, rm, rmdir, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { SCRIPT_NAME } from '../../shared/boot-folder.ts';
import { NetbootError } from '../base/errors.ts';
import { exists, whyNotWritable } from '../base/fsutil.ts';
import { waitForLock } from '../base/lock.ts';
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

function errnoCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException).code;
}

/**
 * The text of `dir`'s record, or undefined when there is none. Read without
 * following a link (a record that is one is refused, whatever it points to),
 * without waiting on a FIFO, and only when it is a plain file of a record's
 * size: nothing outside the folder is read, and nothing huge.
 */
async function readRecordFile(dir: string): Promise<string | undefined> {
  const path = join(dir, RECORD_NAME);
  let handle;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    if (errnoCode(error) === 'ELOOP') {
      throw new NetbootError(
        `${path} is a link, and Netboot Composer writes its record as a plain file, so it is not one of ours and was not followed; remove it or choose another folder.`,
      );
    }
    return undefined;
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) {
      throw new NetbootError(
        `${path} is not a plain file, so it is not a record of Netboot Composer's; remove it or choose another folder.`,
      );
    }
    if (info.size > MAX_RECORD_BYTES) {
      throw new NetbootError(
        `${path} is ${info.size} bytes long, far more than a record of Netboot Composer's, so it was not read; remove it or choose another folder.`,
      );
    }
    const buffer = Buffer.alloc(MAX_RECORD_BYTES + 1);
    let length = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, length);
      if (bytesRead === 0) break;
      length += bytesRead;
      if (length > MAX_RECORD_BYTES) {
        throw new NetbootError(
          `${path} grew while it was read, so it is not a record of Netboot Composer's; remove it or choose another folder.`,
        );
      }
    }
    return buffer.subarray(0, length).toString('utf8');
  } finally {
    await handle.close();
  }
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

/** The record of the boot folder `dir` (undefined if we made none there), its last commit finished first. */
export async function readRecord(dir: string): Promise<FolderRecord | undefined> {
  await finishInterruptedCommit(dir);
  return readRecordNow(dir);
}

/** What the build recorded about the boot folder `dir`, or nothing if we did not make it (or its record lies). */
export async function readBootFolderInfo(dir: string): Promise<BootFolderInfo> {
  try {
    return (await readRecord(dir))?.info ?? {};
  } catch {
    return {};
  }
}

/**
 * Files a person may change after the build: the README's USB media follow
 * netboot.ipxe, "edits included". Their size may differ from the record's.
 */
const EDITABLE = new Set([SCRIPT_NAME]);

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

/**
 * Check that `name`, in the folder `dir` that a record lists it in, is what
 * the record says: a plain file inside the folder (no link on the way), of
 * the recorded size. Only metadata is read (lstat), never what a link points to.
 */
async function checkRecordedFile(
  dir: string,
  name: string,
  bytes: number,
  missingOk: boolean,
): Promise<{ size: number; mtimeMs: number } | undefined> {
  const link = await linkOnTheWay(dir, name);
  if (link !== undefined) {
    throw new NetbootError(
      `${link} is a link, and a boot folder Netboot Composer made holds none, so it is not followed; build the system again into a new folder.`,
    );
  }
  const path = join(dir, name);
  const info = await lstat(path).catch(() => undefined);
  if (!info && missingOk) return undefined;
  if (!info) throw new NetbootError(`${path} is missing from the boot folder; build the system again.`);
  if (info.isSymbolicLink()) {
    throw new NetbootError(
      `${path} is a link, and a boot folder Netboot Composer made holds none, so it is not followed; build the system again into a new folder.`,
    );
  }
  if (!info.isFile()) {
    throw new NetbootError(
      `${path} is not a plain file, so it is not one Netboot Composer wrote; build the system again.`,
    );
  }
  if (bytes === -1) {
    throw new NetbootError(
      `${dir} holds a build that did not finish (${name} was being written); build the system again.`,
    );
  }
  if (info.size !== bytes && !EDITABLE.has(name)) {
    throw new NetbootError(
      `${path} is ${info.size} bytes, but the folder's record says ${bytes}: it changed after Netboot Composer wrote it; build the system again.`,
    );
  }
  return { size: info.size, mtimeMs: info.mtimeMs };
}

/**
 * The files Netboot Composer wrote in `dir` (name, fingerprint, size), or
 * undefined if it made no boot folder there. The folder may come from
 * anyone: every file is checked against the record (see
 * {@link checkRecordedFile}) before an export or a test boot reads it. A
 * netboot.ipxe edited by hand is taken as it is, with its new size. With
 * `missingOk` (a test boot: iPXE then says which file it could not load), a
 * file that is gone is left out rather than refused.
 */
export async function readBootFolderFiles(
  dir: string,
  options: { missingOk?: boolean } = {},
): Promise<{ files: { name: string; fingerprint: string; bytes: number }[]; info: BootFolderInfo } | undefined> {
  const record = await readRecord(dir);
  if (!record) return undefined;
  const files: { name: string; fingerprint: string; bytes: number }[] = [];
  for (const [name, recorded] of Object.entries(record.files)) {
    const found = await checkRecordedFile(dir, name, recorded.bytes, options.missingOk === true);
    if (!found) continue;
    const { size, mtimeMs } = found;
    const edited = size !== recorded.bytes;
    files.push({ name, fingerprint: edited ? `edited:${size}:${mtimeMs}` : recorded.fingerprint, bytes: size });
  }
  return { files, info: record.info ?? {} };
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

/**
 * What a commit does, written before it does any of it. Every new file and
 * the new record are already whole under temporary names when it is
 * written, so finishing it needs no disk space: renames and removals.
 */
export interface CommitJournal {
  tool: 'netboot-composer-commit';
  version: 1;
  /** Temporary files (relative to the folder) and the names they are renamed to, in order. */
  renames: { temp: string; name: string }[];
  /** Files of the previous record that this commit removes. */
  remove: string[];
  /** The new record, under its temporary name: renamed into place last. */
  record: string;
}

/** The temporary files and folders a writer made (`.netboot-composer.temps`). */
export interface TempsList {
  temps: string[];
  /** Folders it made for files in subfolders, deepest last. */
  folders: string[];
}

/** `.NAME.partial-RANDOM` or `.NAME.old-RANDOM` beside a file of the folder: the only names a cleanup removes. */
const OUR_TEMP = /^\..+\.(partial|old)-[0-9a-f]{8}$/;
/** The temporary files of the record, the journal and the temps list. */
const OUR_META_TEMP = /^\.netboot-composer\.(json|commit|temps)\.partial-[0-9a-f]{8}$/;

function isOurTemp(relative: string): boolean {
  return isSafeName(relative) && OUR_TEMP.test(basename(relative));
}

/**
 * The JSON in `file` (the journal, the temps list), read as the record is:
 * only a plain file of a record's size, never through a link or from a FIFO.
 * Anything else is no journal of ours.
 */
async function readJson<T>(file: string): Promise<T | undefined> {
  const handle = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK).catch(
    () => undefined,
  );
  if (handle === undefined) return undefined;
  let text: string | undefined;
  try {
    const info = await handle.stat();
    if (info.isFile() && info.size <= MAX_RECORD_BYTES) text = await handle.readFile('utf8');
  } finally {
    await handle.close();
  }
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as T;
  } catch {
    return undefined;
  }
}

async function readJournal(dir: string): Promise<CommitJournal | undefined> {
  const journal = await readJson<Partial<CommitJournal>>(join(dir, JOURNAL_NAME));
  if (
    journal?.tool !== 'netboot-composer-commit' ||
    !Array.isArray(journal.renames) ||
    !Array.isArray(journal.remove) ||
    typeof journal.record !== 'string'
  ) {
    return undefined;
  }
  return journal as CommitJournal;
}

/** Remove `relative` in `dir` if it is a plain file (never a folder, a link's target or anything outside). */
async function removeFile(dir: string, relative: string): Promise<void> {
  if (!isSafeName(relative) || (await linkOnTheWay(dir, relative)) !== undefined) return;
  const path = join(dir, relative);
  if ((await lstat(path).catch(() => undefined))?.isFile()) await rm(path, { force: true });
}

/**
 * Carry out the commit `journal` describes in `dir`: each temporary file
 * still there renamed to its name (one already renamed is not there any
 * more), the files it drops removed, the new record put in place, the
 * journal removed. Idempotent: a commit killed at any point is finished by
 * running it again. `beforeRename` and `afterRename` are the writer's own
 * (out-dir.ts); a recovery passes none.
 */
export async function applyJournal(
  dir: string,
  journal: CommitJournal,
  hooks: { beforeRename?: (name: string) => Promise<void>; afterRename?: () => Promise<void> } = {},
): Promise<void> {
  for (const { temp, name } of journal.renames) {
    if (!isOurTemp(temp) || !isSafeName(name)) continue;
    // A journal someone else wrote must not move a file out through a linked subfolder.
    if ((await linkOnTheWay(dir, temp)) !== undefined || (await linkOnTheWay(dir, name)) !== undefined) continue;
    if (!(await lstat(join(dir, temp)).catch(() => undefined))?.isFile()) continue;
    await hooks.beforeRename?.(name);
    await rename(join(dir, temp), join(dir, name));
    await hooks.afterRename?.();
  }
  for (const name of journal.remove) await removeFile(dir, name);
  if (OUR_META_TEMP.test(journal.record) && (await exists(join(dir, journal.record)))) {
    await rename(join(dir, journal.record), join(dir, RECORD_NAME));
  }
  await rm(join(dir, JOURNAL_NAME), { force: true });
}

/**
 * Put the folder `dir` in order after a writer that was killed: finish its
 * commit (if the journal is there), then remove its temporary files (those
 * the temps list names, and the replaced files it had not freed yet) and
 * the empty folders it made. Only for the holder of the folder's lock.
 */
export async function recoverFolder(dir: string): Promise<void> {
  const journal = await readJournal(dir);
  if (journal) await applyJournal(dir, journal);
  // A journal that is not one (edited by hand): what it said cannot be done.
  else await rm(join(dir, JOURNAL_NAME), { force: true });
  const list = await readJson<Partial<TempsList>>(join(dir, TEMPS_NAME));
  for (const temp of Array.isArray(list?.temps) ? list.temps : []) {
    if (typeof temp === 'string' && isOurTemp(temp)) await removeFile(dir, temp);
  }
  for (const folder of Array.isArray(list?.folders) ? [...list.folders].reverse() : []) {
    if (typeof folder === 'string' && isSafeName(folder)) await rmdir(join(dir, folder)).catch(() => undefined);
  }
  await rm(join(dir, TEMPS_NAME), { force: true });
  // Replaced files a commit did not get to free, beside the files of the record.
  const record = await readRecordNow(dir).catch(() => undefined);
  const folders = new Set(
    Object.keys(record?.files ?? {})
      .filter(isSafeName)
      .map(dirname),
  );
  folders.add('.');
  for (const folder of folders) {
    // A subfolder that is now a link leads elsewhere: nothing there is ours.
    if (folder !== '.' && (await linkOnTheWay(dir, `${folder}/x`)) !== undefined) continue;
    for (const name of await readdir(join(dir, folder)).catch(() => [] as string[])) {
      const old = /^\.(.+)\.old-[0-9a-f]{8}$/.exec(name);
      const recorded = old && (folder === '.' ? old[1]! : `${folder}/${old[1]}`);
      if ((recorded && record?.files[recorded] !== undefined) || (folder === '.' && OUR_META_TEMP.test(name))) {
        await rm(join(dir, folder, name), { force: true });
      }
    }
  }
}

/** How long a reader waits for a writer in the middle of a commit (which takes milliseconds). */
const READER_WAIT_MS = 60_000;

/**
 * Finish the commit a writer of `dir` began and did not end (it was killed
 * between its first rename and its last), before reading the folder.
 *
 * What a reader sees between such a kill and the next run of Netboot
 * Composer on the folder: each file is whole, the old one or the new one
 * (every file is renamed into place), but together they can be a mix of the
 * previous build and the new one, under the previous record, with the new
 * files not yet renamed lying beside them under hidden temporary names and
 * the journal `.netboot-composer.commit` saying what is left to do. Every
 * reader of ours (the record's readers here, so every export's source, a
 * test boot, and the next build or export into the folder, OutDir.open)
 * first finishes the commit from the journal, so it sees the new boot
 * folder, whole; a reader that is not ours (a TFTP or web server serving
 * the folder, a person) sees the mix until one of ours has run. Without a
 * journal there is no mix: a writer killed before it wrote the journal
 * leaves the previous folder as it was (and hidden temporary files that the
 * next writer removes).
 */
export async function finishInterruptedCommit(dir: string): Promise<void> {
  if (!(await exists(join(dir, JOURNAL_NAME)))) return;
  let owner: number | undefined;
  try {
    owner = await waitForLock(join(dir, LOCK_NAME), { waitMs: READER_WAIT_MS });
  } catch (error) {
    throw new NetbootError(
      `The last build or export into ${dir} was stopped while it put its files in place, and finishing it needs to write there (${await whyNotWritable(dir, error)}); run it again where the folder can be written.`,
      { cause: error },
    );
  }
  if (owner !== undefined) {
    throw new NetbootError(
      `Another Netboot Composer process (pid ${owner}) is putting its files in place in ${dir}; try again when it has finished.`,
    );
  }
  try {
    await recoverFolder(dir);
  } finally {
    await rm(join(dir, LOCK_NAME), { force: true });
  }
}
