/**
 * The Nix on this machine: which version it is (Nix 2.8 to 2.3x, or Lix),
 * the command lines each version takes, and whether it can build for this
 * user at all. Every Nix call's arguments come from the pure functions here,
 * so the differences between versions are in one place and tested for each;
 * {@link checkNix} runs once per process before the first Nix call and turns
 * what Nix would say ("the group 'nixbld' specified in 'build-users-group'
 * does not exist", "cannot connect to socket") into one sentence saying what
 * to do.
 */
import { accessSync, constants, readFileSync, statSync } from 'node:fs';
import { NetbootError, ToolMissingError } from '../base/errors.ts';
import { findTool, runTool } from '../base/tools.ts';

/** A Nix implementation and its version, from `nix --version`. */
export interface NixVersion {
  /** "Nix" or "Lix" (Determinate Nix counts as Nix: its version is Nix's). */
  flavor: 'Nix' | 'Lix';
  major: number;
  minor: number;
  patch: number;
  /** The line it printed, for messages. */
  text: string;
}

/**
 * Parse the line `nix --version` (or nix-store, nix-build) prints:
 * "nix (Nix) 2.8.0", "nix (Lix, like Nix) 2.91.1",
 * "nix (Determinate Nix 3.6.2) 2.29.0", "nix-store (Nix) 2.26.3".
 */
export function parseNixVersion(output: string): NixVersion {
  const line = output.trim().split('\n')[0] ?? '';
  const match = /\(([^)]*)\)\s+(\d+)\.(\d+)(?:\.(\d+))?/.exec(line);
  if (!match) throw new NetbootError(`Could not read Nix's version from: ${line || '(nothing)'}`);
  return {
    flavor: /\bLix\b/.test(match[1]!) ? 'Lix' : 'Nix',
    major: Number(match[2]),
    minor: Number(match[3]),
    patch: Number(match[4] ?? 0),
    text: line,
  };
}

/** True when `version` is at least major.minor (same flavor's numbering). */
function atLeast(version: NixVersion, major: number, minor: number): boolean {
  return version.major > major || (version.major === major && version.minor >= minor);
}

/**
 * Flakes and the `nix` command are experimental features on every version we
 * support (2.8 to 2.3x, Lix 2.9x). `--extra-` adds them to what the user
 * enabled instead of replacing it; where a feature is already on (or stable,
 * as in Determinate Nix) naming it again is harmless.
 */
export function experimentalFeatureArgs(flakes: boolean): string[] {
  return ['--extra-experimental-features', flakes ? 'nix-command flakes' : 'nix-command'];
}

/**
 * `nix show-config --json` became `nix config show --json` in Nix 2.20; the
 * old name still works there but warns, and deprecation warnings may be
 * errors. Lix forked from Nix 2.18 and kept `show-config` (its 2.9x numbers
 * are not Nix's), so it gets the old name.
 */
export function nixConfigShowArgs(version: NixVersion): string[] {
  const command = version.flavor === 'Nix' && atLeast(version, 2, 20) ? ['config', 'show'] : ['show-config'];
  return [...experimentalFeatureArgs(false), ...command, '--json'];
}

/** `nix eval` of an expression to JSON (flakes on: the expressions use builtins.getFlake). Same on every version. */
export function nixEvalJsonArgs(_version: NixVersion, expr: string): string[] {
  return [...experimentalFeatureArgs(true), 'eval', '--impure', '--json', '--expr', expr];
}

/**
 * `nix build` of an expression, printing `[{"drvPath": ..., "outputs": {"out": PATH}}]`
 * (the `--json` shape is the same from 2.8 to 2.3x and in Lix), with the
 * builders' logs on stderr (`--print-build-logs`, stable everywhere).
 */
export function nixBuildExprArgs(_version: NixVersion, expr: string, options: { sandbox?: boolean } = {}): string[] {
  return [
    ...experimentalFeatureArgs(true),
    'build',
    '--impure',
    '--no-link',
    '--json',
    '--print-build-logs',
    ...sandboxArgs(options),
    '--expr',
    expr,
  ];
}

