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

/** Route requests to `handlers`, dropping those that `isTrusted` rejects or whose payload does not validate. */
export function createIpcRouter(handlers: MainHandlers, isTrusted: (event: RequestEvent) => boolean): IpcRouter {
  return async (channel, event, payload) => {
    if (!isChannel(channel)) return refused(`Unknown request ${JSON.stringify(channel)}.`);
    if (!isTrusted(event))
      return refused('The request came from a page that is not Netboot Composer, so it was refused.');
    const parsed = requestSchemas[channel].safeParse(payload ?? {});
    if (!parsed.success) return { ok: false, error: errorInfo(parsed.error) };
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
