/** File system helpers shared by the boot folder and the cache. */
import { access, constants, mkdir, mkdtemp, readdir, realpath, rm, stat, statfs } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { ToolFailedError } from './errors.ts';
import { alive } from './lock.ts';

/** True when `path` exists and can be accessed with `mode` (default: it exists). */
export async function exists(path: string, mode = constants.F_OK): Promise<boolean> {
  return access(path, mode).then(
    () => true,
    () => false,
  );
}

/** The errno code of `error` (ENOENT, ELOOP...), or 'error'. */
export function errnoCode(error: unknown): string {
  return (error as NodeJS.ErrnoException).code ?? 'error';
}

const REASONS: { [code: string]: string } = {
  EROFS: 'read-only file system',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  ENOTDIR: 'part of the path is a file',
  ENOSPC: 'the disk is full',
  // What /proc and /sys say to a new folder.
  ENOENT: 'no folder can be made there',
};

/** Less room than this left on a file system, and a write that failed there failed for want of room. */
const FULL_BYTES = 1024 * 1024;

/** What a tool says when it cannot write for want of room: errno's words. */
const FULL_WORDS = /No space left on device/i;

/**
 * mksquashfs's words for any write that failed (a full disk, an I/O error).
 * It removes its output when it fails, so the room it took is free again:
 * they mean a full disk only where little room is left at all.
 */
const WRITE_FAILED_WORDS = /Failed to write to output filesystem/i;
const LITTLE_ROOM_BYTES = 64 * 1024 * 1024;

/**
 * True when `error`, from writing a file in `dir`, came of a full disk:
 * ENOSPC from Node (here or in its cause), or a tool that failed saying so
 * in its words, or failed while the file system of `dir` has next to no room
 * left. Ask before removing the half-written file, which holds the room
 * (mksquashfs removes its own).
 */
export async function diskIsFull(dir: string, error: unknown): Promise<boolean> {
  for (let e = error; e instanceof Error; e = e.cause) if (errnoCode(e) === 'ENOSPC') return true;
  if (!(error instanceof ToolFailedError)) return false;
  const said = `${error.message}\n${error.details ?? ''}`;
  if (FULL_WORDS.test(said)) return true;
  const stats = await statfs(dir).catch(() => undefined);
  if (stats === undefined) return false;
  const room = stats.bavail * stats.bsize;
  return room < FULL_BYTES || (WRITE_FAILED_WORDS.test(said) && room < LITTLE_ROOM_BYTES);
}

/**
 * `mkdir -p`, made one folder at a time. Node's own `mkdir(dir, { recursive:
 * true })` never returns where a folder exists but a child cannot be made in
 * it and the system says ENOENT rather than EACCES (`/proc/x`: it retries the
 * parent, which exists, then the child, forever, at full CPU; Node 20 and
 * 22). Here each level is tried once, so every failure ends in its own error.
 * Resolves to the first folder it made (like Node's), or undefined if `dir`
 * was there.
 */
export async function makeFolder(dir: string): Promise<string | undefined> {
  const target = resolve(dir);
  // The missing folders, from the deepest up to the first existing one.
  const missing: string[] = [];
  for (let folder = target; ; folder = dirname(folder)) {
    const info = await stat(folder).catch((error: unknown) => {
      if (errnoCode(error) === 'ENOENT') return undefined;
      throw error;
    });
    if (info) {
      if (!info.isDirectory()) throw Object.assign(new Error(`${folder} is not a folder`), { code: 'ENOTDIR' });
      break;
    }
    missing.push(folder);
    if (dirname(folder) === folder) break;
  }
  let first: string | undefined;
  for (const folder of missing.reverse()) {
    try {
      await mkdir(folder);
      first ??= folder;
    } catch (error) {
      // Made by someone else meanwhile: fine, if it is a folder.
      if (errnoCode(error) !== 'EEXIST' || !(await stat(folder)).isDirectory()) throw error;
    }
  }
  return first;
}

