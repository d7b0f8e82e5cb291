/**
 * The Result step's test boot console and export form, in jsdom on a real
 * store; window.netbootComposer is the fake (fake-api.ts), which emits the
 * boot events main would.
 *
 * xterm.js does not run here: opening a terminal throws in jsdom
 * (`matchMedia is not a function`), and jsdom lays nothing out for it to
 * measure its cells by anyway. renderer/terminal.ts, the one module that
 * touches xterm, is replaced by a <pre> that appends what it is given; the
 * real terminal is checked in Chromium (test/e2e/app-boot.test.ts).
 */
import { act, cleanup, render, screen, within } from '@testing-library/react';
import { userEvent } from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { App } from '../../renderer/components/App.tsx';
import { StoreContext } from '../../renderer/context.tsx';
import { connectJobEvents, createAppStore, draftFrom, draftSpec, type AppStore } from '../../renderer/store/index.ts';
import type { ExportSummary, TestBootResult } from '../../electron/shared/types.ts';
import type { Result, Settings } from '../../electron/shared/ipc.ts';
import { defaultBuildOptions } from '../../electron/shared/ipc.ts';
import { fakeApi, ok, OUTCOME, SUMMARY, type Answers } from './fake-api.ts';

vi.mock('../../renderer/terminal.ts', () => ({
  createConsoleTerminal(container: HTMLElement) {
    const screen = document.createElement('pre');
    screen.className = 'fake-terminal';
    container.append(screen);
    return {
      write: (data: string) => {
        screen.textContent += data;
      },
      dispose: () => screen.remove(),
    };
  },
}));

afterEach(cleanup);

/** The app on its Result step, after a (fake) build of the demo. */
async function atResult(answers: Answers = {}) {
  const fake = fakeApi({ 'system:resolve': () => ok(SUMMARY), 'build:start': () => ok(OUTCOME), ...answers });
  const store = createAppStore(fake.api, { publishEveryMs: 0 });
  connectJobEvents(fake.api, store);
  await store.getState().init();
  render(
    <StoreContext.Provider value={store}>
      <App />
    </StoreContext.Provider>,
  );
  const user = userEvent.setup();
  await user.click(screen.getByRole('button', { name: 'Use the demo system' }));
  await user.click(await screen.findByRole('button', { name: 'Continue to options →' }));
  await user.click(screen.getByRole('button', { name: 'Build boot files' }));
  await screen.findByRole('heading', { name: 'Boot files ready' });
  return { fake, store, user };
}

/** An answer the test gives when it wants to. */
function later<T>(): { answer: () => Promise<Result<T>>; resolve: (result: Result<T>) => void } {
  let resolve!: (result: Result<T>) => void;
  const promise = new Promise<Result<T>>((r) => (resolve = r));
  return { answer: () => promise, resolve };
}

function bootJob(store: AppStore): string {
  return store.getState().boot!.job;
}

const consoleText = () => screen.getByRole('region', { name: 'Serial console' }).textContent;
const panel = () => screen.getByRole('region', { name: 'Test boot' });

const RESULT: TestBootResult = {
  passed: true,
  reason: 'NETBOOT-COMPOSER-DEMO: OK, 36 store paths present and verified',
  accel: 'tcg',
  firmware: 'uefi',
  memoryMiB: 512,
  seconds: 31.4,
  lastLines: [],
};

