/**
 * The pipeline's errors. {@link NetbootError} itself lives in electron/shared,
 * so the app's page can build and show the same errors.
 */
import { NetbootError } from '../../shared/errors.ts';

export { NetbootError };

/** A program the pipeline runs is not installed. */
export class ToolMissingError extends NetbootError {
  readonly tool: string;
  readonly debianPackage: string;

  constructor(tool: string, debianPackage: string) {
    super(
      `${tool} was not found: install the ${debianPackage} package (on Debian or Ubuntu: sudo apt-get install ${debianPackage}).`,
    );
    this.name = 'ToolMissingError';
    this.tool = tool;
    this.debianPackage = debianPackage;
  }
}

/** How a program ended when it failed, and what it said. */
export interface ToolFailure {
  /** The command line, for the details. */
  command: string;
  exitCode?: number | undefined;
  /** The signal that killed it (SIGSEGV...), when one did. */
  signal?: string | undefined;
  /** Everything it printed (stdout and stderr), for the details. */
  output: string;
  /**
   * Its stderr, when known apart: the reason is read there, and from the rest
   * of the output only a line flagged as an error (stdout may be data, such
   * as a half-written registration).
   */
  stderr?: string | undefined;
}

/** The longest quote of a tool's words in a message: the rest is in the details. */
const MAX_REASON_CHARS = 200;

/** The shell's own note of a signal ("Segmentation fault"), which adds nothing to "killed by SIGSEGV". */
const SIGNAL_NOTE =
  /(^|: )(Segmentation fault|Killed|Aborted|Bus error|Illegal instruction|Terminated)( \(core dumped\))?$/;

/** A program ran and failed (or was killed). */
export class ToolFailedError extends NetbootError {
  readonly command: string;
  readonly exitCode: number | undefined;
  readonly signal: string | undefined;

  constructor(what: string, failure: ToolFailure) {
    const how =
      failure.signal !== undefined
        ? ` (killed by ${failure.signal})`
        : failure.exitCode === undefined
          ? ''
          : ` (exit code ${failure.exitCode})`;
    let reason =
      failure.stderr === undefined
        ? errorLine(failure.output)
        : errorLine(failure.stderr) || flaggedErrorLine(failure.output);
    if (failure.signal !== undefined && SIGNAL_NOTE.test(reason)) reason = '';
    reason = printable(reason);
    super(`${what} failed${how}${reason ? `: ${reason}` : '.'}`, {
      details: `$ ${failure.command}\n${failure.output}`,
    });
    this.name = 'ToolFailedError';
    this.command = failure.command;
    this.exitCode = failure.exitCode;
    this.signal = failure.signal;
  }
}

/** `text` with control characters and invalid bytes as "?", cut to {@link MAX_REASON_CHARS}. */
function printable(text: string): string {
  // eslint-disable-next-line no-control-regex
  const clean = text.replace(/[\u0000-\u001f\u007f-\u009f\ufffd]/g, '?');
  return clean.length > MAX_REASON_CHARS ? `${clean.slice(0, MAX_REASON_CHARS)}…` : clean;
}

/** The user stopped the build (Ctrl-C, Cancel). */
export class CanceledError extends NetbootError {
  constructor(message = 'The build was canceled; the cache is intact and the out folder holds no partial files.') {
    super(message);
    this.name = 'CanceledError';
  }
}

/**
 * The line of a tool's output that says why it failed: the last one that
 * starts like an error ("error:", "FATAL ERROR:"), else the last one, leaving
 * out hints such as Nix's "(use '--show-trace' ...)".
 */
export function errorLine(output: string): string {
  const lines = outputLines(output);
  const line = lines.filter(isFlagged).at(-1) ?? lines.at(-1) ?? '';
  return line.replace(/^(error|fatal error):\s*/i, '');
}

/** Like {@link errorLine}, but only a line that starts like an error: empty when there is none. */
export function flaggedErrorLine(output: string): string {
  const line = outputLines(output).filter(isFlagged).at(-1) ?? '';
  return line.replace(/^(error|fatal error):\s*/i, '');
}

function outputLines(output: string): string[] {
  return output
    .split(/\r?\n|\r/)
    .map((line) => line.trim())
    .filter((line) => line.length > 0 && !/^\(use '--show-trace'/.test(line));
}

function isFlagged(line: string): boolean {
  return /^(error|fatal error)\b:?/i.test(line);
}

/** True when `error` was thrown because `signal` was aborted. */
export function isAbort(error: unknown, signal: AbortSignal | undefined): boolean {
  if (error instanceof CanceledError) return true;
  if (signal?.aborted) return true;
  return error instanceof Error && error.name === 'AbortError';
}
