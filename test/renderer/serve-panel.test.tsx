/**
 * The Serve panel's Reload, in jsdom on the real serve store;
 * window.netbootComposer is the fake (fake-api.ts), which emits the serve
 * events main relays from the helper. (That main writes "reload" to the
 * helper's stdin is test/main/serve-reload.test.ts.)
 */
import { act, cleanup, render, screen } from '@testing-library/react';
import { userEvent } from '@testing-library/user-event';
import { afterEach, describe, expect, it } from 'vitest';
import { ServePanel } from '../../renderer/components/ServePanel.tsx';
import { serveStoreFor } from '../../renderer/store/serve.ts';
import type { ServeEvent } from '../../electron/shared/serve.ts';
import { fakeApi, ok } from './fake-api.ts';

afterEach(cleanup);

const DIR = '/boot/demo';
const SYSTEM = { index: 1, dir: DIR, name: 'demo', files: [] };

async function serving() {
  const fake = fakeApi({
    'serve:interfaces': () =>
      ok([{ name: 'eth0', address: '10.0.0.1', network: '10.0.0.0', prefix: 24, state: 'up', up: true }]),
    'serve:start': () => new Promise(() => undefined),
    'serve:reload': () => ok(null),
  });
  Object.assign(window, { netbootComposer: fake.api });
  const store = serveStoreFor(fake.api);
  const firstBuild = { build: 1 };
  const view = render(<ServePanel dir={DIR} build={firstBuild} />);
  const user = userEvent.setup();
  await act(() => store.getState().toggle());
  await user.click(await screen.findByRole('button', { name: 'Start serving' }));
  const jobId = store.getState().job!;
  const send = (data: ServeEvent) => act(() => fake.emit({ jobId, event: { event: 'serve', data } }));
  send({
    event: 'serving',
    iface: 'eth0',
    address: '10.0.0.1',
    mode: 'proxy',
    url: 'http://10.0.0.1:8080/',
    systems: [SYSTEM],
  });
  return { fake, view, user, send, jobId, firstBuild };
}

describe('Serve panel: Reload', () => {
  it('shows Reload while serving, says what it does, asks main to reload the job, and shows the answer', async () => {
    const { fake, user, send, jobId } = await serving();
    const reload = screen.getByRole('button', { name: 'Reload' });
    expect(reload.getAttribute('title')).toBe('New requests get the folders as they are now.');
    expect(screen.getByText('Reload: new requests get the folders as they are now.')).toBeTruthy();
    await user.click(reload);
    expect(fake.calls.filter((c) => c.channel === 'serve:reload')).toEqual([
      { channel: 'serve:reload', request: { jobId } },
    ]);
    expect((screen.getByRole('button', { name: 'Reloading…' }) as HTMLButtonElement).disabled).toBe(true);
    send({ event: 'reloaded', systems: [{ ...SYSTEM, name: 'demo-v2' }] });
    expect(screen.getByRole('button', { name: 'Reload' })).toBeTruthy();
    expect(screen.getByText('Reloaded: new requests get the folders as they are now.')).toBeTruthy();
    expect(screen.getByText(/Serving demo-v2 on eth0/)).toBeTruthy();

    await user.click(screen.getByRole('button', { name: 'Reload' }));
    send({ event: 'notice', message: 'Not reloaded: /boot/demo has no manifest.json; build it again.' });
    expect(screen.getByText('Not reloaded: /boot/demo has no manifest.json; build it again.')).toBeTruthy();
    expect((screen.getByRole('button', { name: 'Reload' }) as HTMLButtonElement).disabled).toBe(false);
  });

  it('after a new build of the served folder, says machines get the previous build until Reload', async () => {
    const { view, user, send } = await serving();
    expect(screen.queryByTestId('serve-stale')).toBeNull();
    const secondBuild = { build: 2 };
    view.rerender(<ServePanel dir={DIR} build={secondBuild} />);
    expect(screen.getByTestId('serve-stale').textContent).toBe(
      "You built again: machines still get the previous build's files until you press Reload.",
    );
    // Another folder's build is not what is served: nothing to say.
    view.rerender(<ServePanel dir="/boot/other" build={{ build: 3 }} />);
    expect(screen.queryByTestId('serve-stale')).toBeNull();
    view.rerender(<ServePanel dir={DIR} build={secondBuild} />);
    await user.click(screen.getByRole('button', { name: 'Reload' }));
    expect(screen.getByTestId('serve-stale')).toBeTruthy();
    send({ event: 'reloaded', systems: [SYSTEM] });
    expect(screen.queryByTestId('serve-stale')).toBeNull();
  });
});
