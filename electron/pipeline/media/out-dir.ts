/**
 * Writing the boot folder. Each file is written under a temporary name in the
 * folder and renamed into place, so a reader (a TFTP server, a person) sees
 * the old file or the new one, never half of one. A record of what we wrote
 * (`.netboot-composer.json`) lets the next build replace exactly those files,
 * skip the ones whose inputs did not change, and never touch anything else.
 */
import { randomBytes } from 'node:crypto';
import { access, constants, link, lstat, readdir, rename, rm, rmdir, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { NetbootError } from '../base/errors.ts';
import { makeFolder, systemFolderProblem, whyNotWritable } from '../base/fsutil.ts';
import { type BootFolderInfo, type FolderRecord, isSafeName, linkOnTheWay, readRecord, RECORD_NAME } from './record.ts';

function errnoCode(error: unknown): string {
  return (error as NodeJS.ErrnoException).code ?? 'error';
}

/** A hidden file beside `name` (same folder, so a rename is atomic): `.NAME.KIND-RANDOM`. */
function besideName(name: string, kind: 'partial' | 'old'): string {
  const folder = dirname(name);
  const hidden = `.${basename(name)}.${kind}-${randomBytes(4).toString('hex')}`;
  return folder === '.' ? hidden : `${folder}/${hidden}`;
}

export class OutDir {
  readonly dir: string;
  private previous: FolderRecord['files'] = {};
  private previousInfo: BootFolderInfo = {};
  private written: FolderRecord['files'] = {};
  private temps = new Map<string, string>();
  private replaced: string[] = [];
  /** Subfolders this export made (the top one and the deepest), removed again if it is discarded and they are empty. */
  private madeFolders: { top: string; deepest: string }[] = [];

  /** How the messages tell a person to pick another folder: the CLI's option, or nothing in the app. */
  private readonly how: string;

  private constructor(dir: string, how: string) {
    this.dir = dir;
    this.how = how;
  }

  /** Open `dir` for writing: create it if needed and check that it can be written. */
  static async open(dir: string, options: { option?: string } = {}): Promise<OutDir> {
    const how = options.option === undefined ? ' with --out' : options.option ? ` with ${options.option}` : '';
    const out = new OutDir(dir, how);
    // Links resolved: a folder that is a link to / or /etc is /, or /etc.
    const system = await systemFolderProblem(dir, how);
    if (system) throw new NetbootError(system);
    const info = await stat(dir).catch(() => undefined);
    if (info && (info.isBlockDevice() || info.isCharacterDevice())) {
      throw new NetbootError(`${dir} is a device, not a folder, and is never written to; choose a folder${how}.`);
    }
    if (info && !info.isDirectory()) {
      throw new NetbootError(`The out folder ${dir} is a file, not a folder; choose another folder${how}.`);
    }
    try {
      await makeFolder(dir);
      await access(dir, constants.W_OK);
    } catch (error) {
      throw new NetbootError(
        `The out folder ${dir} cannot be written (${await whyNotWritable(dir, error)}); choose a folder you can write to${how}.`,
        { cause: error },
      );
    }
    const record = await readRecord(dir);
    // Replaced files a build did not get to free (it was killed).
    const folders = new Set(
      Object.keys(record?.files ?? {})
        .filter(isSafeName)
        .map(dirname),
    );
    folders.add('.');
    for (const folder of folders) {
      // A subfolder that is now a link leads elsewhere: nothing there is ours.
      if (folder !== '.' && (await linkOnTheWay(dir, `${folder}/x`)) !== undefined) continue;
      for (const name of await readdir(join(dir, folder)).catch(() => [])) {
        const recorded = folder === '.' ? name.slice(1, -13) : `${folder}/${name.slice(1, -13)}`;
        if (/^\..+\.old-[0-9a-f]{8}$/.test(name) && record?.files[recorded] !== undefined) {
          await rm(join(dir, folder, name), { force: true });
        }
      }
    }
    out.previous = record?.files ?? {};
    out.previousInfo = record?.info ?? {};
    return out;
  }

  /** Refuse a name whose way from the folder goes through a link: what is written there lands elsewhere. */
  private async refuseLinkOnTheWay(name: string): Promise<void> {
    const link = await linkOnTheWay(this.dir, name);
    if (link !== undefined) {
      throw new NetbootError(
        `${link} is a link, so ${name} would be written outside ${this.dir}; remove the link or choose another folder${this.how}.`,
      );
    }
  }

  /**
   * Refuse to go on if a file named like one of `names` is there and we did
   * not write it (a link counts: it is left alone too, and what it points to
   * is never written), or if the way to it goes through a link.
   */
  async claim(names: readonly string[]): Promise<void> {
    for (const name of names) {
      if (!isSafeName(name)) throw new Error(`not a file name inside the folder: ${name}`);
      await this.refuseLinkOnTheWay(name);
      if (this.previous[name] !== undefined) continue;
      const existing = await lstat(join(this.dir, name)).catch(() => undefined);
      if (existing) {
        throw new NetbootError(
          `${join(this.dir, name)} was not written by Netboot Composer, so it is left alone; move it away or choose an empty folder${this.how}.`,
        );
      }
    }
  }

  /**
   * True when `name` is on disk exactly as we last wrote it from the same
   * inputs: a plain file (a link put in its place is replaced, not followed).
   */
  async isCurrent(name: string, fingerprint: string): Promise<boolean> {
    const recorded = this.previous[name];
    if (!recorded || recorded.fingerprint !== fingerprint) return false;
    if ((await linkOnTheWay(this.dir, name)) !== undefined) return false;
    const info = await lstat(join(this.dir, name)).catch(() => undefined);
    return info !== undefined && info.isFile() && info.size === recorded.bytes && info.mtimeMs === recorded.mtimeMs;
  }

  /** The names the previous record lists: what an earlier build or export wrote here. */
  recorded(): string[] {
    return Object.keys(this.previous);
  }

  /** Keep `name` as it is (see {@link isCurrent}); returns its size. */
  keep(name: string): number {
    const recorded = this.previous[name];
    if (!recorded) throw new Error(`keep(${name}) without a record`);
    this.written[name] = recorded;
    return recorded.bytes;
  }

  /**
   * Write `name`: `produce` fills the temporary file it is given, which
   * {@link commit} renames into place. Returns the file's size.
   */
  async write(name: string, fingerprint: string, produce: (tempFile: string) => Promise<void>): Promise<number> {
    if (!isSafeName(name)) throw new Error(`not a file name inside the folder: ${name}`);
    await this.refuseLinkOnTheWay(name);
    const temp = join(this.dir, besideName(name, 'partial'));
    this.temps.set(name, temp);
    try {
      if (name.includes('/')) {
        const made = await makeFolder(dirname(temp));
        if (made !== undefined) this.madeFolders.push({ top: made, deepest: dirname(temp) });
      }
      await produce(temp);
    } catch (error) {
      await rm(temp, { force: true });
      this.temps.delete(name);
      if (errnoCode(error) === 'ENOSPC') {
        throw new NetbootError(`The disk of ${this.dir} is full; free some space and try again.`, { cause: error });
      }
      throw error;
    }
    const { size } = await stat(temp);
    this.written[name] = { fingerprint, bytes: size, mtimeMs: 0 };
    return size;
  }

  /**
   * Put every written file in place, one rename each, all at the end: until
   * then the folder holds the previous build, whole. Then remove the files an
   * earlier build wrote that this one did not (the kernel's name changes with
   * the architecture), and save the record.
   */
  async commit(info: BootFolderInfo = {}): Promise<void> {
    // Name the new files in the record before they appear, so that a crash
    // between the renames does not leave files no record claims.
    const pending: FolderRecord['files'] = { ...this.previous };
    for (const name of this.temps.keys()) pending[name] = { fingerprint: '', bytes: -1, mtimeMs: 0 };
    await this.saveRecord(pending, this.previousInfo);
    for (const [name, temp] of this.temps) {
      const target = join(this.dir, name);
      // Freeing a replaced file of hundreds of MB takes the file system a
      // few hundred ms, inside the rename that drops its last link. Keep a
      // link to it, and free it in release(), once the new folder is in place.
      if (this.previous[name] !== undefined && (await lstat(target).catch(() => undefined))?.isFile()) {
        const old = join(this.dir, besideName(name, 'old'));
        if (
          await link(target, old).then(
            () => true,
            () => false,
          )
        )
          this.replaced.push(old);
      }
      await rename(temp, target);
      const info = await stat(join(this.dir, name));
      this.written[name] = { ...this.written[name]!, bytes: info.size, mtimeMs: info.mtimeMs };
    }
    this.temps.clear();
    for (const name of Object.keys(this.previous)) {
      if (this.written[name] !== undefined || !isSafeName(name)) continue;
      // Only a plain file of ours, inside the folder, whatever the record says.
      if ((await linkOnTheWay(this.dir, name)) !== undefined) continue;
      const path = join(this.dir, name);
      if ((await lstat(path).catch(() => undefined))?.isFile()) await rm(path);
    }
    await this.saveRecord(this.written, info);
  }

  private async saveRecord(files: FolderRecord['files'], info: BootFolderInfo): Promise<void> {
    const record: FolderRecord = { tool: 'netboot-composer', version: 1, info, files };
    const temp = join(this.dir, `${RECORD_NAME}.partial-${randomBytes(4).toString('hex')}`);
    await writeFile(temp, `${JSON.stringify(record, null, 2)}\n`);
    await rename(temp, join(this.dir, RECORD_NAME));
  }

  /** Free the files the commit replaced (see {@link commit}); the folder is whole before and after. */
  async release(): Promise<void> {
    await Promise.all(this.replaced.splice(0).map((old) => rm(old, { force: true })));
  }

  /** Remove the temporary files of this build (on cancel or failure): the folder keeps the previous build. */
  async discard(): Promise<void> {
    await Promise.all([...this.temps.values()].map((temp) => rm(temp, { force: true })));
    this.temps.clear();
    // The folders this export made, deepest first; rmdir leaves one that is not empty.
    for (const { top, deepest } of this.madeFolders.splice(0).reverse()) {
      for (let folder = deepest; ; folder = dirname(folder)) {
        await rmdir(folder).catch(() => undefined);
        if (folder === top || folder === dirname(folder)) break;
      }
    }
  }
}
