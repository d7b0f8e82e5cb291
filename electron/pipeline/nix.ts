/**
 * Building with Nix: a flake's NixOS configuration with the app's netboot
 * module added, or a plain Nix file (the demo). Only stable commands and the
 * flakes feature flag, so Nix 2.8 (Debian 12) works.
 */
import { resolve } from 'node:path';
import { assetPath } from './assets.ts';
import { NetbootError } from './errors.ts';
import { checkResult, onLines, runTool, spawnTool } from './tools.ts';

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

const FLAKE_FEATURES = ['--extra-experimental-features', 'nix-command flakes'];

/** The names of a flake's nixosConfigurations. */
export async function listFlakeConfigurations(ref: string, signal?: AbortSignal): Promise<string[]> {
  const expr = `builtins.attrNames ((builtins.getFlake ${nixString(absoluteFlakeRef(ref))}).nixosConfigurations or { })`;
  const args = [...FLAKE_FEATURES, 'eval', '--impure', '--json', '--expr', expr];
  const stdout = await runTool('nix', args, { what: `nix eval of ${ref}`, signal });
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
  const flake = `(builtins.getFlake ${nixString(absoluteFlakeRef(ref))})`;
  const expr = `builtins.mapAttrs (name: c: let r = builtins.tryEval (c.config.nixpkgs.hostPlatform.system or c.pkgs.stdenv.hostPlatform.system or c.config.system.build.toplevel.system or null); in if r.success && builtins.isString r.value then r.value else null) (${flake}.nixosConfigurations or { })`;
  const args = [...FLAKE_FEATURES, 'eval', '--impure', '--json', '--expr', expr];
  const stdout = await runTool('nix', args, { what: `nix eval of ${ref}`, signal });
  const systems = JSON.parse(stdout) as Record<string, string | null>;
  return Object.entries(systems).map(([name, system]) => ({ name, system: system ?? undefined }));
}

/** Build `nixosConfigurations.NAME` of the flake `ref` as a netboot system; returns its toplevel. */
export async function buildFlakeSystem(ref: string, name: string, options: NixBuildOptions = {}): Promise<string> {
  const expr = flakeToplevelExpr(absoluteFlakeRef(ref), name, assetPath('nix', 'netboot.nix'));
  const args = [...FLAKE_FEATURES, 'build', '--impure', '--no-link', '--json', '--print-build-logs', '--expr', expr];
  const what = `nix build of ${ref}#${name}`;
  const subprocess = spawnTool('nix', args, { what, signal: options.signal });
  if (options.onLog) onLines(subprocess.stderr, options.onLog);
  const result = await subprocess;
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
  const argv = [file, '--no-out-link'];
  for (const [name, expr] of Object.entries(args)) argv.push('--arg', name, expr);
  const what = `nix-build of ${file}`;
  const subprocess = spawnTool('nix-build', argv, { what, signal: options.signal });
  if (options.onLog) onLines(subprocess.stderr, options.onLog);
  const stdout = checkResult(await subprocess, 'nix-build', argv, { what, signal: options.signal });
  const out = stdout.trim().split('\n').pop();
  if (!out?.startsWith('/')) throw new NetbootError(`${what} did not print the path it built.`, { details: stdout });
  return out;
}