/**
 * Why `dir` cannot be made or written, in words. A recursive mkdir reports
 * ENOENT for most failures, so the first missing folder is made alone to
 * learn the real reason.
 */
export async function whyNotWritable(dir: string, error: unknown): Promise<string> {
  let code = errnoCode(error);
  if (code === 'ENOENT') {
    let missing = dir;
    while (dirname(missing) !== missing && !(await stat(dirname(missing)).catch(() => undefined)))
      missing = dirname(missing);
    code = await mkdir(missing).then(
      async () => {
        await rm(missing, { recursive: true, force: true });
        return code;
      },
      (inner: unknown) => errnoCode(inner),
    );
  }
  return REASONS[code] ?? code;
}

/**
 * Folders of the system itself, and everything in them: no export or build
 * writes there. (/proc and /sys take no new files at all: makeFolder and the
 * first write say so.)
 */
const SYSTEM_TREES = ['/etc', '/boot', '/usr', '/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32', '/dev', '/nix'];

/** Folders that hold the system's others, themselves (their subfolders are fine: /var/lib/tftpboot, /home/me). */
const SYSTEM_TOPS = ['/', '/var', '/home', '/run'];

/**
 * Where `path` really is: symbolic links resolved (for a path that does not
 * exist yet, those of its nearest existing folder).
 */
export async function realLocation(path: string): Promise<string> {
  const rest: string[] = [];
  for (let at = resolve(path); ; at = dirname(at)) {
    const real = await realpath(at).catch(() => undefined);
    if (real !== undefined) return join(real, ...rest.reverse());
    if (dirname(at) === at) return resolve(path);
    rest.push(basename(at));
  }
}

/**
 * The system folder `path` is, or is inside, once links are resolved
 * (`/etc`, `/boot`, `/`...), or undefined when it is a place of one's own.
 * Pure apart from resolving links.
 */
export async function systemFolderOf(path: string): Promise<{ real: string; system: string } | undefined> {
  const real = await realLocation(path);
  if (SYSTEM_TOPS.includes(real)) return { real, system: real };
  const tree = SYSTEM_TREES.find((top) => real === top || real.startsWith(`${top}/`));
  return tree === undefined ? undefined : { real, system: tree };
}

/** One sentence when `path` is a system folder, else undefined; `how` says how to choose another (" with --out"). */
export async function systemFolderProblem(path: string, how: string): Promise<string | undefined> {
  const found = await systemFolderOf(path);
  if (!found) return undefined;
  const where = found.real === resolve(path) ? path : `${path} (which leads to ${found.real})`;
  return `${where} is ${found.real === found.system ? '' : 'inside '}${found.system === '/' ? 'the top folder of the system' : `${found.system}, a folder of the system itself`}, so nothing is written there; choose a folder of your own${how}.`;
}

/**
 * Remove what processes that died left in the system's temporary folder:
 * the files or folders named `PREFIX` + pid + `-` + a rest that `rest`
 * matches, whose process is no longer alive.
 */
export async function removeDeadScratch(prefix: string, rest: RegExp): Promise<void> {
  for (const name of await readdir(tmpdir()).catch(() => [] as string[])) {
    const match = name.startsWith(prefix) ? /^(\d+)-(.*)$/.exec(name.slice(prefix.length)) : null;
    if (!match || !rest.test(match[2]!)) continue;
    const pid = Number(match[1]);
    if (pid !== process.pid && !alive(pid)) await rm(join(tmpdir(), name), { recursive: true, force: true });
  }
}

/**
 * A new scratch folder in the system's temporary folder, named
 * `PREFIX` + our pid + random characters. The scratch folders of `prefix`
 * whose process is dead (killed before it removed its own) are removed first.
 */
export async function makeScratch(prefix: string): Promise<string> {
  await removeDeadScratch(prefix, /^[A-Za-z0-9]{6}$/);
  return mkdtemp(join(tmpdir(), `${prefix}${process.pid}-`));
}
