/**
 * MainHandlers with the real pipeline, Nix and QEMU, as the page reaches them
 * through the IPC router.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import type { MainHandlers, Sender } from '../../electron/main/handlers.ts';
import { createIpcRouter } from '../../electron/main/ipc.ts';
import { defaultBuildOptions, type JobEvent } from '../../electron/shared/ipc.ts';
import { buildFixture, qemuProcessesFor, tempDir } from '../helpers/fixtures.ts';
import { testHandlers } from '../helpers/main-handlers.ts';

const sender: Sender = { id: 7, send: () => undefined, isDestroyed: () => false };

function handlers(): Promise<MainHandlers> {
  return testHandlers();
}

describe('flake:list', () => {
  it('lists a flake’s configurations with the architecture each is built for, as far as Nix can tell', async () => {
    const flake = await tempDir();
    await writeFile(
      join(flake, 'flake.nix'),
      `{
        outputs = { self }: {
          nixosConfigurations.router = { config.nixpkgs.hostPlatform.system = "x86_64-linux"; };
          nixosConfigurations.pi = { pkgs.stdenv.hostPlatform.system = "aarch64-linux"; };
          nixosConfigurations.broken = { config.nixpkgs.hostPlatform.system = throw "no"; };
        };
      }\n`,
    );
    const router = createIpcRouter(await handlers(), () => true);
    expect(await router('flake:list', { sender }, { jobId: 'f1', ref: flake })).toEqual({
      ok: true,
      value: [
        { name: 'broken', system: undefined },
        { name: 'pi', system: 'aarch64-linux' },
        { name: 'router', system: 'x86_64-linux' },
      ],
    });
  });

  it('says what to do with a folder that has no flake.nix, or no configurations', async () => {
    const router = createIpcRouter(await handlers(), () => true);
    const empty = await tempDir();
    const none = await router('flake:list', { sender }, { jobId: 'f2', ref: empty });
    expect(none).toMatchObject({ ok: false, error: { kind: 'user' } });
    const flake = await tempDir();
    await mkdir(flake, { recursive: true });
    await writeFile(join(flake, 'flake.nix'), '{ outputs = { self }: { }; }\n');
    expect(await router('flake:list', { sender }, { jobId: 'f3', ref: flake })).toEqual({
      ok: false,
      error: {
        kind: 'user',
        message: `${flake} has no nixosConfigurations; choose the folder of a flake that defines some.`,
        details: undefined,
      },
    });
  });
});

describe('system:resolve', () => {
  it('says in one sentence why a plain folder cannot be the system, and what to give instead', async () => {
    const router = createIpcRouter(await handlers(), () => true);
    const answer = await router(
      'system:resolve',
      { sender },
      { jobId: 'r', source: { kind: 'toplevel', path: await tempDir() } },
    );
    expect(answer).toMatchObject({
      ok: false,
      error: {
        kind: 'user',
        message: expect.stringMatching(/ is not in the Nix store \(\/nix\/store\); give a system built by Nix/),
      },
    });
  });
});

describe('build:start', () => {
  it('builds one system from two windows at once in turn, so both get the boot folder whole', async () => {
    const toplevel = await buildFixture();
    const main = await handlers();
    const router = createIpcRouter(main, () => true);
    const events: Array<{ window: number; message: string }> = [];
    const windowOf = (id: number): Sender => ({
      id,
      isDestroyed: () => false,
      send: (_channel, payload) => {
        const { event } = payload as JobEvent;
        if (event.event === 'stage') events.push({ window: id, message: event.message });
      },
    });
    const request = (jobId: string) => ({
      jobId,
      source: { kind: 'toplevel', path: toplevel },
      options: defaultBuildOptions('x86_64-linux'),
    });
    const [first, second] = await Promise.all([
      router('build:start', { sender: windowOf(1) }, request('one')),
      router('build:start', { sender: windowOf(2) }, request('two')),
    ]);
    expect(first).toMatchObject({ ok: true });
    expect(second).toMatchObject({ ok: true, value: { packed: 0 } });
    // The second waited for the first to finish before it started.
    const order = events.map((e) => `${e.window}:${e.message.split(' ')[0]}`);
    expect(order.indexOf('2:Waiting')).toBeGreaterThanOrEqual(0);
    expect(order.indexOf('2:Reading')).toBeGreaterThan(order.lastIndexOf('1:Writing'));
    if (first.ok) {
      const record = JSON.parse(
        await readFile(join((first.value as { outDir: string }).outDir, '.netboot-composer.json'), 'utf8'),
      );
      expect(Object.keys(record.files).sort()).toEqual(['bzImage', 'initrd', 'manifest', 'netboot.ipxe', 'nix-store']);
    }
  });
});

describe('export:start', () => {
  it('exports a built boot folder as the spec says and remembers the spec for the next export', async () => {
    const toplevel = await buildFixture();
    const main = await handlers();
    const router = createIpcRouter(main, () => true);
    const built = await router(
      'build:start',
      { sender },
      {
        jobId: 'b',
        source: { kind: 'toplevel', path: toplevel },
        options: defaultBuildOptions('x86_64-linux'),
      },
    );
    expect(built.ok).toBe(true);
    const from = (built as { value: { outDir: string } }).value.outDir;
    const to = await tempDir();
    const answer = await router('export:start', { sender }, { jobId: 'e', from, spec: { kind: 'folder', dir: to } });
    expect(answer).toMatchObject({ ok: true, value: { kind: 'folder', dir: to, notes: [] } });
    const names = (answer as { value: { files: { name: string }[] } }).value.files.map((f) => f.name).sort();
    expect(names).toEqual(['bzImage', 'initrd', 'manifest', 'netboot.ipxe', 'nix-store']);
    expect(await readFile(join(to, 'netboot.ipxe'), 'utf8')).toBe(await readFile(join(from, 'netboot.ipxe'), 'utf8'));
    expect((await main.settings.get()).lastExport).toEqual({ kind: 'folder', dir: to });
    const saved = JSON.parse(await readFile(main.settings.file, 'utf8'));
    expect(saved.lastExport).toEqual({ kind: 'folder', dir: to });
  });
});

/** A boot folder whose netboot.ipxe only echoes: iPXE runs it a few seconds into the boot, no kernel needed. */
async function echoFolder(script: string): Promise<string> {
  const dir = await tempDir('nbc-echo-');
  await writeFile(join(dir, 'netboot.ipxe'), `#!ipxe\n${script}\n`);
  await writeFile(join(dir, 'bzImage'), 'not a kernel: the script never loads it\n');
  return dir;
}

