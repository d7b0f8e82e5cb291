/**
 * The CLI as a user runs it (a separate Node process), on real closures:
 * its JSON output, its errors for bad input, Ctrl-C, and --flake.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdir, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { isCompleteSquashfs } from '../../../electron/pipeline/compose/squashfs.ts';
import {
  buildFixture,
  busyboxBootstrap,
  CLI,
  closureOf,
  jsonEvents,
  ROOT,
  runCli,
  tempDir,
} from '../../helpers/fixtures.ts';

let toplevel: string;

beforeAll(async () => {
  toplevel = await buildFixture();
});

/** `build --toplevel PATH ARGS...` into a new boot folder (`out`) with a new cache. */
async function freshBuild(path: string, ...args: string[]) {
  const out = await tempDir();
  return { out, ...(await runCli(['build', '--toplevel', path, '--out', out, '--cache', await tempDir(), ...args])) };
}

/** Every file under `dir` with its bytes, to prove a folder was left alone. */
async function snapshot(dir: string): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    files[path.slice(dir.length)] = (await readFile(path)).toString('base64');
  }
  return files;
}

describe('netboot-composer build', () => {
  it('prints one JSON object per line with --json, ending with the done line', async () => {
    const { out, code, stdout } = await freshBuild(toplevel, '--json');
    expect(code).toBe(0);
    const lines = stdout.trim().split('\n');
    const events = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    const done = events.at(-1)!;
    const paths = (await closureOf(toplevel)).length;
    expect(done).toMatchObject({ event: 'done', paths, packed: paths, reused: 0, outDir: out });
    expect((done.files as { name: string }[]).map((f) => f.name)).toEqual([
      'bzImage',
      'initrd',
      'manifest',
      'nix-store',
      'netboot.ipxe',
    ]);
    expect(events.filter((e) => e.event === 'path-done')).toHaveLength(paths);
    expect(events.find((e) => e.event === 'system')).toMatchObject({ system: { toplevel, system: 'x86_64-linux' } });
  });

  it('shows a line per path and a summary without --json', async () => {
    const out = await tempDir();
    const { code, stdout } = await runCli(['build', '--toplevel', toplevel, '--out', out, '--cache', await tempDir()]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^ {2}packed {2}stable-1\.0 /m);
    expect(stdout).toContain(`Boot folder: ${out}`);
    expect(stdout).toMatch(/store paths: \d+ packed, 0 reused/);
  });

  it.each([
    [
      ['--toplevel', '/nonexistent/result'],
      /\/nonexistent\/result does not exist; give the toplevel of a built NixOS system/,
    ],
    [['--toplevel', '/tmp'], /\/tmp is not in the Nix store \(\/nix\/store\); give a system built by Nix/],
  ])('says what is wrong with %j in one sentence, exit code 1, no stack', async (args, message) => {
    const { code, stderr } = await runCli(['build', ...args, '--out', await tempDir(), '--cache', await tempDir()]);
    expect(code).toBe(1);
    expect(stderr).toMatch(message);
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).not.toMatch(/\n\s+at /);
  });

  it('says a store path that is not a NixOS system is not one', async () => {
    const plain = await buildFixture({ attr: 'plain' });
    const { code, stderr } = await freshBuild(plain);
    expect(code).toBe(1);
    expect(stderr).toContain(`error: ${plain} is not a NixOS system: it has no kernel, initrd, init`);
    const inside = await runCli(['build', '--toplevel', `${toplevel}/kernel-params`, '--out', await tempDir()]);
    expect(inside.stderr).toContain(`is inside the store path ${toplevel}, not a store path itself`);
  });

  it("warns when the system's stage 1 was not built with the netboot module", async () => {
    const plain = await buildFixture({ initrdKind: 'plain' });
    const { code, stdout } = await freshBuild(plain);
    expect(code).toBe(0);
    expect(stdout).toContain(
      "warning: nixos-system-test-25.11's stage 1 does not read /nix-store-squashes, so it will not find its Nix store when netbooted",
    );
  });

  it('names both architectures when --arch does not match the system', async () => {
    const { code, stderr } = await freshBuild(toplevel, '--arch', 'aarch64-linux');
    expect(code).toBe(1);
    expect(stderr).toMatch(/is built for x86_64-linux, but aarch64-linux was asked for/);
  });

  it('names the kernel Image for aarch64, and replaces only its own files when the architecture changes', async () => {
    const arm = await buildFixture({ system: 'aarch64-linux', variant: 'arm' });
    const out = await tempDir();
    const cache = await tempDir();
    const first = await runCli(['build', '--toplevel', arm, '--arch', 'aarch64-linux', '--out', out, '--cache', cache]);
    expect(first.code).toBe(0);
    expect((await readdir(out)).sort()).toEqual([
      '.netboot-composer.json',
      'Image',
      'initrd',
      'manifest',
      'netboot.ipxe',
      'nix-store',
    ]);
    expect(await readFile(join(out, 'netboot.ipxe'), 'utf8')).toMatch(/^kernel Image init=/m);
    const second = await runCli(['build', '--toplevel', toplevel, '--out', out, '--cache', cache]);
    expect(second.code).toBe(0);
    expect((await readdir(out)).sort()).toEqual([
      '.netboot-composer.json',
      'bzImage',
      'initrd',
      'manifest',
      'netboot.ipxe',
      'nix-store',
    ]);
  });

  it('adds --kernel-params after the system parameters', async () => {
    const { out, code } = await freshBuild(toplevel, '--kernel-params', 'ip=dhcp boot.shell_on_fail');
    expect(code).toBe(0);
    expect(await readFile(join(out, 'netboot.ipxe'), 'utf8')).toContain(
      'console=ttyS0 quiet ip=dhcp boot.shell_on_fail ${cmdline}',
    );
  });

  it('names the package to install when mksquashfs is missing', async () => {
    const bin = await tempDir();
    for (const tool of ['nix-store', 'nix-build', 'nix']) await symlink(`/usr/bin/${tool}`, join(bin, tool));
    const { code, stderr } = await runCli(['build', '--toplevel', toplevel, '--out', await tempDir()], { PATH: bin });
    expect(code).toBe(1);
    expect(stderr).toBe(
      'error: mksquashfs was not found: install the squashfs-tools package (on Debian or Ubuntu: sudo apt-get install squashfs-tools).\n',
    );
    const noNix = await runCli(['build', '--toplevel', toplevel, '--out', await tempDir()], { PATH: await tempDir() });
    expect(noNix.stderr).toContain('nix-store was not found: install the nix-bin package');
  });

  it('says when the out folder cannot be written, and writes nothing', async () => {
    const parent = await tempDir();
    const readOnly = join(parent, 'ro');
    await mkdir(readOnly);
    // Root writes through permissions, so for root the folder is a read-only
    // mount (or, where mounting is not allowed, a folder under /sys, which
    // nobody may create folders in).
    let mounted = false;
    let outDir = join(readOnly, 'boot');
    if (process.getuid?.() === 0) {
      try {
        execFileSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=1m', 'tmpfs', readOnly], { stdio: 'ignore' });
        mounted = true;
      } catch {
        outDir = '/sys/netboot-composer-test/boot';
      }
    } else execFileSync('chmod', ['0555', readOnly]);
    try {
      const { code, stderr } = await runCli([
        'build',
        '--toplevel',
        toplevel,
        '--out',
        outDir,
        '--cache',
        await tempDir(),
      ]);
      expect(code).toBe(1);
      expect(stderr).toMatch(
        /The out folder \S+\/boot cannot be written \((read-only file system|permission denied)\); choose a folder you can write to/,
      );
      expect(await readdir(readOnly)).toEqual([]);
    } finally {
      if (mounted) execFileSync('umount', [readOnly]);
    }
  });

  it('never touches files in the out folder that it did not write', async () => {
    const out = await tempDir();
    await mkdir(join(out, 'pxelinux.cfg'));
    await writeFile(join(out, 'pxelinux.cfg', 'default'), 'DEFAULT menu');
    await writeFile(join(out, 'notes.txt'), 'my notes');
    const before = await snapshot(out);
    const cache = await tempDir();
    expect((await runCli(['build', '--toplevel', toplevel, '--out', out, '--cache', cache])).code).toBe(0);
    const changed = await buildFixture({ variant: 'c' });
    expect((await runCli(['build', '--toplevel', changed, '--out', out, '--cache', cache])).code).toBe(0);
    const after = await snapshot(out);
    for (const [name, bytes] of Object.entries(before)) expect(after[name], name).toBe(bytes);

    // A file of ours by name that we did not write is refused, not replaced.
    const foreign = await tempDir();
    await writeFile(join(foreign, 'nix-store'), 'somebody else’s');
    const { code, stderr } = await runCli(['build', '--toplevel', toplevel, '--out', foreign, '--cache', cache]);
    expect(code).toBe(1);
    expect(stderr).toContain('nix-store was not written by Netboot Composer, so it is left alone');
    expect(await readFile(join(foreign, 'nix-store'), 'utf8')).toBe('somebody else’s');
    expect(await readdir(foreign)).toEqual(['nix-store']);
  });

  it('rejects bad usage with exit code 2', async () => {
    expect((await runCli(['build', '--out', '/tmp/x'])).code).toBe(2);
    const badComp = await runCli(['build', '--demo', '--out', '/tmp/x', '--squashfs-compression', 'zip']);
    expect(badComp.code).toBe(1);
    expect(badComp.stderr).toContain('"zip" is not a squashfs compressor: use one of gzip, xz, zstd, lz4, lzo');
    const unknown = await runCli(['build', '--demo', '--out', '/tmp/x', '--fast']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/Unknown option '--fast'; see netboot-composer help/);
    expect((await runCli(['frobnicate'])).code).toBe(2);
    const jobs = await runCli(['build', '--demo', '--out', '/tmp/x', '--jobs', 'many']);
    expect(jobs.code).toBe(2);
    expect(jobs.stderr).toContain('--jobs takes a positive number, not "many".');
    const writer = await runCli(['build', '--demo', '--out', '/tmp/x', '--squashfs-writer', 'fast']);
    expect(writer.code).toBe(2);
    expect(writer.stderr).toContain('--squashfs-writer takes builtin or mksquashfs, not "fast".');
    const writerEnv = await runCli(['build', '--demo', '--out', '/tmp/x'], { NETBOOT_COMPOSER_SQUASHFS_WRITER: 'own' });
    expect(writerEnv.code).toBe(1);
    expect(writerEnv.stderr).toContain('NETBOOT_COMPOSER_SQUASHFS_WRITER takes builtin or mksquashfs, not "own".');
  });
});

