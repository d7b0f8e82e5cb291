/// <reference lib="dom" />
// Parts of this file run inside the page (page.evaluate), where the DOM is.
/**
 * The app without Electron: the production build of the page, opened in
 * Debian's Chromium through Playwright, talking to the real main-process
 * handlers (electron/main/handlers.ts, the real pipeline behind them) through
 * the same contract the preload exposes. Only what needs Electron's binary is
 * stood in for, and each stand-in is named here:
 *   - native folder pickers and save dialogs: the test queues the folder or
 *     file the user "picks";
 *   - shell.openPath and the clipboard: recorded, so the test can check them;
 *   - removable drives: a folder the test names (no USB stick on this machine).
 * The page is served from a made-up origin by Playwright's router, so no
 * socket is opened at all.
 */
import { readFile } from 'node:fs/promises';
import { join, normalize } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { build as viteBuild } from 'vite';
import {
  INVOKE_CHANNELS,
  methodName,
  type Drive,
  type FilePurpose,
  type Purpose,
  type Result,
} from '../../electron/shared/ipc.ts';
import { MainHandlers, type Sender } from '../../electron/main/handlers.ts';
import { createIpcRouter } from '../../electron/main/ipc.ts';
import { ROOT } from './fixtures.ts';

export const ORIGIN = 'http://netboot-composer.test';

/** Build the page as `npm run package` does (vite.renderer.config.ts) into `outDir`. */
export async function buildRenderer(outDir: string): Promise<void> {
  await viteBuild({
    configFile: join(ROOT, 'vite.renderer.config.ts'),
    logLevel: 'warn',
    build: { outDir, emptyOutDir: true },
  });
}

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-quic',
  '--no-first-run',
  '--disable-sync',
];

export async function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS, headless: true });
}

export interface HarnessOptions {
  pageDir: string;
  userDataDir: string;
  cacheDir: string;
  drives?: Drive[];
  viewport?: { width: number; height: number };
  colorScheme?: 'light' | 'dark';
}

export interface AppHarness {
  page: Page;
  context: BrowserContext;
  handlers: MainHandlers;
  /** Folders the next native pickers "return", in order; null is a canceled picker. */
  pickers: Array<string | null>;
  pickerPurposes: Purpose[];
  /** Files the next save dialogs "return", in order; null is a canceled dialog. */
  files: Array<string | null>;
  filePurposes: FilePurpose[];
  shown: string[];
  clipboard: string[];
  /** Every request the page made, with main's answer, in the order the answers came. */
  answers: Array<{ channel: string; answer: Result<unknown> }>;
  /** Console errors and page errors: a polished app has none. */
  pageErrors: string[];
  close(): Promise<void>;
}

/** Open the built page in a new browser context, bridged to real main-process handlers. */
export async function openApp(browser: Browser, options: HarnessOptions): Promise<AppHarness> {
  const context = await browser.newContext({
    viewport: options.viewport ?? { width: 1280, height: 800 },
    colorScheme: options.colorScheme ?? 'light',
  });
  // Serve the built page; anything else (there should be nothing) is refused.
  await context.route('**/*', async (route) => {
    const url = new URL(route.request().url());
    if (url.origin !== ORIGIN) return route.abort('blockedbyclient');
    const path = normalize(join(options.pageDir, decodeURIComponent(url.pathname)));
    if (!path.startsWith(options.pageDir)) return route.abort('accessdenied');
    const file = url.pathname === '/' ? join(options.pageDir, 'index.html') : path;
    try {
      const body = await readFile(file);
      const type = file.endsWith('.js')
        ? 'text/javascript'
        : file.endsWith('.css')
          ? 'text/css'
          : file.endsWith('.html')
            ? 'text/html'
            : 'application/octet-stream';
      return route.fulfill({ status: 200, body, contentType: type });
    } catch {
      return route.fulfill({ status: 404, body: 'not found' });
    }
  });
  const page = await context.newPage();
  const harness: AppHarness = {
    page,
    context,
    handlers: undefined as unknown as MainHandlers,
    pickers: [],
    pickerPurposes: [],
    files: [],
    filePurposes: [],
    shown: [],
    clipboard: [],
    answers: [],
    pageErrors: [],
    close: () => context.close(),
  };
  page.on('pageerror', (error) => harness.pageErrors.push(String(error)));
  page.on('console', (message) => {
    if (message.type() === 'error') harness.pageErrors.push(message.text());
  });

  const sender: Sender = {
    id: 1,
    isDestroyed: () => page.isClosed(),
    send(channel, payload) {
      // Events reach the page in order: Playwright sends its commands in order.
      void page
        .evaluate(
          ([c, p]) => (window as unknown as { __nbcDispatch(c: string, p: unknown): void }).__nbcDispatch(c, p),
          [channel, payload] as const,
        )
        .catch(() => undefined);
    },
  };
  const handlers = new MainHandlers({
    userDataDir: options.userDataDir,
    cacheDir: options.cacheDir,
    version: '0.0.0-test',
    hostArch: 'x86_64-linux',
    services: {
      async chooseFolder(_sender, purpose) {
        harness.pickerPurposes.push(purpose);
        if (harness.pickers.length === 0) throw new Error(`the test did not queue a folder for the ${purpose} picker`);
        return harness.pickers.shift() ?? null;
      },
      async chooseFile(_sender, purpose) {
        harness.filePurposes.push(purpose);
        if (harness.files.length === 0) throw new Error(`the test did not queue a file for the ${purpose} dialog`);
        return harness.files.shift() ?? null;
      },
      async showFolder(path) {
        harness.shown.push(path);
      },
      writeClipboard: (text) => harness.clipboard.push(text),
      listDrives: async () => options.drives ?? [],
    },
  });
  harness.handlers = handlers;
  const router = createIpcRouter(handlers, (event) => event.senderFrame?.url.startsWith(`${ORIGIN}/`) === true);

  await page.exposeBinding('__nbcInvoke', async (source, channel: string, payload: unknown) => {
    const answer = await router(channel, { sender, senderFrame: { url: source.frame.url() } }, payload);
    harness.answers.push({ channel, answer });
    return answer;
  });
  // What electron/preload/preload.ts exposes, built on the binding instead of ipcRenderer.
  await page.addInitScript(
    ({ channels }) => {
      type Listener = (event: unknown) => void;
      const listeners = new Set<Listener>();
      const w = window as unknown as {
        __nbcInvoke(channel: string, payload: unknown): Promise<unknown>;
        __nbcDispatch(channel: string, payload: unknown): void;
        netbootComposer: Record<string, unknown>;
      };
      const api: Record<string, unknown> = {};
      for (const [channel, method] of channels)
        api[method] = (request: unknown) => w.__nbcInvoke(channel, request ?? {});
      api.addEventListener = (type: string, listener: Listener, options: { signal?: AbortSignal } = {}) => {
        if (type !== 'job-event' || options.signal?.aborted) return;
        listeners.add(listener);
        options.signal?.addEventListener('abort', () => listeners.delete(listener), { once: true });
      };
      w.__nbcDispatch = (channel, payload) => {
        if (channel === 'job:event') for (const listener of listeners) listener(payload);
      };
      w.netbootComposer = Object.freeze(api);
    },
    { channels: INVOKE_CHANNELS.map((c) => [c, methodName(c)] as const) },
  );
  await page.goto(`${ORIGIN}/index.html`);
  return harness;
}