function recorder(): { sender: Sender; events: JobEvent[]; times: number[] } {
  const events: JobEvent[] = [];
  const times: number[] = [];
  return {
    events,
    times,
    sender: {
      id: 9,
      isDestroyed: () => false,
      send: (_channel, payload) => {
        events.push(payload as JobEvent);
        times.push(performance.now());
      },
    },
  };
}

describe('boot:start', () => {
  it('boots in QEMU, streams the console in batches, and ends with the result: passed on the expected line', async () => {
    const dir = await echoFolder('echo NETBOOT-COMPOSER-DEMO: OK, from iPXE\nsleep 60');
    const router = createIpcRouter(await handlers(), () => true);
    const { sender: window, events, times } = recorder();
    const answer = await router('boot:start', { sender: window }, { jobId: 'boot-1', dir, firmware: 'bios' });
    expect(answer).toMatchObject({
      ok: true,
      value: { passed: true, firmware: 'bios', reason: 'NETBOOT-COMPOSER-DEMO: OK, from iPXE' },
    });
    const kinds = events.map((e) => e.event.event);
    expect(kinds[0]).toBe('boot-start');
    expect(kinds[1]).toBe('accel');
    expect(kinds.at(-1)).toBe('boot-result');
    expect(events[0]!.event).toMatchObject({
      event: 'boot-start',
      firmware: 'bios',
      medium: 'network',
      memoryMiB: 512,
    });
    const output = events.flatMap((e) => (e.event.event === 'console' ? [e.event.data] : [])).join('');
    // The raw console: SeaBIOS's banner, iPXE's, and the script's line, escape sequences and all.
    expect(output).toContain('SeaBIOS');
    expect(output).toContain('iPXE');
    expect(output).toContain('NETBOOT-COMPOSER-DEMO: OK, from iPXE');
    expect(output).toContain('\x1b[');
    expect(events.every((e) => e.jobId === 'boot-1')).toBe(true);
    // Batched: console messages at least 50 ms apart (the last is flushed as the boot ends).
    const consoleTimes = times.filter((_, i) => events[i]!.event.event === 'console').slice(0, -1);
    const gaps = consoleTimes.slice(1).map((t, i) => t - consoleTimes[i]!);
    expect(gaps.length).toBeGreaterThan(3);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(45);
    expect(qemuProcessesFor(dir)).toEqual([]);
  });

  it('stops the VM on job:cancel: the job ends as canceled, and no qemu-system is left', async () => {
    const dir = await echoFolder('echo nbc-waiting\nsleep 120');
    const main = await handlers();
    const router = createIpcRouter(main, () => true);
    const { sender: window, events } = recorder();
    const booting = router('boot:start', { sender: window }, { jobId: 'boot-2', dir, firmware: 'bios' });
    const seen = () => events.map((e) => (e.event.event === 'console' ? e.event.data : '')).join('');
    await vi.waitFor(() => expect(seen()).toContain('nbc-waiting'), { timeout: 60_000, interval: 100 });
    expect(qemuProcessesFor(dir)).toHaveLength(1);
    expect(await router('job:cancel', { sender: window }, { jobId: 'boot-2' })).toEqual({ ok: true, value: true });
    expect(await booting).toMatchObject({ ok: false, error: { kind: 'canceled' } });
    expect(events.some((e) => e.event.event === 'boot-result')).toBe(false);
    expect(qemuProcessesFor(dir)).toEqual([]);
    expect(main.runningJobs).toBe(0);
  });

  it('says in one sentence what is wrong with a folder that is not a boot folder', async () => {
    const router = createIpcRouter(await handlers(), () => true);
    const dir = await tempDir();
    expect(await router('boot:start', { sender }, { jobId: 'boot-3', dir, firmware: 'uefi' })).toEqual({
      ok: false,
      error: {
        kind: 'user',
        message: `${dir} has no netboot.ipxe; give a boot folder made by netboot-composer build.`,
        details: undefined,
      },
    });
  });
});
