/**
 * A commit that survives a kill. Before its first rename, a writer
 * (out-dir.ts) writes down the renames and removals it is about to make and
 * the new record; the next writer, or any reader of ours, carries out what
 * is left of them (finishInterruptedCommit), and removes the temporary files
 * a killed writer listed. What someone else wrote is followed only inside
 * the folder: never through a link, never outside.
 */
import { lstat, readdir, rename, rm, rmdir } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { NetbootError } from '../base/errors.ts';
import { exists, whyNotWritable } from '../base/fsutil.ts';
import { waitForLock } from '../base/lock.ts';
import {
  isSafeName,
  JOURNAL_NAME,
  linkOnTheWay,
  LOCK_NAME,
  readOwnFile,
  readRecordNow,
  RECORD_NAME,
  TEMPS_NAME,
} from './record.ts';

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
  const read = await readOwnFile(file);
  if (read === undefined || !('text' in read)) return undefined;
  const { text } = read;
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
