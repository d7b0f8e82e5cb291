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
import { lstat, readdir, readFile, rename, rm, rmdir, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { NetbootError } from '../base/errors.ts';
import { exists, whyNotWritable } from '../base/fsutil.ts';
import { waitForLock } from '../base/lock.ts';

export const RECORD_NAME = '.netboot-composer.json';
export const LOCK_NAME = '.netboot-composer.lock';
export const TEMPS_NAME = '.netboot-composer.temps';
export const JOURNAL_NAME = '.netboot-composer.commit';

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
    !name.includes('\\') &&
    !name.includes('\0') &&
    name.split('/').every((part) => part !== '' && part !== '.' && part !== '..')
  );
}

/** A record's text, or undefined when it is not one of ours. */
function parseRecord(text: string): FolderRecord | undefined {
  try {
    const record = JSON.parse(text) as Partial<FolderRecord>;
    if (record.tool === 'netboot-composer' && record.files && typeof record.files === 'object') {
      return { tool: 'netboot-composer', version: 1, info: record.info ?? {}, files: record.files };
    }
  } catch {
    // not JSON
  }
  return undefined;
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

/** What a record's text says (see {@link recordText}), or undefined when it is not one of ours. */
export function readRecordText(text: string): { files: string[]; info: BootFolderInfo } | undefined {
  const record = parseRecord(text);
  return record && { files: Object.keys(record.files), info: record.info ?? {} };
}

/**
 * The record of `dir` as it is on disk, without finishing an interrupted
 * commit first: for the writer that holds the folder's lock (see {@link readRecord}).
 */
export async function readRecordNow(dir: string): Promise<FolderRecord | undefined> {
  let text: string;
  try {
    text = await readFile(join(dir, RECORD_NAME), 'utf8');
  } catch {
    return undefined;
  }
  const record = parseRecord(text);
  if (record) return record;
  throw new NetbootError(
    `${join(dir, RECORD_NAME)} is damaged, so it is not clear which files Netboot Composer wrote there; remove it or choose another --out.`,
  );
}

/** The record of the boot folder `dir` (undefined if we made none there), its last commit finished first. */
export async function readRecord(dir: string): Promise<FolderRecord | undefined> {
  await finishInterruptedCommit(dir);
  return readRecordNow(dir);
}

/** What the build recorded about the boot folder `dir`, or nothing if we did not make it. */
export async function readBootFolderInfo(dir: string): Promise<BootFolderInfo> {
  try {
    return (await readRecord(dir))?.info ?? {};
  } catch {
    return {};
  }
}

/** The files Netboot Composer wrote in `dir` (name and fingerprint), or undefined if it made no boot folder there. */
export async function readBootFolderFiles(
  dir: string,
): Promise<{ files: { name: string; fingerprint: string; bytes: number }[]; info: BootFolderInfo } | undefined> {
  const record = await readRecord(dir);
  if (!record) return undefined;
  const files = Object.entries(record.files).map(([name, f]) => ({ name, fingerprint: f.fingerprint, bytes: f.bytes }));
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

async function readJson<T>(file: string): Promise<T | undefined> {
  const text = await readFile(file, 'utf8').catch(() => undefined);
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
  if (!isSafeName(relative)) return;
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
    if (typeof temp === 'string' && isOurTemp(temp)) await rm(join(dir, temp), { force: true });
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
