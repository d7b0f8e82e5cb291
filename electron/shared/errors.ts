/**
 * Errors a person can act on. Every failure the pipeline expects is a
 * {@link NetbootError}: its message is one sentence saying what is wrong and
 * what to do. Anything else that escapes is a bug and is shown as such.
 */
export class NetbootError extends Error {
  /** Set when the error comes from the user's input or machine, not from a bug. */
  readonly userError = true;
  /** Tool output or other detail, shown on demand (CLI --debug, UI "details"). */
  readonly details: string | undefined;

  constructor(message: string, options: { details?: string; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = 'NetbootError';
    this.details = options.details;
  }
}
