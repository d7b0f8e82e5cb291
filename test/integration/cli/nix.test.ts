/**
 * The CLI and the Nix of the machine: the preflight's sentence instead of
 * Nix's words, and the retry without the sandbox where Nix cannot sandbox.
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { NO_SANDBOX_NOTE } from '../../../electron/pipeline/compose/nix-env.ts';
import { CLI, jsonEvents, runCli, tempDir } from '../../helpers/fixtures.ts';

const run = promisify(execFile);

const isRoot = process.getuid?.() === 0;

describe('Nix that cannot build here', () => {
  it.runIf(isRoot)(
    'as root with a build-users-group that does not exist, says what to do before any Nix build',
    async () => {
      // What a fresh nix-bin gives (build-users-group = nixbld, no such group), set through NIX_CONFIG.
      const { code, stderr } = await runCli(['build', '--demo', '--out', await tempDir(), '--cache', await tempDir()], {
        NIX_CONFIG: 'build-users-group = netboot-composer-no-such-group',
      });
      expect(code).toBe(1);
      expect(stderr).toBe(
        "error: Nix is set to build as the users of the group 'netboot-composer-no-such-group' (build-users-group), which does not exist here: run `sh scripts/setup` (as root with no such group it sets up single-user Nix), or write `build-users-group =` in /etc/nix/nix.conf yourself.\n",
      );
    },
  );

  it.runIf(isRoot && existsSync('/usr/bin/setpriv') && !existsSync('/nix/var/nix/daemon-socket/socket'))(
    'as a normal user with no Nix daemon, names what to install (not Nix’s own words), before writing anything',
    async () => {
      const out = join(await tempDir(), 'out');
      await chmod(dirname(out), 0o777);
      // Nix 2.8 says "could not set permissions on '/nix/var/nix/profiles/per-user'" here, even to --version.
      // The user may read and search every folder (a checkout in /root is
      // mode 700 on a fresh machine) but writes only what any user may.
      const reader = ['--inh-caps=+dac_read_search', '--ambient-caps=+dac_read_search'];
      const result = await run(
        'setpriv',
        [
          '--reuid=65534',
          '--regid=65534',
          '--clear-groups',
          ...reader,
          process.execPath,
          CLI,
          'build',
          '--demo',
          '--out',
          out,
        ],
        { env: { ...process.env, HOME: dirname(out) } },
      ).then(
        () => ({ code: 0, stderr: '' }),
        (error: { code?: number; stderr?: string }) => ({ code: error.code, stderr: error.stderr ?? '' }),
      );
      expect(result.code).toBe(1);
      expect(result.stderr).toBe(
        'error: Nix cannot build for this user: there is no Nix daemon and /nix/store is not yours to write; install a multi-user Nix (Debian, Ubuntu: sudo apt install nix-setup-systemd, then sudo adduser $USER nix-users; elsewhere the installer from https://nixos.org/download) or run as root.\n',
      );
      expect(existsSync(out)).toBe(false);
    },
  );
});

describe('Nix that cannot sandbox', () => {
  it('builds again without the sandbox, once, and says so in one log line', async () => {
    // Faked: this machine's Nix 2.8 sandboxes fine, so it never fails this
    // way. Nix 2.26 in a chroot does, with exactly this message. The wrapper
    // fails the first call with it and runs the real nix-build after that.
    const bin = await tempDir();
    const calls = join(bin, 'calls');
    const real = execFileSync('sh', ['-c', 'command -v nix-build'], { encoding: 'utf8' }).trim();
    await writeFile(
      join(bin, 'nix-build'),
      [
        '#!/bin/sh',
        `echo "$*" >> ${calls}`,
        `if [ ! -e ${bin}/failed ]; then`,
        `  : > ${bin}/failed`,
        '  echo "error: cannot perform a sandboxed build because user namespaces are not enabled; check /proc/sys/user/max_user_namespaces" >&2',
        '  exit 1',
        'fi',
        `exec ${real} "$@"`,
        '',
      ].join('\n'),
    );
    await chmod(join(bin, 'nix-build'), 0o755);
    const { code, stdout, stderr } = await runCli(
      ['build', '--demo', '--out', await tempDir(), '--cache', await tempDir(), '--json'],
      { PATH: `${bin}:${process.env.PATH ?? ''}` },
    );
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const logs = jsonEvents(stdout).filter((e) => e.event === 'log' && e.message === NO_SANDBOX_NOTE);
    expect(logs).toHaveLength(1);
    const lines = (await readFile(calls, 'utf8')).trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).not.toContain('--option sandbox false');
    expect(lines[1]).toContain('--option sandbox false');
    expect(jsonEvents(stdout).at(-1)).toMatchObject({ event: 'done' });
  });
});
