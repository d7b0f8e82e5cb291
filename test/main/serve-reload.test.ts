/**
 * `serve:reload` through the IPC router with the real handlers: main writes
 * "reload" to the running serve helper's stdin. The helper here is a
 * stand-in CLI (it records its stdin and answers as `serve --json
 * --control-stdin` does), not the real server: the real one needs root ports
 * on a network, and its reload is tested with the CLI (test/unit/serve.test.ts).
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Sender } from '../../electron/main/handlers.ts';
import { createIpcRouter } from '../../electron/main/ipc.ts';
import type { JobEvent } from '../../electron/shared/ipc.ts';
import { tempDir } from '../helpers/fixtures.ts';
import { testHandlers } from '../helpers/main-handlers.ts';

const STAND_IN = `
import { appendFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
const log = process.env.SERVE_STAND_IN_LOG;
const say = (e) => process.stdout.write(JSON.stringify(e) + '\\n');
say({ event: 'serving', iface: 'lo', address: '127.0.0.1', mode: 'proxy', url: 'http://127.0.0.1/', systems: [] });
appendFileSync(log, 'args ' + process.argv.slice(2).join(' ') + '\\n');
createInterface({ input: process.stdin }).on('line', (line) => {
  appendFileSync(log, line + '\\n');
  if (line === 'reload') say({ event: 'reloaded', systems: [] });
  if (line === 'stop') { say({ event: 'stopped' }); process.exit(0); }
});
`;

describe('serve:reload', () => {
  it('writes "reload" to the running helper’s stdin and relays its reloaded event; refuses when nothing is served', async () => {
    const dir = await tempDir();
    const cli = join(dir, 'stand-in.mjs');
    const log = join(dir, 'stdin.log');
    await writeFile(cli, STAND_IN);
    await writeFile(log, '');
    process.env.SERVE_STAND_IN_LOG = log;
    const events: JobEvent[] = [];
    let onEvent = (): void => undefined;
    const sender: Sender = {
      id: 3,
      send: (_channel, event) => {
        events.push(event as JobEvent);
        onEvent();
      },
      isDestroyed: () => false,
    };
    const handlers = await testHandlers({ serveHelper: { cliPath: cli, wrap: [] } });
    const router = createIpcRouter(handlers, () => true);
    const until = (test: () => boolean) =>
      new Promise<void>((resolve) => {
        onEvent = () => test() && resolve();
        onEvent();
      });
    const has = (name: string) => () => events.some((e) => e.event.event === 'serve' && e.event.data.event === name);

    const none = await router('serve:reload', { sender }, { jobId: 'serve-x' });
    expect(none).toEqual({
      ok: false,
      error: expect.objectContaining({
        kind: 'user',
        message: 'Nothing is being served to reload; start serving first.',
      }),
    });

    const running = router('serve:start', { sender }, { jobId: 'serve-1', dirs: ['/boot/a'], iface: 'lo' });
    await until(has('serving'));
    // Another window cannot reload this window's server.
    const other = await router('serve:reload', { sender: { ...sender, id: 4 } }, { jobId: 'serve-1' });
    expect(other.ok).toBe(false);
    expect(await router('serve:reload', { sender }, { jobId: 'serve-1' })).toEqual({ ok: true, value: null });
    await until(has('reloaded'));
    expect(await router('job:cancel', { sender }, { jobId: 'serve-1' })).toEqual({ ok: true, value: true });
    expect((await running).ok).toBe(false); // canceled
    const lines = (await readFile(log, 'utf8')).trim().split('\n');
    expect(lines).toEqual(['args serve --dir /boot/a --interface lo --proxy --json --control-stdin', 'reload', 'stop']);
    // The job is over: nothing left to reload.
    expect((await router('serve:reload', { sender }, { jobId: 'serve-1' })).ok).toBe(false);
  });
});