/** The store paths the cache holds squashfs images of, from their descriptions. */
async function cachedPaths(cache: string): Promise<string[]> {
  const folder = join(cache, 'v1', 'squashfs');
  const metas = (await readdir(folder)).filter((name) => name.endsWith('.sqsh.json'));
  const paths = await Promise.all(
    metas.map(
      async (name) => (JSON.parse(await readFile(join(folder, name), 'utf8')) as { storePath: string }).storePath,
    ),
  );
  return paths.sort();
}

describe('netboot-composer cache', () => {
  it('keeps the cache within --cache-limit after a build, evicting older paths but none the build uses', async () => {
    const cache = await tempDir();
    const first = await runCli(['build', '--toplevel', toplevel, '--out', await tempDir(), '--cache', cache]);
    expect(first.code).toBe(0);
    const other = await buildFixture({ variant: 'cache-limit' });
    const [closureA, closureB] = [await closureOf(toplevel), await closureOf(other)];
    const onlyInA = closureA.filter((p) => !closureB.includes(p));
    const shared = closureA.length - onlyInA.length;
    expect(onlyInA.length).toBeGreaterThan(0);
    expect(await cachedPaths(cache)).toEqual([...closureA].sort());

    // A limit of one byte: everything the first build alone used goes, the second build's paths stay.
    const second = await runCli([
      'build',
      '--toplevel',
      other,
      '--out',
      await tempDir(),
      '--cache',
      cache,
      '--cache-limit',
      '1',
    ]);
    expect(second.code).toBe(0);
    expect(await cachedPaths(cache)).toEqual([...closureB].sort());

    const stats = await runCli(['cache', 'stats', '--cache', cache, '--json']);
    expect(stats.code).toBe(0);
    const reported = jsonEvents(stats.stdout)[0]!;
    expect(reported).toMatchObject({
      event: 'cache-stats',
      entries: closureB.length,
      lastBuild: { hits: shared, misses: closureB.length - shared },
    });
    const human = await runCli(['cache', 'stats', '--cache', cache]);
    expect(human.stdout).toMatch(/in \d+ squashfs images \(limit 5\.0 GiB\)/);
    expect(human.stdout).toMatch(/\d+ reused, \d+ packed, \d+% hit rate/);
  });

  it('prunes to --max-size and says what it freed', async () => {
    const cache = await tempDir();
    expect((await runCli(['build', '--toplevel', toplevel, '--out', await tempDir(), '--cache', cache])).code).toBe(0);
    const pruned = await runCli(['cache', 'prune', '--max-size', '0', '--cache', cache, '--json']);
    expect(pruned.code).toBe(0);
    const event = jsonEvents(pruned.stdout)[0]!;
    expect(event).toMatchObject({ event: 'cache-pruned', removedEntries: (await closureOf(toplevel)).length });
    expect(event.freedBytes).toBeGreaterThan(0);
    expect(await cachedPaths(cache)).toEqual([]);
    expect(await readdir(join(cache, 'v1', 'squashfs'))).toEqual([]);
  });

  it('rejects a size it cannot read and an unknown action with exit code 2', async () => {
    const badSize = await runCli(['cache', 'prune', '--max-size', 'lots']);
    expect(badSize.code).toBe(2);
    expect(badSize.stderr).toMatch(/--max-size: "lots" is not a size: write a number with an optional unit, like 5G/);
    const badAction = await runCli(['cache', 'clean']);
    expect(badAction.code).toBe(2);
    expect(badAction.stderr).toMatch(/cache takes "stats" or "prune", not "clean"/);
    const badLimit = await runCli(['build', '--demo', '--out', await tempDir(), '--cache-limit', '5 apples']);
    expect(badLimit.code).toBe(2);
    expect(badLimit.stderr).toMatch(/--cache-limit: "5 apples" is not a size/);
  });
});

