/**
 * The Electron main process. For now it opens the window and nothing more:
 * the pipeline is driven from the CLI (npm run cli, npm run demo) until the
 * app's IPC contract lands. Security is set from the start, as Electron
 * Fiddle does: isolation, sandbox, no Node in the page, no new windows or
 * navigation.
 */
import { app, BrowserWindow } from 'electron';
import { join } from 'node:path';

// Injected by @electron-forge/plugin-vite.
declare const MAIN_WINDOW_VITE_DEV_SERVER_URL: string | undefined;
declare const MAIN_WINDOW_VITE_NAME: string;

function createWindow(): void {
  const window = new BrowserWindow({
    width: 1280,
    height: 800,
    minWidth: 1024,
    minHeight: 700,
    title: 'Netboot Composer',
    webPreferences: {
      preload: join(import.meta.dirname, 'preload.js'),
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
    },
  });
  window.webContents.setWindowOpenHandler(() => ({ action: 'deny' }));
  window.webContents.on('will-navigate', (event) => event.preventDefault());
  if (MAIN_WINDOW_VITE_DEV_SERVER_URL) void window.loadURL(MAIN_WINDOW_VITE_DEV_SERVER_URL);
  else void window.loadFile(join(import.meta.dirname, '..', 'renderer', MAIN_WINDOW_VITE_NAME, 'index.html'));
}

void app.whenReady().then(createWindow);
app.on('window-all-closed', () => app.quit());