describe('Test boot', () => {
  it('opens a live console: the firmware chosen, KVM or TCG and why, the output as it comes, the time ticking, then PASS with the line', async () => {
    const boot = later<TestBootResult>();
    const { fake, store, user } = await atResult({ 'boot:start': boot.answer });
    expect(screen.queryByRole('region', { name: 'Serial console' })).toBeNull();
    await user.click(screen.getByRole('radio', { name: 'UEFI' }));
    await user.click(screen.getByRole('button', { name: 'Test boot' }));
    const jobId = bootJob(store);
    expect(fake.calls.filter((c) => c.channel === 'boot:start').map((c) => c.request)).toEqual([
      { jobId, dir: '/out', firmware: 'uefi' },
    ]);
    // One boot at a time, and the keyboard lands on Stop.
    expect((screen.getByRole('button', { name: 'Test boot' }) as HTMLButtonElement).disabled).toBe(true);
    expect((screen.getByRole('radio', { name: 'BIOS' }) as HTMLInputElement).disabled).toBe(true);
    expect(document.activeElement).toBe(screen.getByRole('button', { name: 'Stop' }));
    expect(screen.getByTestId('accel').textContent).toBe('Choosing KVM or TCG…');
    expect(within(panel()).getByRole('status').textContent).toMatch(/waiting for the demo’s marker or a login prompt/);

    act(() => {
      fake.emit({ jobId, event: { event: 'boot-start', firmware: 'uefi', medium: 'network', memoryMiB: 512 } });
      fake.emit({
        jobId,
        event: { event: 'accel', accel: 'tcg', why: 'KVM does not start guests on this machine (probed earlier)' },
      });
      fake.emit({ jobId, event: { event: 'console', data: '\x1b[2J\x1b[01;01HBdsDxe: loading Boot0001\r\n' } });
      fake.emit({ jobId, event: { event: 'console', data: 'iPXE initialising devices...\r\n' } });
      // Another job's console is not this one's.
      fake.emit({ jobId: 'other', event: { event: 'console', data: 'not mine' } });
    });
    expect(screen.getByTestId('accel').textContent).toBe(
      'TCG: KVM does not start guests on this machine (probed earlier)',
    );
    expect(screen.getByText('UEFI · netboot · 512 MiB')).toBeTruthy();
    expect(consoleText()).toBe('\x1b[2J\x1b[01;01HBdsDxe: loading Boot0001\r\niPXE initialising devices...\r\n');

    const timer = screen.getByRole('timer', { name: 'Elapsed time' });
    expect(timer.textContent).toBe('0:00');
    await act(() => new Promise((r) => setTimeout(r, 1100)));
    expect(timer.textContent).toBe('0:01');

    await act(async () => boot.resolve(ok(RESULT)));
    const banner = within(panel()).getByRole('status');
    expect(banner.textContent).toBe(
      'PASS: the guest printed NETBOOT-COMPOSER-DEMO: OK, 36 store paths present and verifiedUEFI, TCG, 512 MiB of RAM, in 31.4 s.',
    );
    expect(banner.querySelector('code')!.textContent).toBe(RESULT.reason);
    expect(screen.queryByRole('button', { name: 'Stop' })).toBeNull();
    expect((screen.getByRole('button', { name: 'Test boot' }) as HTMLButtonElement).disabled).toBe(false);
    // The console stays for reading until it is closed.
    expect(consoleText()).toContain('iPXE initialising devices...');
    await user.click(screen.getByRole('button', { name: 'Close' }));
    expect(screen.queryByRole('region', { name: 'Serial console' })).toBeNull();
  });

  it('says in one line when KVM failed mid-boot and the boot started again under TCG', async () => {
    const boot = later<TestBootResult>();
    const { fake, store, user } = await atResult({ 'boot:start': boot.answer });
    await user.click(screen.getByRole('button', { name: 'Test boot' }));
    const jobId = bootJob(store);
    const why =
      'KVM failed in this boot (KVM internal error. Suberror: 1), so it starts again under TCG; later boots use TCG until QEMU or the kernel changes';
    act(() => {
      fake.emit({ jobId, event: { event: 'accel', accel: 'kvm', why: 'KVM runs iPXE on this machine' } });
      fake.emit({ jobId, event: { event: 'console', data: 'SeaBIOS (version 1.16.2)\r\n' } });
    });
    expect(screen.getByTestId('accel').textContent).toBe('KVM: KVM runs iPXE on this machine');
    expect(screen.getByTestId('accel').className).toBe('accel');
    act(() => {
      fake.emit({
        jobId,
        event: { event: 'accel', accel: 'tcg', why, kvmFailure: 'KVM internal error. Suberror: 1' },
      });
      fake.emit({ jobId, event: { event: 'console', data: `\r\n--- ${why} ---\r\n` } });
    });
    expect(screen.getByTestId('accel').textContent).toBe(`TCG: ${why}`);
    expect(screen.getByTestId('accel').className).toBe('accel accel-fallback');
    expect(consoleText()).toContain(`--- ${why} ---`);
    await act(async () => boot.resolve(ok({ ...RESULT, kvmFailure: 'KVM internal error. Suberror: 1' })));
    expect(within(panel()).getByRole('status').textContent).toContain('TCG, 512 MiB of RAM');
  });

  it('stops on Stop (main cancels the job), and a failed boot says why and points at the console', async () => {
    let boot = later<TestBootResult>();
    const { fake, store, user } = await atResult({ 'boot:start': () => boot.answer(), 'job:cancel': () => ok(true) });
    await user.click(screen.getByRole('button', { name: 'Test boot' }));
    const first = bootJob(store);
    act(() => fake.emit({ jobId: first, event: { event: 'console', data: 'SeaBIOS (version 1.16.2)\r\n' } }));
    await user.click(screen.getByRole('button', { name: 'Stop' }));
    expect(fake.calls.filter((c) => c.channel === 'job:cancel').map((c) => c.request)).toEqual([{ jobId: first }]);
    expect(screen.getByRole('button', { name: 'Stopping…' })).toBeTruthy();
    await act(async () => boot.resolve({ ok: false, error: { kind: 'canceled', message: 'Canceled.' } }));
    expect(within(panel()).getByRole('status').textContent).toMatch(/^Stopped after 0:0\d; the VM is gone\.$/);
    expect(screen.queryByRole('alert')).toBeNull();
    // Focus went from the vanished Stop to Close.
    expect(document.activeElement).toBe(screen.getByRole('button', { name: 'Close' }));

    boot = later<TestBootResult>();
    await user.click(screen.getByRole('button', { name: 'Test boot' }));
    const second = bootJob(store);
    expect(second).not.toBe(first);
    // A new boot, a new console.
    expect(consoleText()).toBe('');
    act(() => fake.emit({ jobId: second, event: { event: 'console', data: 'Kernel panic - not syncing: VFS\r\n' } }));
    await act(async () =>
      boot.resolve(
        ok({
          ...RESULT,
          passed: false,
          firmware: 'bios',
          reason: 'the kernel panicked',
          lastLines: ['Kernel panic - not syncing: VFS'],
        }),
      ),
    );
    const alert = screen.getByRole('alert');
    expect(within(alert).getByText('FAIL').parentElement!.textContent).toBe('FAIL: the kernel panicked.');
    expect(alert.textContent).toContain('The last lines are in the console below.');
    expect(consoleText()).toBe('Kernel panic - not syncing: VFS\r\n');
  });

  it('keeps the output of a running boot for when the step is shown again', async () => {
    const boot = later<TestBootResult>();
    const { fake, store, user } = await atResult({ 'boot:start': boot.answer });
    await user.click(screen.getByRole('button', { name: 'Test boot' }));
    const jobId = bootJob(store);
    act(() => fake.emit({ jobId, event: { event: 'console', data: 'line one\r\n' } }));
    await user.click(screen.getByRole('button', { name: 'Build' }));
    act(() => fake.emit({ jobId, event: { event: 'console', data: 'line two\r\n' } }));
    await user.click(screen.getByRole('button', { name: 'Result' }));
    expect(consoleText()).toBe('line one\r\nline two\r\n');
  });

  it('says in one sentence why a boot could not start', async () => {
    const { user } = await atResult({
      'boot:start': () => ({
        ok: false,
        error: {
          kind: 'user',
          message: 'qemu-system-x86_64 is missing; install it with: apt-get install qemu-system-x86',
        },
      }),
    });
    await user.click(screen.getByRole('button', { name: 'Test boot' }));
    const alert = await screen.findByRole('alert');
    expect(alert.textContent).toBe(
      'The test boot did not startqemu-system-x86_64 is missing; install it with: apt-get install qemu-system-x86',
    );
  });
});