describe('Ctrl-C in the middle of a build', () => {
  it('stops every mksquashfs, keeps the cache valid and leaves the previous boot folder whole', async () => {
    const big = await buildFixture({ bigPaths: 4, bigMiB: 16 });
    const out = await tempDir();
    const cache = await tempDir();
    expect((await runCli(['build', '--toplevel', toplevel, '--out', out, '--cache', cache])).code).toBe(0);
    const before = await snapshot(out);

    // xz on random data is slow enough to be caught in the middle.
    const child = spawn(
      process.execPath,
      [CLI, 'build', '--toplevel', big, '--out', out, '--cache', cache, '--json', '--squashfs-compression', 'xz'],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    const started = new Promise<void>((resolve) => {
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        // Wait until a path reports progress part of the way through: the build is mid-pack.
        if (/"event":"path-progress","path":"[^"]+","percent":([1-9]|[1-9]\d)\}/.test(stdout)) resolve();
      });
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    await started;
    child.kill('SIGINT');
    const code = await exited;
    expect(code).toBe(130);
    expect(jsonEvents(stdout).at(-1)).toMatchObject({ event: 'error', exitCode: 130 });

    // No mksquashfs of this build is left running.
    const ps = execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' });
    expect(ps.split('\n').filter((line) => line.includes('mksquashfs') && line.includes(cache))).toEqual([]);
    // The out folder is exactly the previous build.
    expect(await snapshot(out)).toEqual(before);
    expect((await readdir(out)).filter((n) => n.includes('partial'))).toEqual([]);
    // The cache holds whole entries only.
    const folder = join(cache, 'v1', 'squashfs');
    const names = await readdir(folder);
    expect(names.filter((n) => n.startsWith('.tmp-'))).toEqual([]);
    for (const name of names.filter((n) => n.endsWith('.sqsh')))
      expect(await isCompleteSquashfs(join(folder, name))).toBe(true);

    // And the next build finishes, reusing what was finished before the interrupt.
    const again = await runCli([
      'build',
      '--toplevel',
      big,
      '--out',
      out,
      '--cache',
      cache,
      '--json',
      '--squashfs-compression',
      'xz',
    ]);
    expect(again.code).toBe(0);
    expect(jsonEvents(again.stdout).at(-1)).toMatchObject({ event: 'done', paths: (await closureOf(big)).length });
  });
});

describe('netboot-composer build --flake', () => {
  it('builds nixosConfigurations.NAME with the netboot module added, then packs it', async () => {
    const flake = await tempDir();
    const bootstrap = await busyboxBootstrap();
    // A flake without nixpkgs that offers the interface the app uses: extendModules.
    // It checks that the app passed its netboot module.
    await writeFile(
      join(flake, 'flake.nix'),
      `{
        outputs = { self }: {
          nixosConfigurations.router = {
            extendModules = { modules }:
              assert map baseNameOf modules == [ "netboot.nix" ];
              {
                config.system.build.toplevel = (import ${join(ROOT, 'test', 'fixtures', 'system.nix')} {
                  bootstrap = ${bootstrap};
                  variant = "flake";
                }).toplevel;
              };
          };
        };
      }\n`,
    );
    const out = await tempDir();
    const { code, stdout, stderr } = await runCli([
      'build',
      '--flake',
      `${flake}#router`,
      '--out',
      out,
      '--cache',
      await tempDir(),
      '--json',
    ]);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const system = jsonEvents(stdout).find((e) => e.event === 'system') as { system: { toplevel: string } };
    expect(system.system.toplevel).toBe(await buildFixture({ variant: 'flake' }));
    expect(await readFile(join(out, 'netboot.ipxe'), 'utf8')).toContain(`init=${system.system.toplevel}/init`);

    const missing = await runCli(['build', '--flake', `${flake}#nope`, '--out', await tempDir()]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe(`error: ${flake} has no nixosConfigurations.nope; it has: router.\n`);
  });
});
