/**
 * MainHandlers with the real pipeline and Nix, as the page reaches them
 * through the IPC router.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MainHandlers, type Sender } from '../../electron/main/handlers.ts';
import { createIpcRouter } from '../../electron/main/ipc.ts';
import type { JobEvent } from '../../electron/shared/ipc.ts';
import { buildFixture, tempDir } from '../helpers/fixtures.ts';

const sender: Sender = { id: 7, send: () => undefined, isDestroyed: () => false };

async function handlers(): Promise<MainHandlers> {
  return new MainHandlers({
    userDataDir: await tempDir(),
    cacheDir: await tempDir(),
    version: 'test',
    hostArch: 'x86_64-linux',
    services: {
      chooseFolder: async () => null,
      showFolder: async () => undefined,
      writeClipboard: () => undefined,
    },
  });
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
      options: {
        arch: 'x86_64-linux',
        squashfs: { name: 'zstd', level: 6 },
        initrd: { name: 'none' },
        kernelParams: '',
      },
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
