/**
 * From what the user picked to a NixOS system: a toplevel path (or a
 * `result` link to one), a flake's nixosConfigurations.NAME (built here with
 * the app's netboot module added), or the bundled demo.
 */
import { lstat, readFile, realpath } from 'node:fs/promises';
import { join } from 'node:path';
import type { NixosSystem } from '../../shared/types.ts';
import { NetbootError } from '../base/errors.ts';
import { isStorePath, owningStorePath, STORE_DIR, storeName } from '../media/store.ts';

async function readTrimmed(file: string): Promise<string | undefined> {
  try {
    return (await readFile(file, 'utf8')).trim();
  } catch {
    return undefined;
  }
}

/** A file inside the store that `link` (in the toplevel) points to. */
async function storeTarget(toplevel: string, entry: string): Promise<string | undefined> {
  const link = join(toplevel, entry);
  try {
    const target = await realpath(link);
    return owningStorePath(target) ? target : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Read a NixOS toplevel. `input` may be the store path itself or anything
 * that resolves to it (a `result` symlink).
 */
export async function readToplevel(input: string): Promise<NixosSystem> {
  const exists = await lstat(input).catch(() => undefined);
  if (!exists) {
    throw new NetbootError(
      `${input} does not exist; give the toplevel of a built NixOS system (a result link or a store path).`,
    );
  }
  const resolved = await realpath(input).catch(() => undefined);
  if (resolved === undefined) {
    throw new NetbootError(`${input} is a broken link; build the system again (nix build) and give the new result.`);
  }
  if (!resolved.startsWith(`${STORE_DIR}/`)) {
    throw new NetbootError(
      `${input} is not in the Nix store (${STORE_DIR}); give a system built by Nix, such as the result link of nix build.`,
    );
  }
  if (!isStorePath(resolved)) {
    const owner = owningStorePath(resolved);
    throw new NetbootError(
      owner
        ? `${input} is inside the store path ${owner}, not a store path itself; give the system's toplevel.`
        : `${input} is not a valid store path name; give the system's toplevel.`,
    );
  }
  const toplevel = resolved;
  const kernel = await storeTarget(toplevel, 'kernel');
  const initrd = await storeTarget(toplevel, 'initrd');
  const initInfo = await lstat(join(toplevel, 'init')).catch(() => undefined);
  const missing = [!kernel && 'kernel', !initrd && 'initrd', !initInfo && 'init'].filter(Boolean);
  if (missing.length > 0 || !kernel || !initrd) {
    throw new NetbootError(
      `${input} is not a NixOS system: it has no ${missing.join(', ')} (a NixOS toplevel, config.system.build.toplevel, has kernel, initrd and init).`,
    );
  }
  const system = await readTrimmed(join(toplevel, 'system'));
  if (!system) {
    throw new NetbootError(`${input} has no "system" file, so its architecture is unknown; is it a NixOS toplevel?`);
  }
  return {
    toplevel,
    name: storeName(toplevel),
    nixosVersion: (await readTrimmed(join(toplevel, 'nixos-version'))) ?? 'unknown',
    system,
    kernel,
    initrd,
    init: `${toplevel}/init`,
    kernelParams: (await readTrimmed(join(toplevel, 'kernel-params'))) ?? '',
  };
}