/** `nix-build FILE --arg NAME EXPR ...`, printing the output path on stdout. Same on every version. */
export function nixBuildFileArgs(
  _version: NixVersion,
  file: string,
  args: Record<string, string>,
  options: { sandbox?: boolean } = {},
): string[] {
  const argv = [file, '--no-out-link', ...sandboxArgs(options)];
  for (const [name, expr] of Object.entries(args)) argv.push('--arg', name, expr);
  return argv;
}

/** `nix-store --query --requisites PATH`: the closure, one path a line. */
export function nixStoreRequisitesArgs(storePath: string): string[] {
  return ['--query', '--requisites', storePath];
}

/** `nix-store --dump-db PATHS...`: the registration of those paths (for `--load-db` in stage 2). */
export function nixStoreDumpDbArgs(paths: readonly string[]): string[] {
  return ['--dump-db', ...paths];
}

function sandboxArgs(options: { sandbox?: boolean }): string[] {
  return options.sandbox === false ? ['--option', 'sandbox', 'false'] : [];
}

/**
 * True when Nix refused to build because it cannot sandbox here: a chroot or
 * a container without user namespaces (Nix 2.26 in a chroot says "cannot
 * perform a sandboxed build because user namespaces are not enabled").
 */
export function needsNoSandbox(output: string): boolean {
  return /cannot perform a sandboxed build because user namespaces are not enabled/i.test(output);
}

/** The line a build logs when it retries without the sandbox. */
export const NO_SANDBOX_NOTE =
  'Nix cannot sandbox builds here (no user namespaces: a chroot or container); building again without the sandbox.';

/** The Nix daemon's socket: where it is, a normal user builds through it. */
export const DAEMON_SOCKET = '/nix/var/nix/daemon-socket/socket';

/** What {@link nixProblem} decides from. */
export interface NixFacts {
  /** Nix is installed (nix-store is on PATH). */
  installed: boolean;
  uid: number;
  /** The value of build-users-group Nix reads ('' when empty, undefined when it could not tell). */
  buildUsersGroup: string | undefined;
  /** That group exists (in /etc/group). */
  buildGroupExists: boolean;
  /** The daemon's socket: absent, there but this user may not connect, or usable. */
  daemonSocket: 'absent' | 'denied' | 'usable';
  /** This user can write the store and its database (single-user Nix of their own, or root). */
  storeWritable: boolean;
}

/**
 * Whether Nix can build for this user, as one sentence saying what to do, or
 * undefined when it can. Pure: the facts come from {@link nixFacts}.
 */
export function nixProblem(facts: NixFacts): string | undefined {
  if (!facts.installed) return undefined; // a ToolMissingError says it, with the package
  if (facts.uid === 0) {
    // Root builds itself (no daemon), as the build users of the group Nix is set to, if any.
    const group = facts.buildUsersGroup;
    if (group && !facts.buildGroupExists) {
      return `Nix is set to build as the users of the group '${group}' (build-users-group), which does not exist here: run \`sh scripts/setup\` (as root with no such group it sets up single-user Nix), or write \`build-users-group =\` in /etc/nix/nix.conf yourself.`;
    }
    return undefined;
  }
  if (facts.daemonSocket === 'usable') return undefined;
  if (facts.daemonSocket === 'denied') {
    return `Nix's daemon is running but this user may not use it (${DAEMON_SOCKET}): add yourself to the nix-users group (sudo adduser $USER nix-users) and log in again.`;
  }
  if (facts.storeWritable) return undefined;
  return 'Nix cannot build for this user: there is no Nix daemon and /nix/store is not yours to write; install a multi-user Nix (Debian, Ubuntu: sudo apt install nix-setup-systemd, then sudo adduser $USER nix-users; elsewhere the installer from https://nixos.org/download) or run as root.';
}

