/**
 * How a failed command ends: the sentence for the user, the exit code, and
 * (with --debug) the details and stack trace.
 */
import { CanceledError, NetbootError } from '../pipeline/base/errors.ts';
import { printJson, UsageError } from './context.ts';
import { signalExitCode } from './signals.ts';

/** What to tell the user about `error`, and the exit code. Pure: tested on its own. */
export function describeError(error: unknown): { message: string; exitCode: number; bug: boolean } {
  if (error instanceof CanceledError) return { message: error.message, exitCode: 130, bug: false };
  if (error instanceof UsageError) return { message: error.message, exitCode: 2, bug: false };
  if (error instanceof NetbootError) return { message: error.message, exitCode: 1, bug: false };
  const text = error instanceof Error ? error.message : String(error);
  if (((error as NodeJS.ErrnoException | undefined)?.code ?? '').startsWith('ERR_PARSE_ARGS')) {
    // "Unknown option '--fast'. To specify a positional argument..." -> the first sentence.
    return {
      message: `${text.split(/\.\s/)[0]!.replace(/\.$/, '')}; see netboot-composer help.`,
      exitCode: 2,
      bug: false,
    };
  }
  return { message: `Unexpected error (a bug in Netboot Composer): ${text}`, exitCode: 1, bug: true };
}

export function report(error: unknown, debug: boolean, json: boolean, stoppedBy?: NodeJS.Signals): number {
  const described = describeError(error);
  const { message, bug } = described;
  // A job canceled by a signal ends with that signal's code (SIGTERM: 143).
  const exitCode = stoppedBy === undefined ? described.exitCode : signalExitCode(stoppedBy);
  if (json) printJson({ event: 'error', message, exitCode });
  process.stderr.write(`error: ${message}\n`);
  if (debug) {
    if (error instanceof NetbootError && error.details) process.stderr.write(`${error.details}\n`);
    if (error instanceof Error && error.stack) process.stderr.write(`${error.stack}\n`);
  } else if (bug) process.stderr.write('Run again with --debug for the stack trace.\n');
  return exitCode;
}
