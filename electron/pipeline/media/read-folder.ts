/**
 * Reading a boot folder that a build or an export may be writing, or that
 * someone else wrote: an interrupted commit is finished first, the record
 * must tell the truth (names inside the folder, plain files of the recorded
 * size), and nothing outside the folder is read.
 */
import { lstat } from 'node:fs/promises';
import { join } from 'node:path';
import { SCRIPT_NAME } from '../../shared/boot-folder.ts';
import { NetbootError } from '../base/errors.ts';
import { finishInterruptedCommit } from './journal.ts';
import { type BootFolderInfo, type FolderRecord, linkOnTheWay, readRecordNow } from './record.ts';

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
