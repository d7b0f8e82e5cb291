/**
 * The proof that the pipeline works: the demo system, packed by the CLI,
 * netboots in QEMU (BIOS, the iPXE ROM, QEMU's own TFTP) with netboot.nix's
 * stage 1 run verbatim (and with the netboot module's systemd-stage-1
 * loading script), and its stage 2 finds every store path intact.
 */
import { execFileSync } from 'node:child_process';
import { copyFile, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEMO_MARKER } from '../../electron/pipeline/media/markers.ts';
import { jsonEvents, qemuProcessesFor, ROOT, runCli, tempDir } from '../helpers/fixtures.ts';
import { kernelRoot, LOOP, SQUASHFS } from '../helpers/kernel-root.ts';

const BOOT_TIMEOUT = 300_000;

/** How many of the cache's squashfs images each writer made, from their descriptions' recipes. */
async function cacheWriters(cache: string): Promise<{ builtin: number; mksquashfs: number }> {
  const folder = join(cache, 'v1', 'squashfs');
  const metas = (await readdir(folder)).filter((name) => name.endsWith('.sqsh.json'));
  const recipes = await Promise.all(
    metas.map(async (name) => (JSON.parse(await readFile(join(folder, name), 'utf8')) as { recipe: string }).recipe),
  );
  const builtin = recipes.filter((recipe) => recipe.startsWith('builtin-squashfs ')).length;
  return { builtin, mksquashfs: recipes.length - builtin };
}

