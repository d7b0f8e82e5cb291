/**
 * A packaged main whose page is not its own (a build that baked in another
 * address) refuses to start: no window, no IPC. Run in plain Node with
 * `electron` replaced by the hand mock (Electron's binary cannot be had here).
 */
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { tempDir } from '../helpers/fixtures.ts';
import * as electron from '../mocks/electron.ts';

vi.mock('electron', () => import('../mocks/electron.ts'));

let said: string[];

beforeAll(async () => {
  electron.app.paths.userData = await tempDir('nbc-userdata-');
  electron.app.isPackaged = true;
  electron.app.appPath = '/opt/Netboot Composer/resources/app.asar';
  Object.assign(globalThis, {
    MAIN_WINDOW_VITE_DEV_SERVER_URL: 'http://203.0.113.9:5173/',
    MAIN_WINDOW_VITE_NAME: 'main_window',
  });
  const error = vi.spyOn(console, 'error').mockImplementation(() => undefined);
  await import('../../electron/main/main.ts');
  await new Promise((resolve) => setTimeout(resolve, 0));
  said = error.mock.calls.map((call) => String(call[0]));
  error.mockRestore();
});

describe('a packaged main with a page that is not its own', () => {
  it('exits with 1 saying why, and opens no window and serves no request', () => {
    expect(electron.app.exitCode).toBe(1);
    expect(said).toEqual([
      expect.stringMatching(/^The page this app would show \(http:\/\/203\.0\.113\.9:5173\/\) is not its own/),
    ]);
    expect(electron.BrowserWindow.all).toHaveLength(0);
    expect(electron.ipcMain.handlers.size).toBe(0);
  });
});
