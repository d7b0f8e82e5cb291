/**
 * The record of a boot folder, `.netboot-composer.json`: which files
 * Netboot Composer wrote there (with the fingerprint of what each was made
 * from), and facts about the system (RAM needed, toplevel). A build writes
 * it; a test boot, an export and the next build read it. A USB image carries
 * the same record.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { NetbootError } from '../base/errors.ts';

export const RECORD_NAME = '.netboot-composer.json';

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

export async function readRecord(dir: string): Promise<FolderRecord | undefined> {
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
