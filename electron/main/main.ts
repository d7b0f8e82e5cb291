/**
 * The Electron main process: one window, the IPC door (ipc.ts) to the
 * handlers (handlers.ts) that run the pipeline, and the window's taskbar
 * progress. Security as Electron Fiddle does it: isolation, sandbox, no Node
 * in the page, a strict CSP (renderer/index.html), no new windows, no
 * navigation, requests only from our own page.
 */
import { app, BrowserWindow, clipboard, dialog, ipcMain, shell, type WebContents } from 'electron';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { BuildProgress } from '../shared/progress.ts';
import type { Arch } from '../shared/types.ts';
import { isBootEvent, isServeEvent, type FilePurpose, type Purpose } from '../shared/ipc.ts';
import { MainHandlers, type Sender } from './handlers.ts';
import { createIpcRouter, registerIpc, type RequestEvent } from './ipc.ts';
import { pageUrlProblem } from './page-url.ts';

// Injected by @electron-forge/plugin-vite.
declare const MAIN_WINDOW_VITE_DEV_SERVER_URL: string | undefined;
declare const MAIN_WINDOW_VITE_NAME: string;

const PAGE_URL = MAIN_WINDOW_VITE_DEV_SERVER_URL
  ? new URL(MAIN_WINDOW_VITE_DEV_SERVER_URL)
  : pathToFileURL(join(import.meta.dirname, '..', 'renderer', MAIN_WINDOW_VITE_NAME, 'index.html'));

const windows = new Set<BrowserWindow>();

function hostArch(): Arch | undefined {
  if (process.arch === 'x64') return 'x86_64-linux';
  if (process.arch === 'arm64') return 'aarch64-linux';
  return undefined;
}

const PICKER_TITLES: Record<Purpose, string> = {
  flake: 'Choose a flake folder',
  system: 'Choose a built NixOS system (a result link or a store path)',
  export: 'Choose a folder to export the boot files to',
  tftp: 'Choose the folder your TFTP server serves',
  http: 'Choose the folder your HTTP server serves',
  usb: 'Choose a folder on the USB stick',
};

const FILE_DIALOGS: Record<FilePurpose, Electron.SaveDialogOptions> = {
  'usb-image': {
    title: 'Save the USB image as',
    buttonLabel: 'Save image',
    filters: [{ name: 'Disk images', extensions: ['img'] }],
    properties: ['createDirectory', 'showOverwriteConfirmation'],
  },
};

/** Our page, in one of our windows: anything else is refused. */
function isTrusted(event: RequestEvent): boolean {
  const window = BrowserWindow.fromWebContents(event.sender as WebContents);
  if (!window || !windows.has(window)) return false;
  const url = event.senderFrame?.url;
  if (!url) return false;
  const from = new URL(url);
  return from.protocol === PAGE_URL.protocol && from.host === PAGE_URL.host && from.pathname === PAGE_URL.pathname;
}

const progress = new Map<number, BuildProgress>();

const handlers = new MainHandlers({
  userDataDir: app.getPath('userData'),
  version: app.getVersion(),
  hostArch: hostArch(),
  services: {
    async chooseFolder(sender: Sender, purpose: Purpose, defaultPath: string | undefined) {
      const window = BrowserWindow.fromWebContents(sender as WebContents);
      const options: Electron.OpenDialogOptions = {
        title: PICKER_TITLES[purpose],
        properties: [
          'openDirectory',
          ...(purpose === 'flake' || purpose === 'system' ? [] : (['createDirectory'] as const)),
        ],
        ...(defaultPath ? { defaultPath } : {}),
      };
      const answer = window ? await dialog.showOpenDialog(window, options) : await dialog.showOpenDialog(options);
      return answer.canceled ? null : (answer.filePaths[0] ?? null);
    },
    async chooseFile(sender: Sender, purpose: FilePurpose, defaultPath: string | undefined) {
      const window = BrowserWindow.fromWebContents(sender as WebContents);
      const options = { ...FILE_DIALOGS[purpose], ...(defaultPath ? { defaultPath } : {}) };
      const answer = window ? await dialog.showSaveDialog(window, options) : await dialog.showSaveDialog(options);
      return answer.canceled || !answer.filePath ? null : answer.filePath;
    },
    async showFolder(path: string) {
      const problem = await shell.openPath(path);
      if (problem) shell.showItemInFolder(path);
    },
    writeClipboard: (text: string) => clipboard.writeText(text),
  },
  // The taskbar follows the build (a test boot's events are not a build's).
  onJobEvent(sender, { event }) {
    if (isBootEvent(event) || isServeEvent(event)) return;
    const window = BrowserWindow.fromWebContents(sender as WebContents);
    if (!window) return;
    let state = progress.get(sender.id);
    if (event.event === 'closure' || !state) {
      state = new BuildProgress();
      progress.set(sender.id, state);
    }
    state.apply(event, performance.now());
    if (event.event === 'done') {
      if (!window.isFocused()) window.flashFrame(true);
    } else if (state.totalBytes > 0) {
      window.setProgressBar(state.fraction());
    }
  },
  onJobEnd(sender) {
    progress.delete(sender.id);
    BrowserWindow.fromWebContents(sender as WebContents)?.setProgressBar(-1);
  },
});

function createWindow(): void {
  const window = new BrowserWindow({
    width: 1280,
    height: 800,
    minWidth: 1024,
    minHeight: 700,
    title: 'Netboot Composer',
    show: false,
    webPreferences: {
      preload: join(import.meta.dirname, 'preload.cjs'), // eng-disable PRELOAD_JS_CHECK: it exposes one method per IPC channel through contextBridge, never ipcRenderer (electron/preload/preload.ts)
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      webviewTag: false,
      spellcheck: false,
      // A middle click on a link would open it in a new window: there are none.
      disableBlinkFeatures: 'Auxclick',
    },
  });
  windows.add(window);
  const contents = window.webContents;
  const id = contents.id;
  window.once('ready-to-show', () => window.show());
  window.on('closed', () => {
    windows.delete(window);
    handlers.cancelJobsOf(id);
    progress.delete(id);
  });
  // A reload drops the page's jobs: nobody would see their events.
  contents.on('did-start-navigation', (details) => {
    if (details.isMainFrame && !details.isSameDocument) handlers.cancelJobsOf(id);
  });
  contents.on('render-process-gone', () => {
    handlers.cancelJobsOf(id);
    window.setProgressBar(-1);
  });
  contents.setWindowOpenHandler(() => ({ action: 'deny' }));
  contents.on('will-navigate', (event) => event.preventDefault());
  contents.on('will-attach-webview', (event) => event.preventDefault());
  void window.loadURL(PAGE_URL.href);
}

app.on('web-contents-created', (_, contents) => {
  contents.session.setPermissionRequestHandler((_contents, _permission, callback) => callback(false));
});

const pageProblem = pageUrlProblem(PAGE_URL, { packaged: app.isPackaged, appPath: app.getAppPath() });
if (pageProblem) {
  // No window, no IPC: a page that is not ours gets nothing of main.
  console.error(pageProblem);
  app.exit(1);
} else {
  registerIpc(ipcMain, createIpcRouter(handlers, isTrusted));
  void app.whenReady().then(createWindow);
  app.on('window-all-closed', () => app.quit());
}
