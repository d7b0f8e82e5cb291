/**
 * The Nix on a machine: versions, the arguments each version takes, and the
 * decision whether Nix can build for this user. The decision and the
 * arguments are pure; one test at the end asks the real Nix here.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  buildUsersGroupInConf,
  checkNix,
  configValue,
  forgetNixCheck,
  needsNoSandbox,
  nixBuildExprArgs,
  nixBuildFileArgs,
  nixConfigShowArgs,
  nixEvalJsonArgs,
  nixFacts,
  nixProblem,
  parseNixVersion,
  type NixFacts,
} from '../../../electron/pipeline/compose/nix-env.ts';

const NIX_2_8 = parseNixVersion('nix (Nix) 2.8.0\n');
const NIX_2_26 = parseNixVersion('nix (Nix) 2.26.3');
const LIX = parseNixVersion('nix (Lix, like Nix) 2.91.1\nSystem type: x86_64-linux\n');

describe('Nix versions', () => {
  it('reads Nix, Lix and Determinate Nix', () => {
    expect(NIX_2_8).toMatchObject({ flavor: 'Nix', major: 2, minor: 8, patch: 0 });
    expect(NIX_2_26).toMatchObject({ flavor: 'Nix', major: 2, minor: 26, patch: 3 });
    expect(LIX).toMatchObject({ flavor: 'Lix', major: 2, minor: 91, patch: 1, text: 'nix (Lix, like Nix) 2.91.1' });
    expect(parseNixVersion('nix (Determinate Nix 3.6.2) 2.29.0')).toMatchObject({ flavor: 'Nix', minor: 29 });
    expect(parseNixVersion('nix-store (Nix) 2.18')).toMatchObject({ minor: 18, patch: 0 });
    expect(() => parseNixVersion('command not found')).toThrow(/Could not read Nix's version from: command not found/);
  });
});

describe('the arguments of every Nix call, per version', () => {
  it('shows the configuration with show-config before 2.20 and in Lix, config show from 2.20', () => {
    expect(nixConfigShowArgs(NIX_2_8)).toEqual([
      '--extra-experimental-features',
      'nix-command',
      'show-config',
      '--json',
    ]);
    expect(nixConfigShowArgs(parseNixVersion('nix (Nix) 2.19.7'))).toContain('show-config');
    expect(nixConfigShowArgs(parseNixVersion('nix (Nix) 2.20.0'))).toEqual([
      '--extra-experimental-features',
      'nix-command',
      'config',
      'show',
      '--json',
    ]);
    expect(nixConfigShowArgs(NIX_2_26)).toContain('config');
    expect(nixConfigShowArgs(LIX)).toContain('show-config');
  });

  it.each([
    ['Nix 2.8', NIX_2_8],
    ['Nix 2.26', NIX_2_26],
    ['Lix 2.91', LIX],
  ])('builds and evaluates with flakes enabled as an extra feature on %s', (_name, version) => {
    expect(nixBuildExprArgs(version, 'EXPR')).toEqual([
      '--extra-experimental-features',
      'nix-command flakes',
      'build',
      '--impure',
      '--no-link',
      '--json',
      '--print-build-logs',
      '--expr',
      'EXPR',
    ]);
    expect(nixBuildExprArgs(version, 'EXPR', { sandbox: false })).toEqual([
      '--extra-experimental-features',
      'nix-command flakes',
      'build',
      '--impure',
      '--no-link',
      '--json',
      '--print-build-logs',
      '--option',
      'sandbox',
      'false',
      '--expr',
      'EXPR',
    ]);
    expect(nixEvalJsonArgs(version, 'E')).toEqual([
      '--extra-experimental-features',
      'nix-command flakes',
      'eval',
      '--impure',
      '--json',
      '--expr',
      'E',
    ]);
    expect(nixBuildFileArgs(version, '/d/default.nix', { a: '1', b: '"x"' })).toEqual([
      '/d/default.nix',
      '--no-out-link',
      '--arg',
      'a',
      '1',
      '--arg',
      'b',
      '"x"',
    ]);
    expect(nixBuildFileArgs(version, '/d/default.nix', {}, { sandbox: false })).toEqual([
      '/d/default.nix',
      '--no-out-link',
      '--option',
      'sandbox',
      'false',
    ]);
  });

  it('reads a setting from show-config --json, in its 2.4+ shape and the older bare one', () => {
    expect(configValue('{"build-users-group":{"value":"","defaultValue":"nixbld"}}', 'build-users-group')).toBe('');
    expect(configValue('{"build-users-group":"nixbld"}', 'build-users-group')).toBe('nixbld');
  });

  it('reads build-users-group from a nix.conf, the last line winning, comments ignored', () => {
    expect(buildUsersGroupInConf('# build-users-group = x\nsandbox = true\n')).toBeUndefined();
    expect(buildUsersGroupInConf('build-users-group = nixbld\nbuild-users-group =\n')).toBe('');
    expect(buildUsersGroupInConf('  build-users-group=wheel # mine\n')).toBe('wheel');
  });

  it('recognises the sandbox failure of Nix in a chroot, and nothing else', () => {
    expect(
      needsNoSandbox(
        'error: cannot perform a sandboxed build because user namespaces are not enabled; check /proc/sys/user/max_user_namespaces',
      ),
    ).toBe(true);
    expect(needsNoSandbox("error: builder for '/nix/store/x.drv' failed with exit code 1")).toBe(false);
    expect(needsNoSandbox('')).toBe(false);
  });
});

describe('whether Nix can build for this user', () => {
  const root: NixFacts = {
    installed: true,
    uid: 0,
    buildUsersGroup: 'nixbld',
    buildGroupExists: false,
    daemonSocket: 'absent',
    storeWritable: true,
  };
  const user: NixFacts = { ...root, uid: 1000, buildUsersGroup: undefined, storeWritable: false };

  it('stops root whose Nix builds as a group that does not exist, saying how to fix it', () => {
    expect(nixProblem(root)).toBe(
      "Nix is set to build as the users of the group 'nixbld' (build-users-group), which does not exist here: run `sh scripts/setup` (as root with no such group it sets up single-user Nix), or write `build-users-group =` in /etc/nix/nix.conf yourself.",
    );
  });

  it('lets root build single-user (build-users-group empty) or with its build users', () => {
    expect(nixProblem({ ...root, buildUsersGroup: '' })).toBeUndefined();
    expect(nixProblem({ ...root, buildGroupExists: true })).toBeUndefined();
    // A daemon does not matter to root: root opens the store itself.
    expect(nixProblem({ ...root, daemonSocket: 'usable' })).toBeDefined();
  });

  it('lets a normal user build through the daemon, or in a store of their own', () => {
    expect(nixProblem({ ...user, daemonSocket: 'usable' })).toBeUndefined();
    expect(nixProblem({ ...user, storeWritable: true })).toBeUndefined();
  });

  it('names what to install for a normal user with no daemon and a store they cannot write', () => {
    expect(nixProblem(user)).toMatch(
      /^Nix cannot build for this user: there is no Nix daemon and \/nix\/store is not yours to write; install a multi-user Nix \(Debian, Ubuntu: sudo apt install nix-setup-systemd, .*https:\/\/nixos.org\/download\) or run as root\.$/,
    );
    expect(nixProblem({ ...user, daemonSocket: 'denied' })).toMatch(/add yourself to the nix-users group/);
  });

  it('leaves a missing Nix to the missing-tool error, which names the package', () => {
    expect(nixProblem({ ...user, installed: false })).toBeUndefined();
  });
});

describe('the real Nix here', () => {
  const saved = process.env.NIX_CONFIG;
  afterEach(() => {
    if (saved === undefined) delete process.env.NIX_CONFIG;
    else process.env.NIX_CONFIG = saved;
    forgetNixCheck();
  });

  it('is found, read and can build; a build-users-group that does not exist is caught before any build', async () => {
    const version = await checkNix();
    expect(version.flavor).toBe('Nix');
    expect(version.major).toBe(2);
    const facts = await nixFacts();
    expect(facts.installed).toBe(true);
    if (facts.uid === 0) {
      // As root, Nix's own answer is read: set it through NIX_CONFIG, as a user's nix.conf would.
      process.env.NIX_CONFIG = 'build-users-group = netboot-composer-no-such-group';
      forgetNixCheck();
      expect((await nixFacts()).buildUsersGroup).toBe('netboot-composer-no-such-group');
      await expect(checkNix()).rejects.toThrow(
        /^Nix is set to build as the users of the group 'netboot-composer-no-such-group' \(build-users-group\)/,
      );
    }
  });
});
