import { execFileSync } from 'node:child_process';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  absoluteFlakeRef,
  flakeToplevelExpr,
  nixPath,
  nixString,
  parseFlakeArg,
} from '../../../electron/pipeline/compose/nix.ts';
import { ROOT, tempDir } from '../../helpers/fixtures.ts';

/** What the real Nix evaluator makes of an expression. */
function evaluate(expr: string): unknown {
  return JSON.parse(
    execFileSync('nix-instantiate', ['--eval', '--strict', '--json', '--expr', expr], { encoding: 'utf8' }),
  );
}

describe('talking to Nix', () => {
  it('quotes any text so that Nix reads it back unchanged', () => {
    const nasty = 'a "quoted" \\ back${slash} $HOME ${ünïcödé} \n newline';
    expect(evaluate(nixString(nasty))).toBe(nasty);
    expect(evaluate(`toString ${nixPath('/tmp/with space/and "quote"')}`)).toBe('/tmp/with space/and "quote"');
  });

  it('reads REF#NAME', () => {
    expect(parseFlakeArg('.#router')).toEqual({ ref: '.', name: 'router' });
    expect(parseFlakeArg('github:me/infra#nixosConfigurations.nas')).toEqual({ ref: 'github:me/infra', name: 'nas' });
    expect(() => parseFlakeArg('.')).toThrow(/write REF#NAME/);
    expect(() => parseFlakeArg('#x')).toThrow(/write REF#NAME/);
  });

  it('makes local flake folders absolute and leaves remote references alone', () => {
    expect(absoluteFlakeRef('.', '/home/me/infra')).toBe('/home/me/infra');
    expect(absoluteFlakeRef('../x', '/home/me/infra')).toBe('/home/me/x');
    expect(absoluteFlakeRef('path:./x', '/home/me')).toBe('path:/home/me/x');
    expect(absoluteFlakeRef('github:me/infra', '/home/me')).toBe('github:me/infra');
    expect(absoluteFlakeRef('git+https://example.org/x.git', '/')).toBe('git+https://example.org/x.git');
  });

  it('asks for the toplevel of the configuration with the netboot module added', () => {
    const expr = flakeToplevelExpr('/home/me/infra', 'router', '/app/assets/nix/netboot.nix');
    expect(expr).toContain('builtins.getFlake "/home/me/infra"');
    expect(expr).toContain('flake.nixosConfigurations."router"');
    expect(expr).toContain('extendModules { modules = [ (/. + "/app/assets/nix/netboot.nix") ]; }');
    expect(expr).toMatch(/\.config\.system\.build\.toplevel$/);
  });
});

/** assets/nix/netboot.nix as test/fixtures/netboot-module.nix resolves it (a stub lib: no nixpkgs here). */
function netbootModule(systemd: boolean): {
  config: {
    boot: {
      initrd: {
        postMountCommands?: string;
        kernelModules: string[];
        systemd?: {
          services: Record<
            string,
            { serviceConfig: Record<string, unknown>; unitConfig: Record<string, unknown> } & Record<string, string[]>
          >;
          storePaths: string[];
          extraBin: Record<string, string>;
        };
      };
      postBootCommands: string;
    };
    fileSystems: Record<string, { fsType: string; neededForBoot?: boolean }>;
  };
  postMountCommandsAllowed: boolean;
  seedPostMountCommands: string;
} {
  const fixture = join(ROOT, 'test', 'fixtures', 'netboot-module.nix');
  return evaluate(`import ${nixPath(fixture)} { systemd = ${systemd}; }`) as ReturnType<typeof netbootModule>;
}

describe('the netboot NixOS module, evaluated against a stub lib (NixOS itself is checked by the VM tests)', () => {
  it("with scripted stage 1, uses the seed's postMountCommands verbatim and defines no systemd unit", () => {
    const module = netbootModule(false);
    expect(module.config.boot.initrd.postMountCommands).toBe(module.seedPostMountCommands);
    expect(module.config.boot.initrd.postMountCommands).toContain('mount -t squashfs -o loop');
    expect(module.config.boot.initrd.systemd).toBeUndefined();
    expect(module.config.boot.initrd.kernelModules).toEqual(['loop', 'overlay']);
    expect(module.config.fileSystems['/nix']).toMatchObject({ fsType: 'tmpfs', neededForBoot: true });
  });

  it('with systemd stage 1, leaves postMountCommands empty (NixOS asserts it) and loads the store from an initrd service running load-squashes.sh /sysroot', async () => {
    const module = netbootModule(true);
    expect(module.config.boot.initrd.postMountCommands).toBeUndefined();
    expect(module.postMountCommandsAllowed).toBe(true);
    const systemd = module.config.boot.initrd.systemd!;
    const service = systemd.services['netboot-load-squashes']!;
    const execStart = String(service.serviceConfig.ExecStart);
    const match = /^\/stub\/bin\/bash (\/nix\/store\/[a-z0-9]{32}-netboot-load-squashes\.sh) \/sysroot$/.exec(
      execStart,
    );
    expect(match).not.toBeNull();
    const script = match![1]!;
    // The file the unit runs is assets/nix/load-squashes.sh, and it is copied into the initrd.
    expect(await readFile(script, 'utf8')).toBe(
      await readFile(join(ROOT, 'assets', 'nix', 'load-squashes.sh'), 'utf8'),
    );
    expect(systemd.storePaths).toEqual([script]);
    expect(systemd.extraBin.gzip).toBe('/stub/gzip/bin/gzip');
    // After the /nix tmpfs on /sysroot/nix, before the real root is complete.
    expect(service.unitConfig).toMatchObject({ DefaultDependencies: false, RequiresMountsFor: '/sysroot/nix' });
    expect(service.before).toContain('initrd-fs.target');
    expect(service.before).toContain('initrd-find-nixos-closure.service');
    expect(service.requiredBy).toEqual(['initrd-fs.target']);
    expect(service.serviceConfig).toMatchObject({ Type: 'oneshot', RemainAfterExit: true });
    expect(module.config.boot.initrd.kernelModules).toEqual(['loop', 'overlay', 'squashfs']);
    // Stage 2 is the same on both paths.
    expect(module.config.boot.postBootCommands).toBe(netbootModule(false).config.boot.postBootCommands);
  });
});

describe("the systemd-stage-1 path's loading script (assets/nix/load-squashes.sh)", () => {
  const script = join(ROOT, 'assets', 'nix', 'load-squashes.sh');
  /** Run it as the unit does (a shell, the root as its only argument), with busybox's sh as in the demo. */
  function load(...args: string[]): { code: number; stderr: string } {
    try {
      execFileSync('busybox', ['sh', script, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
      return { code: 0, stderr: '' };
    } catch (error) {
      const e = error as { status: number; stderr: string };
      return { code: e.status, stderr: e.stderr };
    }
  }

  it('says in one line what is missing: its argument, the /nix to fill, the manifest', async () => {
    expect(load()).toEqual({
      code: 1,
      stderr: 'load-squashes: give the root to fill, e.g. /sysroot (usage: load-squashes.sh ROOT)\n',
    });
    expect(load('/nonexistent-root')).toEqual({
      code: 1,
      stderr: 'load-squashes: /nonexistent-root/nix does not exist: mount the /nix tmpfs first\n',
    });
    // This machine is no initramfs: it has no manifest.
    const root = await tempDir();
    await mkdir(join(root, 'nix'));
    expect(load(root)).toEqual({
      code: 1,
      stderr: 'load-squashes: /nix-store-squashes/squashes is missing: the manifest initrd was not loaded\n',
    });
  });
});
