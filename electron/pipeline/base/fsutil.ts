/** File system helpers shared by the boot folder and the cache. */
import { access, constants, mkdir, realpath, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';

/** True when `path` exists and can be accessed with `mode` (default: it exists). */
export async function exists(path: string, mode = constants.F_OK): Promise<boolean> {
  return access(path, mode).then(
    () => true,
    () => false,
  );
}

function errnoCode(error: unknown): string {
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
