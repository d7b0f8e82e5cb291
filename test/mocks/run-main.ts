/**
 * Run a bundled main (argv[2]) in plain Node against the electron mock, with
 * userData in argv[3], and print what it did as JSON: the window it opened,
 * the channels it serves, and its answer to an app:info request from its page.
 * Run with: node --import ./test/mocks/electron-hooks.mjs test/mocks/run-main.ts MAIN USERDATA
 */
import { pathToFileURL } from 'node:url';
import * as electron from './electron.ts';

const [main, userData] = process.argv.slice(2);
electron.app.paths.userData = userData!;
await import(pathToFileURL(main!).href);
await new Promise((resolve) => setTimeout(resolve, 50));
const window = electron.BrowserWindow.all[0];
const url = window?.webContents.loadedUrl;
const info = await electron.ipcMain.handlers.get('app:info')?.(
  { sender: window?.webContents, senderFrame: { url } },
  {},
);
process.stdout.write(
  `${JSON.stringify({
    windows: electron.BrowserWindow.all.length,
    url,
    webPreferences: window?.options.webPreferences,
    channels: [...electron.ipcMain.handlers.keys()],
    info,
  })}\n`,
);
