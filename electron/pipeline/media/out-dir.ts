/**
 * Writing the boot folder. Each file is written under a temporary name in the
 * folder and renamed into place, so a reader (a TFTP server, a person) sees
 * the old file or the new one, never half of one. A record of what we wrote
 * (`.netboot-composer.json`) lets the next build replace exactly those files,
 * skip the ones whose inputs did not change, and never touch anything else.
 *
 * One writer at a time: opening the folder takes its lock
 * (`.netboot-composer.lock`, the pid of the writer, across processes); a
 * second build or export waits for the first (and says so), or gives up
 * after NETBOOT_COMPOSER_LOCK_WAIT seconds (default 30 minutes) in one
 * sentence. A lock whose process is dead is taken over. The lock is let go
 * when the commit ends or the writer discards its work.
 *
 * A writer that is killed leaves no mix behind (see record.ts,
 * finishInterruptedCommit, for what a reader sees meanwhile): its
 * temporary files are listed in `.netboot-composer.temps` before they are
 * made, and its commit is written down in a journal before the first
 * rename; the next writer (or reader) finishes the commit and removes the
 * temporary files.
 */
import { randomBytes } from 'node:crypto';
import { access, constants, link, lstat, rm, rmdir, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { isAbort, NetbootError } from '../base/errors.ts';
import { diskIsFull, makeFolder, systemFolderProblem, whyNotWritable } from '../base/fsutil.ts';
import { waitForLock } from '../base/lock.ts';
import {
  linkOnTheWay,
  type BootFolderInfo,
  type FolderRecord,
  folderRecordText,
  isSafeName,
  JOURNAL_NAME,
  LOCK_NAME,
  readRecordNow,
  RECORD_NAME,
  TEMPS_NAME,
  writeFileWhole,
} from './record.ts';
import { applyJournal, type CommitJournal, recoverFolder, type TempsList } from './journal.ts';

/** A hidden file beside `name` (same folder, so a rename is atomic): `.NAME.KIND-RANDOM`. */
function besideName(name: string, kind: 'partial' | 'old'): string {
  const folder = dirname(name);
  const hidden = `.${basename(name)}.${kind}-${randomBytes(4).toString('hex')}`;
  return folder === '.' ? hidden : `${folder}/${hidden}`;
}

const DEFAULT_LOCK_WAIT_MS = 30 * 60_000;

/** How long a writer waits for another to finish with a folder: NETBOOT_COMPOSER_LOCK_WAIT seconds, or 30 minutes. */
export function lockWaitMs(env: NodeJS.ProcessEnv = process.env): number {
  const text = env.NETBOOT_COMPOSER_LOCK_WAIT?.trim();
  const seconds = Number(text);
  return text && Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : DEFAULT_LOCK_WAIT_MS;
}

function otherProcess(pid: number): string {
  return pid > 0 ? `Another Netboot Composer process (pid ${pid})` : 'Another Netboot Composer process';
}

/**
 * For the fault tests (test/faults/): with NETBOOT_COMPOSER_FAULT_HOLD_COMMIT=N
 * a commit stops for good once N files of this process are renamed into
 * place (0: after its journal is written, before the first rename), and
 * says so on stderr, so that a test can kill it at exactly that point.
 */
let renamesDone = 0;
async function faultHold(dir: string): Promise<void> {
  const hold = process.env.NETBOOT_COMPOSER_FAULT_HOLD_COMMIT;
  if (hold === undefined || hold.trim() === '' || Number(hold) !== renamesDone) return;
  process.stderr.write(`fault: holding the commit of ${dir} after ${renamesDone} renames\n`);
  await new Promise<never>(() => setInterval(() => undefined, 60_000));
}

/**
 * Take the lock file `lock`, which guards `what` (a folder, an image): wait
 * while another live process holds it (telling `onWait`), take over one of
 * a dead process, and give up after `waitMs` in one sentence. Resolves to
 * the function that lets it go.
 */
export async function lockFor(
  lock: string,
  what: string,
  options: OpenOptions & { how: string },
): Promise<() => Promise<void>> {
  const waitMs = options.waitMs ?? lockWaitMs();
  const owner = await waitForLock(lock, {
    waitMs,
    signal: options.signal,
    onWait: (pid) => options.onWait?.(`${otherProcess(pid)} is writing ${what}: waiting for it to finish.`),
  });
  if (owner !== undefined) {
    throw new NetbootError(
      `${otherProcess(owner)} is still writing ${what} after ${Math.round(waitMs / 1000)} s; wait for it to finish, or choose another ${options.how}.`,
    );
  }
  return () => rm(lock, { force: true });
}

export interface OpenOptions {
  /** How the messages tell a person to pick another folder: the CLI's option (default --out), or '' in the app. */
  option?: string;
  /** Told, in a sentence naming the folder and the other process, when another writer has the folder and this one waits. */
  onWait?: (message: string) => void;
  /** Stops the wait. */
  signal?: AbortSignal | undefined;
  /** How long to wait for another writer; default {@link lockWaitMs}. */
  waitMs?: number;
}

export class OutDir {
  readonly dir: string;
  private previous: FolderRecord['files'] = {};
  private previousInfo: BootFolderInfo = {};
  private written: FolderRecord['files'] = {};
  /** The temporary file (relative to the folder) of each name written and not yet committed. */
  private temps = new Map<string, string>();
  /** Every temporary file and folder this writer made: the temps list on disk. */
  private made: TempsList = { temps: [], folders: [] };
  private tempsSaved: Promise<void> = Promise.resolve();
  private replaced: string[] = [];
  /** Subfolders this export made (the top one and the deepest), removed again if it is discarded and they are empty. */
  private madeFolders: { top: string; deepest: string }[] = [];
  /** Lets the folder's lock go; undefined while it is not held. */
  private lockRelease: (() => Promise<void>) | undefined;

  /** How the messages tell a person to pick another folder: the CLI's option, or nothing in the app. */
  private readonly how: string;

  private constructor(dir: string, how: string) {
    this.dir = dir;
    this.how = how;
  }

  /**
   * Open `dir` for writing: create it if needed, check that it can be
   * written, take its lock (waiting for another writer), and put it in
   * order after a writer that was killed.
   */
  static async open(dir: string, options: OpenOptions = {}): Promise<OutDir> {
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
    const cannotWrite = async (error: unknown): Promise<NetbootError> =>
      new NetbootError(
        `The out folder ${dir} cannot be written (${await whyNotWritable(dir, error)}); choose a folder you can write to${how}.`,
        { cause: error },
      );
    try {
      await makeFolder(dir);
      await access(dir, constants.W_OK);
    } catch (error) {
      throw await cannotWrite(error);
    }
    try {
      out.lockRelease = await lockFor(join(dir, LOCK_NAME), dir, { ...options, how: `folder${how}` });
    } catch (error) {
      if (isAbort(error, options.signal) || error instanceof NetbootError) throw error;
      throw await cannotWrite(error);
    }
    try {
      await recoverFolder(dir);
      const record = await readRecordNow(dir);
      out.previous = record?.files ?? {};
      out.previousInfo = record?.info ?? {};
    } catch (error) {
      await out.unlock();
      throw error;
    }
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

  /** What the previous record says about the folder (RAM, toplevel). */
  recordedInfo(): BootFolderInfo {
    return this.previousInfo;
  }

  /** Keep `name` as it is (see {@link isCurrent}); returns its size. */
  keep(name: string): number {
    const recorded = this.previous[name];
    if (!recorded) throw new Error(`keep(${name}) without a record`);
    this.written[name] = recorded;
    return recorded.bytes;
  }

  /** Save the temps list: what a killed writer leaves for the next one to remove. Saves run one after another. */
  private saveTemps(): Promise<void> {
    const text = `${JSON.stringify(this.made)}\n`;
    const saving = this.tempsSaved.then(() => writeFileWhole(this.dir, TEMPS_NAME, text));
    this.tempsSaved = saving.catch(() => undefined);
    return saving;
  }

  private async diskFull(error: unknown): Promise<unknown> {
    if (!(await diskIsFull(this.dir, error))) return error;
    return new NetbootError(`The disk of ${this.dir} is full; free some space and try again.`, { cause: error });
  }

  /**
   * Write `name`: `produce` fills the temporary file it is given, which
   * {@link commit} renames into place. Returns the file's size.
   */
  async write(name: string, fingerprint: string, produce: (tempFile: string) => Promise<void>): Promise<number> {
    if (!isSafeName(name)) throw new Error(`not a file name inside the folder: ${name}`);
    await this.refuseLinkOnTheWay(name);
    const relative = besideName(name, 'partial');
    const temp = join(this.dir, relative);
    this.temps.set(name, relative);
    try {
      // Listed before they are made: a writer killed right after leaves nothing unlisted.
      this.made.temps.push(relative);
      const missing: string[] = [];
      for (let folder = dirname(name); folder !== '.'; folder = dirname(folder)) {
        if (!(await stat(join(this.dir, folder)).catch(() => undefined))) missing.unshift(folder);
      }
      this.made.folders.push(...missing.filter((folder) => !this.made.folders.includes(folder)));
      await this.saveTemps();
      if (name.includes('/')) {
        const made = await makeFolder(dirname(temp));
        if (made !== undefined) this.madeFolders.push({ top: made, deepest: dirname(temp) });
      }
      await produce(temp);
    } catch (error) {
      // Asked before the temporary file, which holds the room, is removed.
      const reported = await this.diskFull(error);
      await rm(temp, { force: true });
      this.temps.delete(name);
      throw reported;
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
   *
   * Before the first rename the new record is written under a temporary
   * name and the journal says what the commit does (record.ts, CommitJournal),
   * so a commit killed between two renames is finished by the next writer or
   * reader, with no disk space needed: the folder is never left a mix of
   * two builds for any of ours to read. The lock is let go at the end.
   */
  async commit(info: BootFolderInfo = {}): Promise<void> {
    try {
      await this.tempsSaved;
      // The new record: files kept as they were, and the new ones as they
      // will be once renamed (a rename keeps a file's size and time).
      const files: FolderRecord['files'] = {};
      for (const [name, entry] of Object.entries(this.written)) {
        const temp = this.temps.get(name);
        if (temp === undefined) {
          files[name] = entry;
          continue;
        }
        const found = await stat(join(this.dir, temp));
        files[name] = { fingerprint: entry.fingerprint, bytes: found.size, mtimeMs: found.mtimeMs };
      }
      const journal: CommitJournal = {
        tool: 'netboot-composer-commit',
        version: 1,
        renames: [...this.temps].map(([name, temp]) => ({ temp, name })),
        // Only a plain file of ours, whatever the record says (applyJournal checks).
        remove: Object.keys(this.previous).filter((name) => files[name] === undefined && isSafeName(name)),
        record: `${RECORD_NAME}.partial-${randomBytes(4).toString('hex')}`,
      };
      try {
        await writeFile(join(this.dir, journal.record), folderRecordText(files, info));
        await writeFileWhole(this.dir, JOURNAL_NAME, `${JSON.stringify(journal, null, 2)}\n`);
      } catch (error) {
        // Nothing renamed yet: as if the build had failed before its commit.
        const reported = await this.diskFull(error);
        await rm(join(this.dir, journal.record), { force: true });
        await this.discard();
        throw reported;
      }
      // From here the journal owns the temporary files: a failure leaves them to it.
      this.temps.clear();
      await faultHold(this.dir);
      await applyJournal(this.dir, journal, {
        // Freeing a replaced file of hundreds of MB takes the file system a
        // few hundred ms, inside the rename that drops its last link. Keep a
        // link to it, and free it in release(), once the new folder is in place.
        beforeRename: async (name) => {
          const target = join(this.dir, name);
          if (this.previous[name] === undefined || !(await lstat(target).catch(() => undefined))?.isFile()) return;
          const old = join(this.dir, besideName(name, 'old'));
          if (
            await link(target, old).then(
              () => true,
              () => false,
            )
          )
            this.replaced.push(old);
        },
        afterRename: async () => {
          renamesDone++;
          await faultHold(this.dir);
        },
      });
      await rm(join(this.dir, TEMPS_NAME), { force: true });
      this.written = files;
    } finally {
      await this.unlock();
    }
  }

  private async unlock(): Promise<void> {
    const release = this.lockRelease;
    this.lockRelease = undefined;
    await release?.();
  }

  /** Free the files the commit replaced (see {@link commit}); the folder is whole before and after. */
  async release(): Promise<void> {
    await Promise.all(this.replaced.splice(0).map((old) => rm(old, { force: true })));
  }

  /** Remove the temporary files of this build (on cancel or failure): the folder keeps the previous build. */
  async discard(): Promise<void> {
    await this.tempsSaved;
    await Promise.all([...this.temps.values()].map((temp) => rm(join(this.dir, temp), { force: true })));
    this.temps.clear();
    // The folders this export made, deepest first; rmdir leaves one that is not empty.
    for (const { top, deepest } of this.madeFolders.splice(0).reverse()) {
      for (let folder = deepest; ; folder = dirname(folder)) {
        await rmdir(folder).catch(() => undefined);
        if (folder === top || folder === dirname(folder)) break;
      }
    }
    // Its temporary files are gone; a journal, if the commit got that far, names its own.
    if (this.lockRelease) await rm(join(this.dir, TEMPS_NAME), { force: true });
    await this.unlock();
  }
}
