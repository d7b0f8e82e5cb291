/**
 * A hand-made stand-in for the parts of `electron` that electron/main uses,
 * as Electron Fiddle's tests do: the Electron binary cannot be had on this
 * machine (it comes from github.com), so main-process code runs in plain
 * Node against this. It records what main asked of Electron; it does not
 * pretend to do anything else.
 */
import { EventEmitter } from 'node:events';

type Listener = (...args: unknown[]) => unknown;

export class MockWebContents extends EventEmitter {
  static nextId = 1;
  readonly id = MockWebContents.nextId++;
  readonly sent: Array<{ channel: string; payload: unknown }> = [];
  readonly session = { setPermissionRequestHandler: (handler: unknown) => (this.permissionHandler = handler) };
  permissionHandler: unknown;
  windowOpenHandler: ((details: { url: string }) => { action: string }) | undefined;
  loadedUrl: string | undefined;
  destroyed = false;
  send(channel: string, payload: unknown): void {
    this.sent.push({ channel, payload });
  }
  isDestroyed(): boolean {
    return this.destroyed;
  }
  setWindowOpenHandler(handler: (details: { url: string }) => { action: string }): void {
    this.windowOpenHandler = handler;
  }
}

export class BrowserWindow extends EventEmitter {
  static all: BrowserWindow[] = [];
  readonly options: Record<string, unknown>;
  readonly webContents = new MockWebContents();
  progress: number[] = [];
  constructor(options: Record<string, unknown>) {
    super();
    this.options = options;
    BrowserWindow.all.push(this);
    app.emit('web-contents-created', {}, this.webContents);
  }
  static fromWebContents(contents: unknown): BrowserWindow | null {
    return BrowserWindow.all.find((w) => w.webContents === contents) ?? null;
  }
  async loadURL(url: string): Promise<void> {
    this.webContents.loadedUrl = url;
  }
  setProgressBar(value: number): void {
    this.progress.push(value);
  }
  isFocused(): boolean {
    return true;
  }
  flashFrame(): void {}
  show(): void {}
}

class MockApp extends EventEmitter {
  readonly paths: Record<string, string> = {};
  getPath(name: string): string {
    const path = this.paths[name];
    if (!path) throw new Error(`the test did not set app.getPath('${name}')`);
    return path;
  }
  getVersion(): string {
    return '0.1.0-test';
  }
  whenReady(): Promise<void> {
    return Promise.resolve();
  }
  quit(): void {}
  /** What main passed to app.exit(), if it did. */
  exitCode: number | undefined;
  exit(code = 0): void {
    this.exitCode = code;
  }
  isPackaged = false;
  appPath = '/nonexistent/app.asar';
  getAppPath(): string {
    return this.appPath;
  }
}

export const app = new MockApp();

export const ipcMain = {
  handlers: new Map<string, Listener>(),
  handle(channel: string, listener: Listener): void {
    if (this.handlers.has(channel)) throw new Error(`second handler for ${channel}`);
    this.handlers.set(channel, listener);
  },
};

export const dialog = {
  answers: [] as Array<{ canceled: boolean; filePaths: string[] }>,
  async showOpenDialog(): Promise<{ canceled: boolean; filePaths: string[] }> {
    return this.answers.shift() ?? { canceled: true, filePaths: [] };
  },
  saveAnswers: [] as Array<{ canceled: boolean; filePath: string }>,
  /** The options of each save dialog main opened. */
  saveOptions: [] as unknown[],
  async showSaveDialog(...args: unknown[]): Promise<{ canceled: boolean; filePath: string }> {
    this.saveOptions.push(args.at(-1));
    return this.saveAnswers.shift() ?? { canceled: true, filePath: '' };
  },
};

export const shell = {
  opened: [] as string[],
  async openPath(path: string): Promise<string> {
    this.opened.push(path);
    return '';
  },
  showItemInFolder(): void {},
};

export const clipboard = {
  text: '',
  writeText(text: string): void {
    this.text = text;
  },
};

export default { app, BrowserWindow, ipcMain, dialog, shell, clipboard };
