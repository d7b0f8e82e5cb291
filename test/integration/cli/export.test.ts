/**
 * `netboot-composer export` as a user runs it: one target exactly, usage
 * errors with exit code 2, each file and the notes printed, JSON events with
 * a final summary, and Ctrl-C leaving the previous export whole.
 */
import { spawn } from 'node:child_process';
import { readdir, readFile, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { OutDir } from '../../../electron/pipeline/media/out-dir.ts';
import { buildFixture, CLI, jsonEvents, runCli, tempDir } from '../../helpers/fixtures.ts';

let from: string;

beforeAll(async () => {
  from = await tempDir();
  const toplevel = await buildFixture({ variant: 'cli-export' });
  expect((await runCli(['build', '--toplevel', toplevel, '--out', from, '--cache', await tempDir()])).code).toBe(0);
});

describe('netboot-composer export', () => {
  it.each([
    [[], 'Give the boot folder to export with --from BOOT_FOLDER'],
    [
      ['--from', 'B'],
      'Give exactly one place to export to: --folder DIR, --tftp DIR, --http DIR, --usb-image FILE or --usb DIR.',
    ],
    [['--from', 'B', '--tftp', 'a', '--http', 'b', '--base-url', 'http://x'], 'Give exactly one place to export to'],
    [['--from', 'B', '--folder', 'a', '--usb', 'b'], 'Give exactly one place to export to'],
    [['--from', 'B', '--folder', 'a', '--subdir', 'x'], '--subdir goes with --tftp.'],
    [['--from', 'B', '--tftp', 'a', '--base-url', 'http://x'], '--base-url goes with --http.'],
    [['--from', 'B', '--http', 'a'], '--http needs --base-url URL: the address the folder will be served at'],
    [
      ['--from', 'B', '--http', 'a', '--base-url', 'boot.lan/x'],
      '--base-url: The base URL must be a web address starting with http:// or https://',
    ],
    [['--from', 'B', '--tftp', 'a', '--subdir', '../up'], '--subdir: "../up" is not a subfolder name'],
    [['--from', 'B', '--tftp', 'a', '--fast'], "Unknown option '--fast'; see netboot-composer help."],
  ])('refuses %j with exit code 2 and one sentence, writing nothing', async (args, message) => {
    const cwd = await tempDir();
    const { code, stdout, stderr } = await runCli(['export', ...args.map((a) => (a.length === 1 ? join(cwd, a) : a))]);
    expect(code).toBe(2);
    expect(stderr).toContain(`error: ${message}`);
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stdout).toBe('');
    expect(await readdir(cwd)).toEqual([]);
  });

  it('is in the help text', async () => {
    const { code, stdout } = await runCli(['help']);
    expect(code).toBe(0);
    expect(stdout).toContain(
      'netboot-composer export --from BOOT_FOLDER (--folder DIR | --tftp DIR [--subdir NAME]\n        | --http DIR --base-url URL | --usb-image FILE | --usb DIR) [--json] [--debug]',
    );
  });

  it('prints each file and the notes of a TFTP export', async () => {
    const root = await tempDir();
    const { code, stdout, stderr } = await runCli(['export', '--from', from, '--tftp', root, '--subdir', 'test']);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toContain(`> Exporting ${from} to ${root} (a TFTP root)`);
    for (const name of [
      'test/bzImage',
      'test/nix-store',
      'test/netboot.ipxe',
      'test/dnsmasq-proxy-dhcp.conf',
      'undionly.kpxe',
    ])
      expect(stdout).toMatch(new RegExp(`^ {2}wrote {3}${name.replace('.', '\\.')} +\\d`, 'm'));
    expect(stdout).toMatch(new RegExp(`^Exported to ${root}: 10 files, `, 'm'));
    expect(stdout).toMatch(/^note: Serve .* over TFTP: machines running iPXE load test\/netboot\.ipxe;/m);
    // mkdtemp made the root readable by its owner only: dnsmasq could not read it.
    expect(stdout).toMatch(/^warning: dnsmasq usually runs as its own user, which cannot read /m);
  });

  it('prints JSON events and a final summary with --json', async () => {
    const dir = await tempDir();
    const { code, stdout } = await runCli([
      'export',
      '--from',
      from,
      '--http',
      dir,
      '--base-url',
      'http://10.0.0.5/nbc',
      '--json',
    ]);
    expect(code).toBe(0);
    const events = jsonEvents(stdout);
    expect(stdout.trim().split('\n')).toHaveLength(events.length);
    expect(events.filter((e) => e.event === 'file').map((e) => e.name)).toEqual([
      'bzImage',
      'initrd',
      'manifest',
      'nix-store',
      'netboot.ipxe',
    ]);
    const last = events.at(-1)!;
    expect(last).toMatchObject({ event: 'exported', kind: 'http', dir });
    expect(last.notes).toContainEqual({
      level: 'info',
      message: expect.stringContaining('chain http://10.0.0.5/nbc/netboot.ipxe'),
    });
    expect(await readFile(join(dir, 'netboot.ipxe'), 'utf8')).toContain(
      'initrd --name manifest http://10.0.0.5/nbc/manifest',
    );
  });

  it('says what is wrong with the source in one sentence, exit code 1', async () => {
    const { code, stderr } = await runCli(['export', '--from', await tempDir(), '--tftp', await tempDir()]);
    expect(code).toBe(1);
    expect(stderr).toMatch(/^error: \S+ holds no boot folder made by Netboot Composer; build the system first\.\n$/);
  });

  it('stops at Ctrl-C with exit code 130, leaving the previous export whole and no partial files', async () => {
    // A boot folder with a big nix-store: Ctrl-C after the kernel lands while it is being copied.
    const big = await tempDir();
    const out = await OutDir.open(big);
    for (const name of ['bzImage', 'initrd', 'manifest', 'nix-store', 'netboot.ipxe']) {
      await out.write(name, `fp-${name}`, async (temp) => {
        if (name === 'nix-store') {
          await writeFile(temp, 'x');
          await truncate(temp, 256 * 1024 * 1024);
        } else await writeFile(temp, name === 'netboot.ipxe' ? '#!ipxe\n# t\nkernel bzImage x\nboot\n' : name);
      });
    }
    await out.commit({});
    const root = await tempDir();
    expect((await runCli(['export', '--from', from, '--tftp', root])).code).toBe(0);
    const before = await readdir(root, { recursive: true });
    const storeBefore = await readFile(join(root, 'nix-store'));

    const child = spawn(process.execPath, [CLI, 'export', '--from', big, '--tftp', root, '--json'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let interrupted = false;
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      // The first file event: the export is under way. One Ctrl-C (a second one stops at once).
      if (!interrupted && stdout.includes('"event":"file"')) {
        interrupted = true;
        child.kill('SIGINT');
      }
    });
    expect(await exited).toBe(130);
    expect(jsonEvents(stdout).filter((e) => e.event === 'file').length).toBeLessThan(5);
    expect(jsonEvents(stdout).at(-1)).toMatchObject({ event: 'error', exitCode: 130 });
    expect(String(jsonEvents(stdout).at(-1)?.message)).toContain('The export was canceled');
    expect((await readdir(root, { recursive: true })).sort()).toEqual(before.sort());
    expect((await readFile(join(root, 'nix-store'))).equals(storeBefore)).toBe(true);
  });
});
