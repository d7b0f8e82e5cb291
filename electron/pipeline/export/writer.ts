/**
 * What every export does with a boot folder: read what the build recorded
 * there, and put files into an {@link OutDir} one by one, reporting each.
 */
import { constants, createReadStream, createWriteStream } from 'node:fs';
import { copyFile, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { initrdNames, isInitrdName, isStoreFile, SCRIPT_NAME } from '../../shared/boot-folder.ts';
import { formatBytes } from '../../shared/progress.ts';
import type { Arch, BuildEvent, ExportNote, OutputFile } from '../../shared/types.ts';
import { CanceledError, isAbort, NetbootError } from '../base/errors.ts';
import { alignmentPadding, padInitrd } from '../media/initrd-padding.ts';
import { OutDir } from '../media/out-dir.ts';
import { type BootFolderInfo } from '../media/record.ts';
import { readBootFolderFiles } from '../media/read-folder.ts';
import { storeName } from '../media/store.ts';

export interface RecordedFile {
  name: string;
  fingerprint: string;
  bytes: number;
}

/** A boot folder a build made, as an export reads it. */
export interface BootSource {
  dir: string;
  files: RecordedFile[];
  info: BootFolderInfo;
  /** The kernel's file name (bzImage, Image). */
  kernel: string;
  arch: Arch;
  /** What iPXE downloads: the kernel and the initrds. */
  downloadBytes: number;
  /** What to call the system in comments: its toplevel's name, when the build recorded it. */
  title: string;
}

/** Read the boot folder `from`; refuse a folder a build did not make, or one without a kernel and script. */
export async function readBootSource(from: string): Promise<BootSource> {
  const source = await readBootFolderFiles(from);
  if (!source || source.files.length === 0) {
    throw new NetbootError(`${from} holds no boot folder made by Netboot Composer; build the system first.`);
  }
  const names = source.files.map((f) => f.name);
  const kernel = ['bzImage', 'Image'].find((name) => names.includes(name));
  const missing = ['initrd', 'manifest', SCRIPT_NAME].filter((name) => !names.includes(name));
  if (!names.some(isStoreFile)) missing.push('nix-store');
  if (kernel === undefined || missing.length > 0) {
    throw new NetbootError(
      `${from} is not a whole boot folder (it lacks ${kernel === undefined ? 'a kernel' : missing.join(', ')}); build the system again.`,
    );
  }
  const downloadBytes = source.files
    .filter((f) => f.name === kernel || isInitrd(f.name))
    .reduce((sum, f) => sum + f.bytes + (isInitrd(f.name) ? alignmentPadding(f.bytes) : 0), 0);
  // In the order iPXE loads them, whatever order the build finished them in.
  const order = [kernel, ...initrdNames(names), SCRIPT_NAME];
  const rank = (name: string): number => (order.includes(name) ? order.indexOf(name) : order.length);
  return {
    dir: from,
    files: [...source.files].sort((a, b) => rank(a.name) - rank(b.name)),
    info: exportedInfo(source),
    kernel,
    arch: kernel === 'Image' ? 'aarch64-linux' : 'x86_64-linux',
    downloadBytes,
    title: source.info.toplevel ? storeName(source.info.toplevel) : 'the system',
  };
}

function isInitrd(name: string): boolean {
  return isInitrdName(name);
}

/**
 * How an export puts the boot folder's file `file`: copied as it is, except
 * an initrd that does not end on a 4-byte boundary (a boot folder made
 * before every initrd did), which is zero-padded on the way, as a build now
 * writes it: padding is cheap and certain, where refusing would send the
 * user back to build for three zero bytes. Its fingerprint says so, so an
 * unpadded copy an older export left is replaced.
 */
export function bootFileCopy(
  from: string,
  file: RecordedFile,
): { fingerprint: string; produce: (temp: string) => Promise<void> } {
  if (!isInitrd(file.name))
    return { fingerprint: file.fingerprint, produce: (temp) => copyBootFile(from, file.name, temp) };
  return {
    fingerprint: alignmentPadding(file.bytes) === 0 ? file.fingerprint : paddedFingerprint(file.fingerprint),
    produce: async (temp) => {
      await copyBootFile(from, file.name, temp);
      await padInitrd(temp);
    },
  };
}

/**
 * The record an export writes: the boot folder's, with the RAM the image
 * needs grown by the zero bytes {@link bootFileCopy} adds to its initrds, so
 * that it stays true of the exported files.
 */
export function exportedInfo(source: { files: readonly RecordedFile[]; info: BootFolderInfo }): BootFolderInfo {
  const padding = source.files.filter((f) => isInitrd(f.name)).reduce((sum, f) => sum + alignmentPadding(f.bytes), 0);
  return withPadding(source.info, padding);
}

/** A boot folder's record with `padding` zero bytes added to its initrds: they are in RAM too. */
export function withPadding(info: BootFolderInfo, padding: number): BootFolderInfo {
  if (padding === 0 || info.ramBytes === undefined) return info;
  return { ...info, ramBytes: info.ramBytes + padding };
}

/** The fingerprint of an initrd an export zero-padded: not the unpadded file's. */
export function paddedFingerprint(fingerprint: string): string {
  return `${fingerprint}+zero-padded to 4 bytes`;
}

/** What an export says when it is canceled. */
export function exportCanceled(): CanceledError {
  return new CanceledError(
    'The export was canceled; the folder holds the previous export, whole, and no partial files.',
  );
}

/** Refuse to export a boot folder into itself (or, for a TFTP root, into the folder that holds it). */
export function checkNotSource(from: string, to: string): void {
  if (resolve(from) === resolve(to)) {
    throw new NetbootError(`${to} is the boot folder itself; choose another folder to export to.`);
  }
}

/** Copy the bytes alone, not the mode (a read-only boot file would make a FAT stick refuse the chmod). */
export async function copyBytes(from: string, to: string, signal?: AbortSignal): Promise<void> {
  await pipeline(createReadStream(from), createWriteStream(to), { signal });
}

/** Copy the boot folder's file `name` to `temp`; a file gone since the build is said as such. */
export async function copyBootFile(from: string, name: string, temp: string): Promise<void> {
  try {
    // A reflink where the file system has them (btrfs, XFS): no bytes copied; else a copy.
    await copyFile(join(from, name), temp, constants.COPYFILE_FICLONE);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      throw new NetbootError(`${join(from, name)} is missing from the boot folder; build the system again.`, {
        cause: error,
      });
    }
    // copyFile also copies the mode (our boot files are read-only), which a
    // FAT stick refuses with EPERM: copy the bytes alone there.
    if (code === 'EPERM' || code === 'ENOTSUP' || code === 'EOPNOTSUPP') {
      await copyBytes(join(from, name), temp);
      return;
    }
    throw error;
  }
}

