/**
 * Building with Nix: a flake's NixOS configuration with the app's netboot
 * module added, or a plain Nix file (the demo). Only stable commands and the
 * flakes feature flag, so Nix 2.8 (Debian 12) to 2.3x and Lix work; the
 * arguments for each version come from nix-env.ts.
 */
import { resolve } from 'node:path';
import { assetPath } from '../base/assets.ts';
import { NetbootError } from '../base/errors.ts';
import { checkResult, onLines, runTool, spawnTool } from '../base/tools.ts';
import {
  checkNix,
  needsNoSandbox,
  nixBuildExprArgs,
  nixBuildFileArgs,
  nixEvalJsonArgs,
  NO_SANDBOX_NOTE,
} from './nix-env.ts';

/** A Nix string literal holding `text`. */
export function nixString(text: string): string {
  return `"${text.replace(/[\\"]/g, (c) => `\\${c}`).replace(/\$\{/g, '\\${')}"`;
}

/** A Nix path value for an absolute path, whatever characters it has. */
export function nixPath(path: string): string {
  return `(/. + ${nixString(path)})`;
}

/** Parse `REF#NAME` (NAME may also be written nixosConfigurations.NAME). */
export function parseFlakeArg(text: string): { ref: string; name: string } {
  const hash = text.lastIndexOf('#');
  const ref = hash < 0 ? '' : text.slice(0, hash);
  const name = (hash < 0 ? '' : text.slice(hash + 1)).replace(/^nixosConfigurations\./, '');
  // eslint-disable-next-line no-control-regex
  if (/[\0-\x1f\x7f]/.test(text)) {
    throw new NetbootError(
      'The flake configuration holds a line break or another control character; write REF#NAME, such as .#myhost or github:me/infra#router.',
    );
  }
  if (!ref || !name) {
    throw new NetbootError(
      `"${text}" is not a flake configuration: write REF#NAME, such as .#myhost or github:me/infra#router.`,
    );
  }
  return { ref, name };
}

/**
 * A flake reference Nix can evaluate from anywhere: a local folder becomes
 * an absolute path; anything with a scheme (github:, git+https:) is kept.
 */
export function absoluteFlakeRef(ref: string, cwd = process.cwd()): string {
  if (/^[a-z][a-z0-9+.-]*:/i.test(ref) && !/^path:/.test(ref)) return ref;
  const path = ref.replace(/^path:/, '');
  return `${ref.startsWith('path:') ? 'path:' : ''}${resolve(cwd, path)}`;
}

/** The expression whose value is the configuration's toplevel, with the netboot module added. */
export function flakeToplevelExpr(ref: string, name: string, modulePath: string): string {
  return [
    `let flake = builtins.getFlake ${nixString(ref)};`,
    `configuration = flake.nixosConfigurations.${nixString(name)};`,
    `in (configuration.extendModules { modules = [ ${nixPath(modulePath)} ]; }).config.system.build.toplevel`,
  ].join(' ');
}

export interface NixBuildOptions {
  signal?: AbortSignal | undefined;
  onLog?: (line: string) => void;
}

/** The names of a flake's nixosConfigurations. */
export async function listFlakeConfigurations(ref: string, signal?: AbortSignal): Promise<string[]> {
  const version = await checkNix(signal);
  const expr = `builtins.attrNames ((builtins.getFlake ${nixString(absoluteFlakeRef(ref))}).nixosConfigurations or { })`;
  const stdout = await runTool('nix', nixEvalJsonArgs(version, expr), { what: `nix eval of ${ref}`, signal });
  return JSON.parse(stdout) as string[];
}

/**
 * A flake's nixosConfigurations with the architecture each is built for, as
 * far as Nix can tell without building (undefined where evaluating it fails).
 */
