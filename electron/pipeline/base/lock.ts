/**
 * A lock between processes: a file created exclusively that holds the pid of
 * its owner, so a lock left by a process that died is taken over, not waited
 * for. The cache uses it (entries, pruning); any stage may.
 */
import { open, readFile, rm, stat } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';

/** True when process `pid` is alive (on this machine). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The pid written in a lock file, or undefined when it cannot be read. */
export async function lockOwner(file: string): Promise<number | undefined> {
  const text = await readFile(file, 'utf8').catch(() => undefined);
  const pid = Number(text?.trim());
  return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
}

/**
 * Take the lock file `file` (created exclusively, holding our pid). Waits
 * while a live process holds it; takes over one left by a dead process.
 * Gives up (returns false) after `waitMs`.
 */
export async function takeLock(file: string, waitMs: number, signal?: AbortSignal): Promise<boolean> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      const handle = await open(file, 'wx');
      await handle.writeFile(String(process.pid));
      await handle.close();
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const owner = await lockOwner(file);
    // An empty lock file is one being written this instant, unless it is old
    // (its writer died between creating and filling it).
    const stale =
      owner === undefined
        ? Date.now() - ((await stat(file).catch(() => undefined))?.mtimeMs ?? 0) > 10_000
        : !alive(owner);
    if (stale) {
      await rm(file, { force: true });
      continue;
    }
    if (Date.now() >= deadline) return false;
    signal?.throwIfAborted();
    await sleep(25);
  }
}

/**
 * Take the lock file `file` as {@link takeLock} does, telling `onWait` (once,
 * with the owner's pid) when another live process holds it and we wait.
 * Resolves to undefined once taken, or to the owner's pid (or 0 when it
 * cannot be read) when `waitMs` passed first.
 */
export async function waitForLock(
  file: string,
  options: { waitMs: number; signal?: AbortSignal | undefined; onWait?: (owner: number) => void },
): Promise<number | undefined> {
  const started = Date.now();
  if (await takeLock(file, 0, options.signal)) return undefined;
  options.onWait?.((await lockOwner(file)) ?? 0);
  if (await takeLock(file, Math.max(0, options.waitMs - (Date.now() - started)), options.signal)) return undefined;
  return (await lockOwner(file)) ?? 0;
}