/**
 * Open the export's folder `dir` for writing (see OutDir.open): one writer
 * at a time, so a second export into it waits, and says so in a log event.
 */
export async function openExportDir(dir: string, hooks: ExportHooks): Promise<OutDir> {
  return OutDir.open(dir, {
    option: '',
    signal: hooks.signal,
    onWait: (message) => hooks.onEvent?.({ event: 'log', message }),
  }).catch((error: unknown) => {
    throw isAbort(error, hooks.signal) ? exportCanceled() : error;
  });
}

/**
 * Write an export through `out` all or nothing: `body` puts the files, then
 * they are renamed into place together; on a failure or a cancel the
 * temporary files are removed and the previous export stays whole.
 */
export async function writeWhole(
  out: OutDir,
  info: BootFolderInfo,
  signal: AbortSignal | undefined,
  body: () => Promise<void>,
): Promise<void> {
  try {
    await body();
    if (signal?.aborted) throw exportCanceled();
    await out.commit(info);
  } catch (error) {
    await out.discard();
    if (isAbort(error, signal)) throw exportCanceled();
    throw error;
  }
  await out.release();
}

/** Where an export reports its files: the hooks, and the summary's list. */
export interface FileReport {
  hooks: ExportHooks;
  files: OutputFile[];
}

/**
 * Put `name` into `out` (unless it is there already from the same inputs),
 * and report it as `shown` (its path in the export, e.g. demo/bzImage).
 */
export async function putFile(
  out: OutDir,
  name: string,
  fingerprint: string,
  produce: (tempFile: string) => Promise<void>,
  report: FileReport,
  shown = name,
): Promise<void> {
  if (report.hooks.signal?.aborted) throw exportCanceled();
  const current = await out.isCurrent(name, fingerprint);
  const bytes = current ? out.keep(name) : await out.write(name, fingerprint, produce);
  report.files.push({ name: shown, bytes });
  report.hooks.onEvent?.({ event: 'file', name: shown, bytes, reused: current });
}

/** Above this, iPXE on BIOS may fail to hold the download (DESIGN: "BIOS iPXE downloads above ~2 GB"). */
export const BIOS_DOWNLOAD_LIMIT = 2_000_000_000;

/** A warning for downloads too big for BIOS machines, if this one is. */
export function biosLimitNote(source: BootSource): ExportNote[] {
  if (source.arch !== 'x86_64-linux' || source.downloadBytes <= BIOS_DOWNLOAD_LIMIT) return [];
  return [
    {
      level: 'warning',
      message: `The download is ${formatBytes(source.downloadBytes)}: iPXE on BIOS machines often fails to load more than about 2 GB, so boot those machines with UEFI.`,
    },
  ];
}

/**
 * A warning when a server running as its own user (dnsmasq as nobody, a web
 * server as www-data) could not read `paths`: a folder on the way lacks o+x,
 * or a file lacks o+r.
 */
export async function othersCannotRead(paths: readonly string[], server: string): Promise<ExportNote[]> {
  const checked = new Set<string>();
  for (const path of paths) {
    const chain: string[] = [];
    for (let dir = dirname(resolve(path)); !checked.has(dir); dir = dirname(dir)) {
      chain.unshift(dir);
      checked.add(dir);
      if (dirname(dir) === dir) break;
    }
    for (const candidate of [...chain, resolve(path)]) {
      const info = await stat(candidate).catch(() => undefined);
      if (!info) continue;
      const need = info.isDirectory() ? constants.S_IXOTH : constants.S_IROTH;
      if ((info.mode & need) === 0) {
        const mode = (info.mode & 0o777).toString(8);
        const fix = info.isDirectory() ? 'chmod o+rx' : 'chmod o+r';
        return [
          {
            level: 'warning',
            message: `${server} usually runs as its own user, which cannot read ${candidate} (mode ${mode}): make it readable by others (${fix}), or export to a folder such as /srv.`,
          },
        ];
      }
    }
  }
  return [];
}

export interface ExportHooks {
  onEvent?: (event: BuildEvent) => void;
  signal?: AbortSignal | undefined;
  /**
   * A stick export's check that its folder is not on the disk the system
   * runs from: the disk's name when it is, else undefined. Default: the real
   * one (usb.ts, systemDiskHolding); tests whose stick is a folder in /tmp
   * say it is not.
   */
  systemDisk?: (dir: string) => Promise<string | undefined>;
}