/** The build-users-group a nix.conf's text sets, or undefined when it does not set it. */
export function buildUsersGroupInConf(text: string): string | undefined {
  let value: string | undefined;
  for (const line of text.split('\n')) {
    const match = /^\s*build-users-group\s*=(.*)$/.exec(line.replace(/#.*/, ''));
    if (match) value = match[1]!.trim();
  }
  return value;
}

/** The value of `name` in `nix show-config --json` output (an object per setting, or a bare value before 2.4). */
export function configValue(json: string, name: string): unknown {
  const setting = (JSON.parse(json) as Record<string, unknown>)[name];
  return setting !== null && typeof setting === 'object' && 'value' in setting
    ? (setting as { value: unknown }).value
    : setting;
}

function canAccess(path: string, mode: number): boolean {
  try {
    accessSync(path, mode);
    return true;
  } catch {
    return false;
  }
}

function groupExists(name: string): boolean {
  try {
    return readFileSync('/etc/group', 'utf8')
      .split('\n')
      .some((line) => line.split(':')[0] === name);
  } catch {
    return false;
  }
}

/** The version of the Nix on PATH (`nix-store --version`: every kind of build needs nix-store). */
export async function nixVersion(signal?: AbortSignal): Promise<NixVersion> {
  return parseNixVersion(await runTool('nix-store', ['--version'], { what: 'nix-store --version', signal }));
}

/** What Nix is set to build as: its own answer, else the nix.conf files, else Nix's default. */
async function configuredBuildUsersGroup(version: NixVersion, signal?: AbortSignal): Promise<string | undefined> {
  try {
    const json = await runTool('nix', nixConfigShowArgs(version), { what: 'nix config show', signal });
    const value = configValue(json, 'build-users-group');
    return typeof value === 'string' ? value : undefined;
  } catch {
    // Nix could not start (the very thing being checked, perhaps): read its files.
    const dir = process.env.NIX_CONF_DIR ?? '/etc/nix';
    let value: string | undefined;
    try {
      value = buildUsersGroupInConf(readFileSync(`${dir}/nix.conf`, 'utf8'));
    } catch {
      // no nix.conf
    }
    if (process.env.NIX_CONFIG) value = buildUsersGroupInConf(process.env.NIX_CONFIG) ?? value;
    return value ?? 'nixbld';
  }
}

/** Gather the {@link NixFacts} of this machine and user. */
export async function nixFacts(signal?: AbortSignal): Promise<NixFacts & { version?: NixVersion }> {
  const uid = process.getuid?.() ?? 0;
  const installed = findTool('nix-store') !== undefined;
  const socketThere = (() => {
    try {
      return statSync(DAEMON_SOCKET).isSocket();
    } catch {
      return false;
    }
  })();
  const facts: NixFacts & { version?: NixVersion } = {
    installed,
    uid,
    buildUsersGroup: undefined,
    buildGroupExists: false,
    daemonSocket: !socketThere ? 'absent' : canAccess(DAEMON_SOCKET, constants.W_OK) ? 'usable' : 'denied',
    storeWritable: canAccess('/nix/store', constants.W_OK) && canAccess('/nix/var/nix/db', constants.W_OK),
  };
  // Only root builds as the build users; a normal user's Nix ignores the
  // setting, and is not even run here: without a daemon, Nix 2.8 fails
  // `--version` itself ("could not set permissions on
  // '/nix/var/nix/profiles/per-user'"), which is what the check is for.
  if (installed && uid === 0) {
    facts.version = await nixVersion(signal);
    facts.buildUsersGroup = await configuredBuildUsersGroup(facts.version, signal);
    facts.buildGroupExists = !!facts.buildUsersGroup && groupExists(facts.buildUsersGroup);
  }
  return facts;
}

let checked: Promise<NixVersion> | undefined;

/**
 * Check once per process that Nix can build for this user, before the first
 * Nix call, and resolve to its version (the argument builders need it).
 * Throws a {@link ToolMissingError} when Nix is not installed and a
 * {@link NetbootError} saying what to do when it cannot build; a failed check
 * is not remembered, so fixing the machine and trying again works.
 */
export function checkNix(signal?: AbortSignal): Promise<NixVersion> {
  if (checked === undefined) {
    checked = (async () => {
      const facts = await nixFacts(signal);
      if (!facts.installed) throw new ToolMissingError('nix-store', 'nix-bin');
      const problem = nixProblem(facts);
      if (problem !== undefined) throw new NetbootError(problem);
      return facts.version ?? (await nixVersion(signal));
    })();
    checked.catch(() => (checked = undefined));
  }
  return checked;
}

/** Forget the cached {@link checkNix} answer (tests). */
export function forgetNixCheck(): void {
  checked = undefined;
}