const summary = (patch: Partial<ExportSummary>): ExportSummary => ({
  kind: 'folder',
  dir: '/srv/nb',
  files: [
    { name: 'bzImage', bytes: 8 * 1024 * 1024 },
    { name: 'netboot.ipxe', bytes: 400 },
  ],
  notes: [],
  ...patch,
});

describe('Export', () => {
  it('exports to a folder typed in, then shows the files, the notes (warnings first) and Show in folder', async () => {
    const { fake, user } = await atResult({
      'export:start': () =>
        ok(
          summary({
            notes: [
              { level: 'info', message: 'Point your DHCP server at netboot.ipxe.' },
              { level: 'warning', message: 'The image is 2.1 GiB: BIOS iPXE may fail to download it over TFTP.' },
            ],
          }),
        ),
      'shell:show-folder': () => ok(null),
    });
    const card = screen.getByRole('heading', { name: 'Export' }).closest('.card') as HTMLElement;
    const exportButton = within(card).getByRole('button', { name: 'Export' }) as HTMLButtonElement;
    expect(within(card).getByRole('radio', { name: 'Folder' })).toHaveProperty('checked', true);
    expect(exportButton.disabled).toBe(true);
    expect(exportButton.getAttribute('aria-describedby')).toBe('export-blocker');
    expect(within(card).getByText('Choose the folder to export to.')).toBeTruthy();
    await user.type(within(card).getByRole('textbox', { name: 'Folder' }), 'srv');
    expect(within(card).getByText('The folder is named by its full path, starting with /.')).toBeTruthy();
    await user.clear(within(card).getByRole('textbox', { name: 'Folder' }));
    await user.type(within(card).getByRole('textbox', { name: 'Folder' }), '/srv/nb');
    expect(exportButton.disabled).toBe(false);
    await user.click(exportButton);
    const request = fake.calls.find((c) => c.channel === 'export:start')!.request as { spec: unknown; from: string };
    expect(request).toMatchObject({ from: '/out', spec: { kind: 'folder', dir: '/srv/nb' } });

    expect(await within(card).findByText('Exported 2 files')).toBeTruthy();
    const notes = within(card).getByRole('list', { name: 'Notes' });
    expect(
      within(notes)
        .getAllByRole('listitem')
        .map((li) => [li.className, li.textContent]),
    ).toEqual([
      ['note note-warning', 'Warning: The image is 2.1 GiB: BIOS iPXE may fail to download it over TFTP.'],
      ['note note-info', 'Point your DHCP server at netboot.ipxe.'],
    ]);
    expect(
      within(within(card).getByRole('table', { name: 'Files written' }))
        .getAllByRole('row')
        .map((r) => r.textContent),
    ).toEqual(['bzImage8.0 MiB', 'netboot.ipxe400 B']);
    await user.click(within(card).getByRole('button', { name: 'Show in folder' }));
    expect(fake.calls.find((c) => c.channel === 'shell:show-folder')?.request).toEqual({ path: '/srv/nb' });
  });

  it('checks the HTTP base URL and the TFTP subfolder on the page, in one sentence each, and shows main’s error readably', async () => {
    const { fake, user } = await atResult({
      'dialog:choose-folder': ({ purpose }) => ok(purpose === 'http' ? '/var/www/nb' : '/srv/tftp'),
      'export:start': ({ spec }) =>
        spec.kind === 'tftp'
          ? { ok: false, error: { kind: 'user', message: 'tftp exports are not implemented yet.' } }
          : ok(summary({ kind: 'http', dir: '/var/www/nb' })),
    });
    const card = screen.getByRole('heading', { name: 'Export' }).closest('.card') as HTMLElement;
    const exportButton = () => within(card).getByRole('button', { name: 'Export' }) as HTMLButtonElement;

    await user.click(within(card).getByRole('radio', { name: 'HTTP' }));
    await user.click(within(card).getByRole('button', { name: 'Choose…' }));
    expect(fake.calls.find((c) => c.channel === 'dialog:choose-folder')?.request).toEqual({ purpose: 'http' });
    expect((within(card).getByLabelText('Folder your HTTP server serves') as HTMLInputElement).value).toBe(
      '/var/www/nb',
    );
    // Empty: the hint says what goes there, Export waits.
    expect(exportButton().disabled).toBe(true);
    const url = within(card).getByLabelText('Base URL');
    await user.type(url, 'ftp://10.0.0.2/nb/');
    expect(url.getAttribute('aria-invalid')).toBe('true');
    const error = within(card).getByText(/^The base URL must start with http:\/\/ or https:\/\//);
    expect(url.getAttribute('aria-describedby')).toBe(error.id);
    // Said once: under the field, not again beside the button.
    expect(within(card).queryByText(/base URL/, { selector: '#export-blocker' })).toBeNull();
    expect(exportButton().disabled).toBe(true);
    await user.clear(url);
    await user.type(url, 'http://10.0.0.2/nb/');
    expect(url.getAttribute('aria-invalid')).toBe('false');
    await user.click(exportButton());
    expect(fake.calls.filter((c) => c.channel === 'export:start').at(-1)?.request).toMatchObject({
      spec: { kind: 'http', dir: '/var/www/nb', baseUrl: 'http://10.0.0.2/nb/' },
    });
    expect(await within(card).findByText('Exported 2 files')).toBeTruthy();

    await user.click(within(card).getByRole('radio', { name: 'TFTP' }));
    await user.click(within(card).getByRole('button', { name: 'Choose…' }));
    await user.type(within(card).getByLabelText('Subfolder (optional)'), '../b');
    expect(within(card).getByText(/is not a subfolder name/)).toBeTruthy();
    expect(exportButton().disabled).toBe(true);
    await user.clear(within(card).getByLabelText('Subfolder (optional)'));
    await user.type(within(card).getByLabelText('Subfolder (optional)'), 'nixos');
    await user.click(exportButton());
    expect(fake.calls.filter((c) => c.channel === 'export:start').at(-1)?.request).toMatchObject({
      spec: { kind: 'tftp', dir: '/srv/tftp', subdir: 'nixos' },
    });
    const alert = await within(card).findByRole('alert');
    expect(alert.textContent).toBe('The export did not finishtftp exports are not implemented yet.');
  });

  it('warns before a TFTP export of an image over 100 MiB, and points at HTTP', async () => {
    const big = { ...OUTCOME, downloadBytes: 300 * 1024 * 1024 };
    const { user } = await atResult({ 'build:start': () => ok(big) });
    const card = screen.getByText('Export', { selector: 'h3' }).closest('.export-card') as HTMLElement;
    expect(within(card).queryByRole('note')).toBeNull();
    await user.click(within(card).getByRole('radio', { name: 'TFTP' }));
    expect(within(card).getByRole('note').textContent).toBe(
      'Warning: This image downloads 300 MiB; TFTP waits for every 1.5 KB block, so that takes minutes on many machines. The HTTP export serves it much faster.',
    );
    await user.click(within(card).getByRole('radio', { name: 'HTTP' }));
    expect(within(card).queryByRole('note')).toBeNull();
  });

  it('writes a USB image where the save dialog says, and offers to test boot that image', async () => {
    const { fake, store, user } = await atResult({
      'dialog:choose-file': () => ok('/home/me/nixos.img'),
      'export:start': () =>
        ok(
          summary({ kind: 'usb-image', dir: '/home/me', file: '/home/me/nixos.img', files: [{ name: 'x', bytes: 1 }] }),
        ),
      'boot:start': () => new Promise(() => undefined),
    });
    const card = screen.getByRole('heading', { name: 'Export' }).closest('.card') as HTMLElement;
    await user.click(within(card).getByRole('radio', { name: 'USB image' }));
    expect(within(card).getByText('Choose where to save the image.')).toBeTruthy();
    await user.click(within(card).getByRole('button', { name: 'Choose…' }));
    expect(fake.calls.find((c) => c.channel === 'dialog:choose-file')?.request).toEqual({ purpose: 'usb-image' });
    await user.click(within(card).getByRole('button', { name: 'Export' }));
    expect(fake.calls.find((c) => c.channel === 'export:start')?.request).toMatchObject({
      spec: { kind: 'usb-image', file: '/home/me/nixos.img' },
    });
    expect(await within(card).findByText('Wrote nixos.img')).toBeTruthy();
    expect(within(card).getByText('1 files inside the image')).toBeTruthy();
    // Now the header can boot the image too.
    expect((screen.getByLabelText('What to boot') as HTMLSelectElement).value).toBe('network');
    await user.click(within(card).getByRole('button', { name: 'Test boot this image' }));
    expect(fake.calls.find((c) => c.channel === 'boot:start')?.request).toEqual({
      jobId: bootJob(store),
      dir: '/out',
      firmware: 'bios',
      usbImage: '/home/me/nixos.img',
    });
    expect((screen.getByLabelText('What to boot') as HTMLSelectElement).value).toBe('usb');
    expect(screen.getByText('BIOS · nixos.img as a USB stick')).toBeTruthy();
  });

  it('writes to the USB stick picked from the list of mounted drives', async () => {
    const { fake, user } = await atResult({
      'drives:list': () =>
        ok([
          { device: '/dev/sdb1', name: 'NETBOOT', mountpoint: '/media/me/NETBOOT', sizeBytes: 32e9, freeBytes: 30e9 },
          { device: '/dev/sdc1', name: 'Kingston', mountpoint: '/media/me/KING', sizeBytes: 8e9, freeBytes: undefined },
        ]),
      'export:start': () => ok(summary({ kind: 'usb', dir: '/media/me/KING' })),
    });
    const card = screen.getByRole('heading', { name: 'Export' }).closest('.card') as HTMLElement;
    await user.click(within(card).getByRole('radio', { name: 'USB stick' }));
    expect(within(card).getByText('Choose a USB stick.')).toBeTruthy();
    const drives = within(card).getByRole('list', { name: 'USB drives' });
    await user.click(within(drives).getByRole('radio', { name: /Kingston/ }));
    await user.click(within(card).getByRole('button', { name: 'Export' }));
    expect(fake.calls.find((c) => c.channel === 'export:start')?.request).toMatchObject({
      spec: { kind: 'usb', dir: '/media/me/KING' },
    });
  });

  it('starts from the last export, kept in the settings', async () => {
    const settings: Settings = {
      recent: [],
      options: defaultBuildOptions('x86_64-linux'),
      lastExport: { kind: 'http', dir: '/var/www/nb', baseUrl: 'https://boot.lan/nb/' },
      cacheLimitBytes: undefined,
    };
    await atResult({ 'settings:get': () => ok(settings) });
    const card = screen.getByRole('heading', { name: 'Export' }).closest('.card') as HTMLElement;
    expect(within(card).getByRole('radio', { name: 'HTTP' })).toHaveProperty('checked', true);
    expect((within(card).getByLabelText('Base URL') as HTMLInputElement).value).toBe('https://boot.lan/nb/');
    expect((within(card).getByRole('button', { name: 'Export' }) as HTMLButtonElement).disabled).toBe(false);
  });
});

describe('draftSpec', () => {
  it('turns the form into the spec main gets, trimmed, with no empty subfolder', () => {
    const draft = draftFrom({ kind: 'tftp', dir: ' /srv/tftp ', subdir: '' });
    expect(draftSpec(draft)).toEqual({ spec: { kind: 'tftp', dir: '/srv/tftp' } });
    expect(draftSpec({ ...draft, kind: 'folder' })).toEqual({
      problem: { field: 'dir', message: 'Choose the folder to export to.' },
    });
    expect(draftSpec({ ...draft, kind: 'usb-image', file: '/home/me/' })).toMatchObject({ problem: { field: 'file' } });
  });
});
