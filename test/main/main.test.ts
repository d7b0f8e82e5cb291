/**
 * electron/main/main.ts in plain Node, with `electron` replaced by the hand
 * mock in test/mocks/electron.ts (Electron's binary cannot be had here). The
 * handlers behind it are real: requests run the real pipeline.
 */
import { execFile } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { INVOKE_CHANNELS, JOB_EVENT_CHANNEL, type JobEvent, type Result } from '../../electron/shared/ipc.ts';
import { buildFixture, tempDir } from '../helpers/fixtures.ts';
import * as electron from '../mocks/electron.ts';

vi.mock('electron', () => import('../mocks/electron.ts'));

const run = promisify(execFile);
let window: electron.BrowserWindow;
let pageUrl: string;
let cacheDir: string;
let userDataDir: string;

beforeAll(async () => {
  userDataDir = await tempDir('nbc-userdata-');
  cacheDir = await tempDir('nbc-cache-');
  vi.stubEnv('NETBOOT_COMPOSER_CACHE', cacheDir);
  electron.app.paths.userData = userDataDir;
  // What @electron-forge/plugin-vite defines when it builds main.
  Object.assign(globalThis, { MAIN_WINDOW_VITE_DEV_SERVER_URL: undefined, MAIN_WINDOW_VITE_NAME: 'main_window' });
  await import('../../electron/main/main.ts');
  await new Promise((resolve) => setTimeout(resolve, 0));
  window = electron.BrowserWindow.all[0]!;
  pageUrl = window.webContents.loadedUrl!;
});

/** Send a request the way ipcRenderer.invoke from our page would arrive. */
function invoke(
  channel: string,
  payload: unknown,
  from: { sender?: unknown; url?: string } = {},
): Promise<Result<unknown>> {
  const handler = electron.ipcMain.handlers.get(channel);
  if (!handler) throw new Error(`no handler for ${channel}`);
  const event = { sender: from.sender ?? window.webContents, senderFrame: { url: from.url ?? pageUrl } };
  return handler(event, payload) as Promise<Result<unknown>>;
}

