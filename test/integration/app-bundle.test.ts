/**
 * The bundles `electron-forge start|package` makes (built here with Forge's
 * own Vite config functions: scripts/build-app.ts), checked without Electron's
 * binary: the bundled main runs in plain Node against the electron mock and
 * opens the built page with the built preload; the bundled preload, run as
 * Electron runs a sandboxed preload, exposes one method per channel and
 * nothing else.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { runInNewContext } from 'node:vm';
import { beforeAll, describe, expect, it } from 'vitest';
import { INVOKE_CHANNELS, methodName } from '../../electron/shared/ipc.ts';
import { buildApp } from '../../scripts/build-app.ts';
import { ROOT, tempDir } from '../helpers/fixtures.ts';

const run = promisify(execFile);
let vite: string;

beforeAll(async () => {
  vite = await buildApp();
});

describe('the app bundles Forge makes', () => {
  it('main runs: it opens one secure window on the built page, with the built preload, and answers its page', async () => {
    const { stdout } = await run(
      process.execPath,
      [
        '--import',
        './test/mocks/electron-hooks.mjs',
        'test/mocks/run-main.ts',
        join(vite, 'build', 'main.js'),
        await tempDir(),
      ],
      { cwd: ROOT },
    );
    const report = JSON.parse(stdout) as {
      windows: number;
      url: string;
      webPreferences: { preload: string; sandbox: boolean; contextIsolation: boolean; nodeIntegration: boolean };
      channels: string[];
      info: { ok: boolean };
    };
    expect(report.windows).toBe(1);
    expect(existsSync(fileURLToPath(report.url))).toBe(true);
    expect(fileURLToPath(report.url)).toBe(join(vite, 'renderer', 'main_window', 'index.html'));
    expect(report.webPreferences).toMatchObject({ sandbox: true, contextIsolation: true, nodeIntegration: false });
    expect(report.webPreferences.preload).toBe(join(vite, 'build', 'preload.cjs'));
    expect(report.channels.sort()).toEqual([...INVOKE_CHANNELS].sort());
    expect(report.info).toMatchObject({ ok: true });
  });

  it('the built page keeps its strict CSP and loads only its own files, by relative URL (file:// in the app)', async () => {
    const html = await readFile(join(vite, 'renderer', 'main_window', 'index.html'), 'utf8');
    expect(html).toContain("default-src 'none'; script-src 'self'; style-src 'self'");
    expect(html).not.toContain('unsafe-inline');
    expect([...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1])).toEqual([
      expect.stringMatching(/^\.\/assets\/index-.*\.js$/),
      expect.stringMatching(/^\.\/assets\/index-.*\.css$/),
    ]);
  });

  it('preload exposes one method per channel and an event subscription an AbortSignal ends, not ipcRenderer', async () => {
    const code = await readFile(join(vite, 'build', 'preload.cjs'), 'utf8');
    const exposed: Record<string, Record<string, (...args: unknown[]) => unknown>> = {};
    const invoked: unknown[][] = [];
    const listeners = new Map<string, Set<(...args: unknown[]) => void>>();
    const electron = {
      contextBridge: { exposeInMainWorld: (key: string, api: Record<string, () => unknown>) => (exposed[key] = api) },
      ipcRenderer: {
        invoke: async (...args: unknown[]) => invoked.push(args),
        on: (channel: string, listener: () => void) =>
          listeners.set(channel, (listeners.get(channel) ?? new Set()).add(listener)),
        removeListener: (channel: string, listener: () => void) => listeners.get(channel)?.delete(listener),
      },
    };
    // Electron runs a sandboxed preload as a classic script with a require that offers electron's renderer modules.
    runInNewContext(code, {
      require: (name: string) => {
        if (name !== 'electron') throw new Error(`a sandboxed preload cannot require ${name}`);
        return electron;
      },
    });
    const api = exposed.netbootComposer!;
    expect(Object.keys(exposed)).toEqual(['netbootComposer']);
    expect(Object.keys(api).sort()).toEqual([...INVOKE_CHANNELS.map(methodName), 'addEventListener'].sort());
    await api.buildStart!({ jobId: 'j' });
    expect(invoked).toEqual([['build:start', { jobId: 'j' }]]);
    const got: unknown[] = [];
    const controller = new AbortController();
    api.addEventListener!('job-event', (event: unknown) => got.push(event), { signal: controller.signal });
    for (const listener of listeners.get('job:event') ?? []) listener({ sender: 'secret' }, { jobId: 'j' });
    expect(got).toEqual([{ jobId: 'j' }]);
    controller.abort();
    expect(listeners.get('job:event')?.size).toBe(0);
  });
});
