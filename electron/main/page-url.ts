/**
 * Is the page main is about to load ours? A packaged app loads only its own
 * bundle from inside its archive (app.asar); a development run loads the
 * bundle from the checkout or Vite's dev server on this machine. Anything
 * else (a build that baked in another address) must not get our preload and
 * IPC, so main refuses to start. Pure: tested on its own.
 */
import { isAbsolute, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);

/** Where main may load the page from. */
export interface PageContext {
  /** app.isPackaged */
  packaged: boolean;
  /** app.getAppPath(): the archive (or folder) the packaged app runs from. */
  appPath: string;
}

function inside(folder: string, path: string): boolean {
  const rel = relative(folder, path);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel);
}

/** Why `url` is not our page (one sentence), or undefined when it is. */
export function pageUrlProblem(url: URL, context: PageContext): string | undefined {
  if (context.packaged) {
    if (url.protocol === 'file:' && inside(context.appPath, fileURLToPath(url))) return undefined;
    return `The page this app would show (${url.href}) is not its own, from ${context.appPath}; the app was built wrong or altered: reinstall it.`;
  }
  if (url.protocol === 'file:') return undefined;
  if ((url.protocol === 'http:' || url.protocol === 'https:') && LOOPBACK.has(url.hostname)) return undefined;
  return `The page to show (${url.href}) is neither a file nor Vite's dev server on this machine; start the app with npm start.`;
}
