/**
 * What the CLI's commands share: the Context each one gets, the usage error
 * (exit code 2), JSON lines on stdout, and the option parsers.
 */
import { NetbootError } from '../pipeline/base/errors.ts';
import { parseSize } from '../pipeline/compose/cache-limit.ts';

/** The command line is wrong: exit code 2. */
export class UsageError extends NetbootError {}

/** What every command gets: how to print, and the signal Ctrl-C aborts. */
export interface Context {
  json: boolean;
  signal: AbortSignal;
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

export function positiveNumber(text: string | undefined, option: string): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) throw new UsageError(`${option} takes a positive number, not "${text}".`);
  return value;
}

export function sizeOption(text: string | undefined, option: string): number | undefined {
  if (text === undefined) return undefined;
  try {
    return parseSize(text);
  } catch (error) {
    throw new UsageError(`${option}: ${(error as Error).message}`);
  }
}
