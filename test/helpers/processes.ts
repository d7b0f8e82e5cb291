/**
 * Processes as /proc shows them, to prove that a run left none behind: the
 * descendants of a process (by parent id), and the processes that carry a
 * marker in their environment, which every descendant inherits, so that those
 * reparented to init after their parent exited are found too. Nothing here
 * looks at other processes of the machine by name.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** Every process id in /proc. */
function pids(): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .map(Number);
}

/** The parent of `pid` (from /proc/PID/stat, after the command name, which may hold spaces and parentheses). */
function parentOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[0] is the state; a zombie has exited and holds nothing but its exit status.
    if (fields[0] === 'Z') return undefined;
    return Number(fields[1]);
  } catch {
    return undefined;
  }
}

/** The live descendants of `root` (children, their children...), zombies left out. */
export function descendantsOf(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const pid of pids()) {
    const parent = parentOf(pid);
    if (parent === undefined) continue;
    children.set(parent, [...(children.get(parent) ?? []), pid]);
  }
  const found: number[] = [];
  const queue = [...(children.get(root) ?? [])];
  while (queue.length > 0) {
    const pid = queue.shift()!;
    found.push(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return found;
}

/** The command line of `pid`, or undefined once it is gone. */
export function commandOf(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
  } catch {
    return undefined;
  }
}

/**
 * The live processes whose environment holds `NAME=value`, with their
 * command lines. A zombie's environment reads empty, so it is not counted.
 */
export function processesMarked(name: string, value: string): { pid: number; command: string }[] {
  const marker = `${name}=${value}`;
  const found: { pid: number; command: string }[] = [];
  for (const pid of pids()) {
    if (pid === process.pid) continue;
    let environ: string;
    try {
      environ = readFileSync(`/proc/${pid}/environ`, 'latin1');
    } catch {
      continue;
    }
    if (environ.split('\0').includes(marker)) found.push({ pid, command: commandOf(pid) ?? '' });
  }
  return found;
}

/** How many file descriptors this process has open. */
export function openFds(): number {
  return readdirSync('/proc/self/fd').length;
}
