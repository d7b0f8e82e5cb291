/**
 * Where the app's own files (the netboot NixOS module, the demo system) are:
 * next to the sources in a checkout, under resources/ in a packaged app.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NetbootError } from './errors.ts';

let found: string | undefined;

/** The absolute path of `parts` under assets/. */
export function assetPath(...parts: string[]): string {
  if (found === undefined) {
    const here = dirname(fileURLToPath(import.meta.url));
    const resources = (process as { resourcesPath?: string }).resourcesPath;
    const candidates = [
      process.env.NETBOOT_COMPOSER_ASSETS,
      // A checkout: electron/pipeline/base/ -> assets/.
      join(here, '..', '..', '..', 'assets'),
      // The bundled main: .vite/build/ -> assets/.
      join(here, '..', '..', 'assets'),
      join(here, '..', 'assets'),
      resources && join(resources, 'assets'),
    ].filter((c): c is string => typeof c === 'string');
    found = candidates.find((c) => existsSync(join(c, 'nix', 'netboot.nix')));
    if (found === undefined) {
      throw new NetbootError(
        `The app's assets folder was not found (looked in ${candidates.join(', ')}); reinstall the app.`,
      );
    }
  }
  return join(found, ...parts);
}
