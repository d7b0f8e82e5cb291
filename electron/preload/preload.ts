/**
 * The only bridge between the page and the main process. It exposes a
 * narrow, typed API (one method per operation) and never ipcRenderer itself.
 */
import { contextBridge } from 'electron';

contextBridge.exposeInMainWorld('netbootComposer', {
  versions: { electron: process.versions.electron, chrome: process.versions.chrome },
});
