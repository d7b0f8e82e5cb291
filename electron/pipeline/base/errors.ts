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

/** A program ran and failed. */
export class ToolFailedError extends NetbootError {
  readonly command: string;
  readonly exitCode: number | undefined;

  constructor(what: string, command: string, exitCode: number | undefined, output: string) {
    const last = errorLine(output);
    super(`${what} failed${exitCode === undefined ? '' : ` (exit code ${exitCode})`}${last ? `: ${last}` : '.'}`, {
      details: `$ ${command}\n${output}`,
    });
    this.name = 'ToolFailedError';
    this.command = command;
    this.exitCode = exitCode;
  }
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
  const lines = output
    .split(/\r?\n|\r/)
    .map((line) => line.trim())
    .filter((line) => line.length > 0 && !/^\(use '--show-trace'/.test(line));
  const flagged = lines.filter((line) => /^(error|fatal error)\b:?/i.test(line));
  const line = flagged.at(-1) ?? lines.at(-1) ?? '';
  return line.replace(/^(error|fatal error):\s*/i, '');
}

/** True when `error` was thrown because `signal` was aborted. */
export function isAbort(error: unknown, signal: AbortSignal | undefined): boolean {
  if (error instanceof CanceledError) return true;
  if (signal?.aborted) return true;
  return error instanceof Error && error.name === 'AbortError';
}
