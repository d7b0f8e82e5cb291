/** The bridge from main's job events to the store. */
import type { NetbootApi } from '../../electron/shared/ipc.ts';
import type { AppStore } from './state.ts';

/** Feed job events from main into the store; the returned function unsubscribes. */
export function connectJobEvents(api: NetbootApi, store: AppStore): () => void {
  const controller = new AbortController();
  api.addEventListener('job-event', (event) => store.getState().onJobEvent(event), { signal: controller.signal });
  return () => controller.abort();
}