export async function listFlakeSystems(
  ref: string,
  signal?: AbortSignal,
): Promise<{ name: string; system: string | undefined }[]> {
  const version = await checkNix(signal);
  const flake = `(builtins.getFlake ${nixString(absoluteFlakeRef(ref))})`;
  const expr = `builtins.mapAttrs (name: c: let r = builtins.tryEval (c.config.nixpkgs.hostPlatform.system or c.pkgs.stdenv.hostPlatform.system or c.config.system.build.toplevel.system or null); in if r.success && builtins.isString r.value then r.value else null) (${flake}.nixosConfigurations or { })`;
  const stdout = await runTool('nix', nixEvalJsonArgs(version, expr), { what: `nix eval of ${ref}`, signal });
  const systems = JSON.parse(stdout) as Record<string, string | null>;
  return Object.entries(systems).map(([name, system]) => ({ name, system: system ?? undefined }));
}

/**
 * Run a Nix build (`tool` with the arguments `argv` gives), streaming its log
 * to `onLog`. Where Nix cannot sandbox (a chroot, a container without user
 * namespaces: "cannot perform a sandboxed build because user namespaces are
 * not enabled"), it runs once more without the sandbox and logs one line
 * saying so: the alternative is no build at all.
 */
async function runNixBuild(
  tool: 'nix' | 'nix-build',
  argv: (options: { sandbox?: boolean }) => string[],
  what: string,
  options: NixBuildOptions,
) {
  const run = async (sandbox: boolean) => {
    const args = argv(sandbox ? {} : { sandbox: false });
    const subprocess = spawnTool(tool, args, { what, signal: options.signal });
    if (options.onLog) onLines(subprocess.stderr, options.onLog);
    return { args, result: await subprocess };
  };
  let attempt = await run(true);
  if (attempt.result.failed && !attempt.result.isCanceled && needsNoSandbox(String(attempt.result.all))) {
    options.onLog?.(NO_SANDBOX_NOTE);
    attempt = await run(false);
  }
  return attempt;
}

/** Build `nixosConfigurations.NAME` of the flake `ref` as a netboot system; returns its toplevel. */
export async function buildFlakeSystem(ref: string, name: string, options: NixBuildOptions = {}): Promise<string> {
  const version = await checkNix(options.signal);
  const expr = flakeToplevelExpr(absoluteFlakeRef(ref), name, assetPath('nix', 'netboot.nix'));
  const what = `nix build of ${ref}#${name}`;
  const { args, result } = await runNixBuild('nix', (o) => nixBuildExprArgs(version, expr, o), what, options);
  if (result.failed && !result.isCanceled && /attribute '.*' missing/.test(String(result.all))) {
    const names = await listFlakeConfigurations(ref, options.signal).catch(() => undefined);
    if (names && !names.includes(name)) {
      throw new NetbootError(
        names.length > 0
          ? `${ref} has no nixosConfigurations.${name}; it has: ${names.join(', ')}.`
          : `${ref} has no nixosConfigurations; point --flake at a flake that defines NixOS systems.`,
      );
    }
  }
  const stdout = checkResult(result, 'nix', args, { what, signal: options.signal });
  let outputs: unknown;
  try {
    outputs = JSON.parse(stdout);
  } catch {
    outputs = undefined;
  }
  const out = (outputs as { outputs?: { out?: unknown } }[] | undefined)?.[0]?.outputs?.out;
  if (typeof out !== 'string')
    throw new NetbootError(`${what} did not say where it put the system.`, { details: stdout });
  return out;
}

/** Build the Nix file `file` with `args` (nix-build --arg NAME EXPR); returns the output path. */
export async function buildNixFile(
  file: string,
  args: Record<string, string>,
  options: NixBuildOptions = {},
): Promise<string> {
  const version = await checkNix(options.signal);
  const what = `nix-build of ${file}`;
  const { args: argv, result } = await runNixBuild(
    'nix-build',
    (o) => nixBuildFileArgs(version, file, args, o),
    what,
    options,
  );
  const stdout = checkResult(result, 'nix-build', argv, { what, signal: options.signal });
  const out = stdout.trim().split('\n').pop();
  if (!out?.startsWith('/')) throw new NetbootError(`${what} did not print the path it built.`, { details: stdout });
  return out;
}
