/**
 * The runtime helpers several slices use: the wrapper of calls to main, job
 * ids, the store's clock, and the values one slice sets in another's state (a
 * new system or a new build puts the build view and the export back at rest;
 * the settings seed the export form). Types come from state.ts; the slices
 * import from here and state.ts, never from each other.
 */
import type { ErrorInfo, Result } from '../../electron/shared/ipc.ts';
import type { ExportSpec } from '../../electron/shared/types.ts';
import type { BuildView, ExportDraft, ExportState, StoreOptions } from './state.ts';

/** The store's clock: `storeOptions.now`, or performance.now(). */
export function storeClock(storeOptions: StoreOptions): () => number {
  return storeOptions.now ?? (() => performance.now());
}

let jobCounter = 0;
/** A job id unique in this page: main refuses two jobs of one name. */
export function newJobId(kind: string): string {
  jobCounter++;
  return `${kind}-${Date.now().toString(36)}-${jobCounter}`;
}

const unexpected = (error: unknown): ErrorInfo => ({
  kind: 'bug',
  message: `The app could not reach its main process (${(error as Error)?.message ?? String(error)}); restart the app.`,
});

/** Call `api`, turning a rejected promise (a broken bridge) into an error result. */
export async function call<T>(request: () => Promise<Result<T>>): Promise<Result<T>> {
  try {
    return await request();
  } catch (error) {
    return { ok: false, error: unexpected(error) };
  }
}

export const EMPTY_VIEW: BuildView = {
  rows: [],
  totalBytes: 0,
  bytesNow: 0,
  fraction: 0,
  donePaths: 0,
  packed: 0,
  reused: 0,
  secondsLeft: undefined,
};

export const IDLE_EXPORT: ExportState = {
  status: 'idle',
  job: undefined,
  spec: undefined,
  summary: undefined,
  error: undefined,
  written: 0,
};

/** The form, starting from the last export (settings), if any. */
export function draftFrom(last: ExportSpec | undefined): ExportDraft {
  const draft: ExportDraft = {
    kind: last?.kind ?? 'folder',
    dirs: { folder: '', tftp: '', http: '', usb: '' },
    subdir: '',
    baseUrl: '',
    file: '',
  };
  if (!last) return draft;
  if (last.kind === 'usb-image') return { ...draft, file: last.file };
  draft.dirs[last.kind] = last.dir;
  if (last.kind === 'tftp') draft.subdir = last.subdir ?? '';
  if (last.kind === 'http') draft.baseUrl = last.baseUrl;
  return draft;
}
