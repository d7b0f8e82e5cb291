/**
 * The door between the page and main. Every request is checked three ways
 * before a handler runs: the channel is on the allow-list, the sender is one
 * of our windows showing our page, and the payload matches its schema.
 */
import type { InvokeChannel, Result } from '../shared/ipc.ts';
import { INVOKE_CHANNELS } from '../shared/ipc.ts';
import { errorInfo } from './errors.ts';
import type { MainHandlers, Sender } from './handlers.ts';
import { requestSchemas } from './schemas.ts';

/** What main knows about who sent a request (a subset of Electron's IpcMainInvokeEvent). */
export interface RequestEvent {
  sender: Sender;
  senderFrame?: { url: string } | null;
}

export type IpcRouter = (channel: string, event: RequestEvent, payload: unknown) => Promise<Result<unknown>>;

function isChannel(channel: string): channel is InvokeChannel {
  return (INVOKE_CHANNELS as readonly string[]).includes(channel);
}

/** A request that must not be served: refused with a reason, and nothing runs. */
function refused(message: string): Result<never> {
  return { ok: false, error: { kind: 'bug', message } };
}

/** At most `max` characters of `text`, control characters shown as "?": a log line stays one short line. */
export function clip(text: string, max = 200): string {
  // eslint-disable-next-line no-control-regex
  const printable = text.replace(/[\0-\x1f\x7f]/g, '?');
  return printable.length > max ? `${printable.slice(0, max)}… (${text.length} characters)` : printable;
}

/** Where refusals are logged: main's stderr (the terminal, or the journal when the app runs from a launcher). */
export type RefusalLog = (line: string) => void;

const stderrLog: RefusalLog = (line) => console.warn(line);

/**
 * Route requests to `handlers`, dropping those that `isTrusted` rejects or
 * whose payload does not validate. Every refusal is logged as one line: the
 * channel and the reason (which fields, which rule), never the payload.
 */
export function createIpcRouter(
  handlers: MainHandlers,
  isTrusted: (event: RequestEvent) => boolean,
  log: RefusalLog = stderrLog,
): IpcRouter {
  const refuse = (channel: string, reason: string, answer: Result<never>): Result<never> => {
    log(`netboot-composer: refused a ${clip(JSON.stringify(channel), 80)} request: ${clip(reason, 300)}`);
    return answer;
  };
  return async (channel, event, payload) => {
    if (!isChannel(channel)) {
      return refuse(
        channel,
        'not a channel of the app',
        refused(`Unknown request ${clip(JSON.stringify(channel), 80)}.`),
      );
    }
    let trusted = false;
    try {
      trusted = isTrusted(event);
    } catch {
      // A sender the check cannot even read (an address that is not a URL) is not ours.
    }
    if (!trusted) {
      return refuse(
        channel,
        `from ${clip(String(event.senderFrame?.url ?? 'no frame'), 120)}, not our page`,
        refused('The request came from a page that is not Netboot Composer, so it was refused.'),
      );
    }
    const parsed = requestSchemas[channel].safeParse(payload ?? {});
    if (!parsed.success) {
      const error = errorInfo(parsed.error);
      return refuse(channel, (error.details ?? error.message).replace(/\n/g, '; '), { ok: false, error });
    }
    return handlers.call(channel, parsed.data as never, event.sender);
  };
}

/** The part of Electron's ipcMain that {@link registerIpc} uses. */
export interface IpcMainLike {
  handle(channel: string, listener: (event: RequestEvent, payload: unknown) => Promise<unknown>): void;
}

/** Serve every channel of the contract on `ipcMain`. */
export function registerIpc(ipcMain: IpcMainLike, router: IpcRouter): void {
  for (const channel of INVOKE_CHANNELS) ipcMain.handle(channel, (event, payload) => router(channel, event, payload));
}
