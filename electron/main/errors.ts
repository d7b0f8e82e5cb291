/**
 * How a failure crosses to the page: one sentence a person can act on,
 * details on demand, and whether it is their input, a cancel, or our bug.
 */
import { ZodError } from 'zod';
import type { ErrorInfo } from '../shared/ipc.ts';
import { CanceledError, NetbootError } from '../pipeline/base/errors.ts';

export function errorInfo(error: unknown): ErrorInfo {
  if (error instanceof CanceledError) return { kind: 'canceled', message: error.message };
  if (error instanceof NetbootError) return { kind: 'user', message: error.message, details: error.details };
  if (error instanceof ZodError) {
    return {
      kind: 'bug',
      message:
        'The window sent a request the app does not accept; restart the app, and report this if it happens again.',
      details: error.issues.map((i) => `${i.path.join('.') || '(request)'}: ${i.message}`).join('\n'),
    };
  }
  const err = error instanceof Error ? error : new Error(String(error));
  return {
    kind: 'bug',
    message: `Something went wrong inside Netboot Composer (${err.message}); please report it with the details below.`,
    details: err.stack,
  };
}
