/**
 * The signals that stop the CLI, how long a stop may take, and the exit code
 * a stopped process ends with.
 */
import { constants as osConstants } from 'node:os';
import { KILL_GRACE_MS } from '../pipeline/base/tools.ts';

/** The signals that stop the CLI. */
export const STOP_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/**
 * Milliseconds from a stop signal to the end of the process, whatever the
 * job is doing: children get SIGTERM, then SIGKILL after KILL_GRACE_MS
 * (2 s); this leaves a second more for removing temporary files.
 */
export const STOP_GRACE_MS = KILL_GRACE_MS + 1000;

/** The exit code for a process stopped by `signal`, as shells report it: 128 + its number (SIGTERM: 143). */
export function signalExitCode(signal: NodeJS.Signals): number {
  return 128 + (osConstants.signals[signal] ?? 0);
}
