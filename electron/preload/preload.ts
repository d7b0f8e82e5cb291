/**
 * The only bridge between the page and main: `window.netbootComposer`, one
 * method per operation of the contract (electron/shared/ipc.ts) and an event
 * subscription that an AbortSignal ends. ipcRenderer itself never reaches
 * the page.
 */
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import { INVOKE_CHANNELS, JOB_EVENT_CHANNEL, methodName, type JobEvent, type NetbootApi } from '../shared/ipc.ts';

const api: Record<string, unknown> = {};
for (const channel of INVOKE_CHANNELS) {
  api[methodName(channel)] = (request: unknown) => ipcRenderer.invoke(channel, request ?? {});
}
api.addEventListener = (
  type: 'job-event',
  listener: (event: JobEvent) => void,
  options: { signal?: AbortSignal } = {},
): void => {
  if (type !== 'job-event' || options.signal?.aborted) return;
  // Pass the payload only: the IpcRendererEvent (and its sender) stays here.
  const forward = (_event: IpcRendererEvent, payload: JobEvent): void => listener(payload);
  ipcRenderer.on(JOB_EVENT_CHANNEL, forward);
  options.signal?.addEventListener('abort', () => ipcRenderer.removeListener(JOB_EVENT_CHANNEL, forward), {
    once: true,
  });
};

contextBridge.exposeInMainWorld('netbootComposer', api as NetbootApi);