describe('the demo system', () => {
  it(
    'builds and boots with `demo` (what npm run demo runs): stage 2 verifies the whole store',
    async () => {
      const out = join(await tempDir(), 'demo');
      const cache = await tempDir();
      // With the in-process squashfs writer (off by default): it makes the small paths' images, the kernel mounts them.
      const { code, stdout, stderr } = await runCli(['demo', '--out', out, '--cache', cache], {
        NETBOOT_COMPOSER_SQUASHFS_WRITER: 'builtin',
      });
      expect(stderr).toBe('');
      expect(code).toBe(0);
      const writers = await cacheWriters(cache);
      expect(writers.builtin).toBeGreaterThanOrEqual(30);
      expect(stdout).toMatch(new RegExp(`${DEMO_MARKER}, (\\d+) store paths present and verified`));
      const paths = Number(/(\d+) store paths present and verified/.exec(stdout)![1]);
      expect(paths).toBeGreaterThanOrEqual(30);
      // Stage 1 ran the seed's commands: its trace shows a store path being
      // copied out of its squashfs. (The two sides of its `cat | sed` pipe
      // trace at the same time, so their lines can interleave: not those.)
      expect(stdout).toContain('Mounting initial store');
      expect(stdout).toMatch(/\+ cp -ar \.\.\/\.squash\/(\S+)\/\1 \.\/\1$/m);
      expect(stdout).toMatch(/PASS: the guest printed/);
      // Its stage 1 is the netboot module's: nothing to warn about.
      expect(stdout).not.toContain('warning:');
      expect(stdout).toContain(`The demo boot folder is ${out}`);
      expect(await readFile(join(out, 'netboot.ipxe'), 'utf8')).toMatch(
        /^kernel bzImage init=\/nix\/store\/\S+-nixos-system-demo-[^/]+\/init initrd=initrd initrd=manifest initrd=nix-store console=ttyS0/m,
      );
      expect(qemuProcessesFor(out)).toEqual([]);
    },
    BOOT_TIMEOUT,
  );

  it('refuses a --demo-stage1 it does not know, or without --demo, in one sentence (a usage error, exit code 2)', async () => {
    const unknown = await runCli(['build', '--demo', '--demo-stage1', 'systemd', '--out', await tempDir()]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('--demo-stage1 takes seed or systemd-script, not "systemd".');
    const alone = await runCli([
      'build',
      '--toplevel',
      '/nix/store',
      '--demo-stage1',
      'seed',
      '--out',
      await tempDir(),
    ]);
    expect(alone.code).toBe(2);
    expect(alone.stderr).toContain('--demo-stage1 goes with --demo.');
  });

  it(
    "boots through the systemd-stage-1 path's loading script, run as the netboot module's initrd service runs it, from xz-compressed kernel modules (Debian 13's way)",
    async () => {
      const { root } = await kernelRoot({ [LOOP]: '.xz', [SQUASHFS]: '.xz' });
      const out = await tempDir();
      // With the in-process writer off: every image is mksquashfs's, as before it.
      const cache = await tempDir();
      const { code, stdout, stderr } = await runCli(
        ['build', '--demo', '--demo-stage1', 'systemd-script', '--out', out, '--cache', cache],
        // A small store file target: the store is several initrd files, all netbooted (store-split.ts).
        // The default writer: every image is mksquashfs's.
        { NETBOOT_COMPOSER_DEMO_ROOT: root, NETBOOT_COMPOSER_STORE_FILE_TARGET: String(4 * 1024 * 1024) },
      );
      expect(stderr).toBe('');
      expect(code).toBe(0);
      expect(await readFile(join(out, 'netboot.ipxe'), 'utf8')).toMatch(
        /initrd=manifest initrd=nix-store(?:-\d+)? initrd=nix-store-\d+ initrd=nix-store-\d+ /,
      );
      expect(await cacheWriters(cache)).toMatchObject({ builtin: 0 });
      expect(stdout).toContain(`Boot folder: ${out}`);
      const booted = await runCli(['test-boot', '--dir', out]);
      expect(booted.code).toBe(0);
      expect(booted.stdout).toMatch(/PASS: the guest printed/);
      const verified = new RegExp(`${DEMO_MARKER}, (\\d+) store paths present and verified`).exec(booted.stdout);
      expect(verified).not.toBeNull();
      // The script the module's unit runs (ExecStart=SHELL SCRIPT /sysroot), the
      // very store path, loaded every path into /sysroot; the seed's stage 1 did not run.
      const module = JSON.parse(
        execFileSync(
          'nix-instantiate',
          [
            '--eval',
            '--strict',
            '--json',
            '--expr',
            `(import ${join(ROOT, 'test', 'fixtures', 'netboot-module.nix')} { systemd = true; }).config.boot.initrd.systemd.services.netboot-load-squashes.serviceConfig.ExecStart`,
          ],
          { encoding: 'utf8' },
        ),
      ) as string;
      const script = module.split(' ')[1]!;
      expect(booted.stdout).toContain(`stage 1: loading the store with ${script} /sysroot`);
      expect(booted.stdout).toContain(`load-squashes: ${verified![1]} store paths loaded into /sysroot/nix/store`);
      expect(booted.stdout).not.toContain('Mounting initial store');
      expect(qemuProcessesFor(out)).toEqual([]);
    },
    BOOT_TIMEOUT,
  );

  it(
    'boots with zstd-compressed initrds (one compressed archive per store path) and gzip squashfs images',
    async () => {
      const out = await tempDir();
      const built = await runCli([
        'build',
        '--demo',
        '--out',
        out,
        '--cache',
        await tempDir(),
        '--initrd-compression',
        'zstd',
        '--squashfs-compression',
        'gzip:6',
        '--json',
      ]);
      expect(built.code).toBe(0);
      const booted = await runCli(['test-boot', '--dir', out, '--json']);
      const result = jsonEvents(booted.stdout).at(-1);
      expect(result).toMatchObject({ event: 'result', passed: true });
      expect(String(result?.reason)).toContain(DEMO_MARKER);
      expect(booted.code).toBe(0);
    },
    BOOT_TIMEOUT,
  );

  it(
    'fails a test boot, with the reason and the console, when the pattern never appears, the kernel finds no init, RAM is short, QEMU cannot start, or iPXE cannot fetch a file; refuses a script that fetches by URL',
    async () => {
      const out = await tempDir();
      expect((await runCli(['build', '--demo', '--out', out, '--cache', await tempDir(), '--json'])).code).toBe(0);
      const started = Date.now();
      const { code, stdout } = await runCli([
        'test-boot',
        '--dir',
        out,
        '--expect',
        'no such line',
        '--timeout',
        '8',
        '--quiet',
      ]);
      expect(code).toBe(1);
      expect(stdout).toMatch(/FAIL: the expected output did not appear within 8 s/);
      // --quiet still prints the last console lines of a failed boot.
      expect(stdout).toMatch(/^ {2}\| .*iPXE/m);
      expect(Date.now() - started).toBeLessThan(60_000);
      expect(qemuProcessesFor(out)).toEqual([]);

      // A kernel that cannot find its init: the panic is the reason, and the
      // last console lines come with it.
      const noInit = await tempDir();
      for (const name of ['bzImage', 'initrd', 'manifest', 'nix-store']) {
        await copyFile(join(out, name), join(noInit, name));
      }
      const script = await readFile(join(out, 'netboot.ipxe'), 'utf8');
      await writeFile(
        join(noInit, 'netboot.ipxe'),
        script.replace(/ init=\S+/, ' rdinit=/no-such-init init=/no-such-init'),
      );
      const panicked = await runCli(['test-boot', '--dir', noInit, '--timeout', '150', '--json']);
      expect(panicked.code).toBe(1);
      const panic = jsonEvents(panicked.stdout).at(-1);
      expect(panic).toMatchObject({ event: 'result', passed: false });
      expect(String(panic?.reason)).toMatch(/^the kernel could not find its init \(VFS: Unable to mount root fs/);
      expect((panic?.lastLines as string[]).some((line) => line.includes('Kernel panic'))).toBe(true);
      expect(qemuProcessesFor(noInit)).toEqual([]);

      // Too little RAM: the kernel stops before its console is up; the
      // reason says RAM, not a hang.
      const starved = await runCli(['test-boot', '--dir', out, '--memory', '64', '--timeout', '150', '--json']);
      expect(starved.code).toBe(1);
      expect(String(jsonEvents(starved.stdout).at(-1)?.reason)).toMatch(
        /the guest had 64 MiB of RAM and the image needs about \d+ MiB, so give it more with --memory/,
      );

      // QEMU that cannot start the VM says so in its own words, at once.
      const unstartable = await runCli(['test-boot', '--dir', out, '--memory', '99999999', '--json']);
      expect(unstartable.code).toBe(1);
      expect(String(jsonEvents(unstartable.stdout).at(-1)?.reason)).toBe(
        "QEMU could not start the VM: cannot set up guest memory 'pc.ram': Cannot allocate memory",
      );
      expect(qemuProcessesFor(out)).toEqual([]);

      // An HTTP export's script fetches from a server the VM cannot reach: refused in one sentence.
      const http = await tempDir();
      expect(
        (await runCli(['export', '--from', out, '--http', http, '--base-url', 'http://10.0.0.2/nb', '--json'])).code,
      ).toBe(0);
      const unreachable = await runCli(['test-boot', '--dir', http]);
      expect(unreachable.code).toBe(1);
      expect(unreachable.stderr).toBe(
        `error: ${http}'s netboot.ipxe fetches its files from http://10.0.0.2/nb/bzImage, which the test VM cannot reach; test-boot the boot folder it was exported from.\n`,
      );

      // With a file missing, iPXE's own error (the firmware's screen is copied
      // to the serial console) ends the boot at once, and says which file.
      await rm(join(out, 'nix-store'));
      const broken = await runCli(['test-boot', '--dir', out, '--timeout', '120', '--json']);
      expect(broken.code).toBe(1);
      const result = jsonEvents(broken.stdout).at(-1);
      expect(result).toMatchObject({ event: 'result', passed: false });
      // iPXE 1.0.0 (Debian 12) says "No such file or directory", 1.21.1 (Debian 13) "Not found".
      expect(String(result?.reason)).toMatch(
        /^iPXE failed: .*nix-store.*(No such file or directory|Not found) \(https?:\/\/ipxe\.org\//,
      );
      expect(result?.seconds as number).toBeLessThan(100);
    },
    BOOT_TIMEOUT,
  );
});
