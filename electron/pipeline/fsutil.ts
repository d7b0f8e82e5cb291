/** File system helpers shared by the boot folder and the cache. */
import { access, constants, mkdir, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';

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
};

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