describe('the main process', () => {
  it('opens one window with isolation, sandbox and no Node, and denies new windows, navigation and permissions', async () => {
    expect(electron.BrowserWindow.all).toHaveLength(1);
    expect(window.options.webPreferences).toMatchObject({
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      webviewTag: false,
    });
    expect(pageUrl).toMatch(/^file:\/\/.*\/renderer\/main_window\/index\.html$/);
    expect(window.webContents.windowOpenHandler?.({ url: 'https://example.com' })).toEqual({ action: 'deny' });
    const navigation = { defaultPrevented: false, preventDefault: () => (navigation.defaultPrevented = true) };
    window.webContents.emit('will-navigate', navigation, 'https://example.com');
    expect(navigation.defaultPrevented).toBe(true);
    let granted: boolean | undefined;
    (window.webContents.permissionHandler as (c: unknown, p: string, cb: (ok: boolean) => void) => void)(
      window.webContents,
      'media',
      (answer) => (granted = answer),
    );
    expect(granted).toBe(false);
  });

  it('serves exactly the channels of the contract', () => {
    expect([...electron.ipcMain.handlers.keys()].sort()).toEqual([...INVOKE_CHANNELS].sort());
  });

  it('answers our page, and refuses another window or another page without running anything', async () => {
    expect(await invoke('app:info', {})).toMatchObject({ ok: true, value: { version: '0.1.0-test' } });
    const stranger = new electron.MockWebContents();
    const foreign = await invoke('settings:set', { lastExport: { kind: 'folder', dir: '/tmp' } }, { sender: stranger });
    expect(foreign).toMatchObject({ ok: false, error: { message: expect.stringContaining('not Netboot Composer') } });
    const otherPage = await invoke(
      'settings:set',
      { lastExport: { kind: 'folder', dir: '/tmp' } },
      { url: 'https://example.com/index.html' },
    );
    expect(otherPage.ok).toBe(false);
    // Nothing was saved.
    expect(await readdir(userDataDir)).not.toContain('settings.json');
  });

  it('rejects payloads that do not match their schema, saying which field', async () => {
    const cases: Array<[string, unknown, RegExp]> = [
      ['build:start', { jobId: 'a', source: { kind: 'toplevel', path: 'result' }, options: {} }, /source\.path/],
      ['build:start', { jobId: 'a b', source: { kind: 'demo' }, options: {} }, /jobId/],
      ['export:start', { jobId: 'e', from: '/a', spec: { kind: 'floppy', dir: '/b' } }, /spec\.kind/],
      ['export:start', { jobId: 'e', from: '/a', to: '/b', target: 'folder' }, /spec|Unrecognized/],
      ['export:start', { jobId: 'e', from: '/a', spec: { kind: 'folder', dir: 'b' } }, /spec\.dir/],
      ['export:start', { jobId: 'e', from: '/a', spec: { kind: 'tftp', dir: '/b', subdir: '../etc' } }, /spec\.subdir/],
      [
        'export:start',
        { jobId: 'e', from: '/a', spec: { kind: 'http', dir: '/b', baseUrl: 'ftp://server/boot/' } },
        /spec\.baseUrl/,
      ],
      ['export:start', { jobId: 'e', from: '/a', spec: { kind: 'usb-image', dir: '/b' } }, /spec\.file/],
      ['boot:start', { jobId: 'b', dir: '/a', firmware: 'coreboot' }, /firmware/],
      ['boot:start', { jobId: 'b', dir: 'result', firmware: 'bios' }, /dir/],
      ['boot:start', { jobId: 'b', dir: '/a', firmware: 'bios', usbImage: 'x.img' }, /usbImage/],
      ['boot:start', { jobId: 'b', dir: '/a', firmware: 'bios', expect: '.*' }, /expect|Unrecognized/i],
      ['dialog:choose-file', { purpose: 'anything' }, /purpose/],
      ['settings:set', { lastExport: { kind: 'http', dir: '/srv', baseUrl: 'not a url' } }, /lastExport/],
      ['shell:show-folder', { path: '/tmp', extra: 1 }, /extra|Unrecognized/i],
      ['settings:set', { recent: [] }, /recent|Unrecognized/i],
      [
        'build:start',
        {
          jobId: 'a',
          source: { kind: 'demo' },
          options: {
            arch: 'x86_64-linux',
            squashfs: { name: 'xz', level: 9 },
            initrd: { name: 'none' },
            kernelParams: '',
          },
        },
        /squashfs/,
      ],
    ];
    for (const [channel, payload, field] of cases) {
      const answer = await invoke(channel, payload);
      expect(answer.ok, channel).toBe(false);
      if (!answer.ok) expect(answer.error.details, JSON.stringify(payload)).toMatch(field);
    }
  });

  it('asks where to save a USB image with a save dialog, and answers null when it is canceled', async () => {
    electron.dialog.saveAnswers.push({ canceled: false, filePath: '/home/me/nixos.img' });
    expect(await invoke('dialog:choose-file', { purpose: 'usb-image', defaultPath: '/home/me' })).toEqual({
      ok: true,
      value: '/home/me/nixos.img',
    });
    expect(electron.dialog.saveOptions.at(-1)).toMatchObject({
      title: 'Save the USB image as',
      defaultPath: '/home/me',
      filters: [{ name: 'Disk images', extensions: ['img'] }],
    });
    expect(await invoke('dialog:choose-file', { purpose: 'usb-image' })).toEqual({ ok: true, value: null });
  });

  it('cancels a build at once: every mksquashfs is gone, the taskbar is reset, the cache holds no partial file', async () => {
    const toplevel = await buildFixture({ bigPaths: 4, bigMiB: 16 });
    const jobId = 'cancel-me';
    const building = invoke('build:start', {
      jobId,
      source: { kind: 'toplevel', path: toplevel },
      // xz on random data is slow enough to be caught in the middle.
      options: { arch: 'x86_64-linux', squashfs: { name: 'xz' }, initrd: { name: 'none' }, kernelParams: '' },
    });
    const events = (): JobEvent[] =>
      window.webContents.sent.filter((m) => m.channel === JOB_EVENT_CHANNEL).map((m) => m.payload as JobEvent);
    await vi.waitFor(
      () => expect(events().some((e) => e.jobId === jobId && e.event.event === 'path-start')).toBe(true),
      { timeout: 60_000, interval: 20 },
    );
    const { stdout: before } = await run('ps', ['-eo', 'args']);
    // This build's: another run on the machine may pack too.
    expect(before.split('\n').some((line) => line.includes('mksquashfs') && line.includes(cacheDir))).toBe(true);
    expect(window.progress.length).toBeGreaterThan(0);

    // Another window cannot cancel it.
    expect(await invoke('job:cancel', { jobId }, { sender: new electron.MockWebContents() })).toMatchObject({
      ok: false,
    });
    const started = performance.now();
    expect(await invoke('job:cancel', { jobId })).toEqual({ ok: true, value: true });
    const answer = await building;
    expect(performance.now() - started).toBeLessThan(10_000);
    expect(answer).toMatchObject({ ok: false, error: { kind: 'canceled' } });
    expect(window.progress.at(-1)).toBe(-1);
    const { stdout: after } = await run('ps', ['-eo', 'args']);
    expect(after.split('\n').filter((line) => line.includes('mksquashfs') && line.includes(cacheDir))).toEqual([]);
    const { stdout: partial } = await run('find', [cacheDir, '-name', '.tmp-*']);
    expect(partial).toBe('');
    const outDir = join(userDataDir, 'boot');
    const { stdout: temps } = await run('find', [outDir, '-name', '.*partial*']);
    expect(temps).toBe('');
  });
});
