/**
 * MainHandlers with the real pipeline and Nix, as the page reaches them
 * through the IPC router.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MainHandlers, type Sender } from '../../electron/main/handlers.ts';
import { createIpcRouter } from '../../electron/main/ipc.ts';
import { tempDir } from '../helpers/fixtures.ts';

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
