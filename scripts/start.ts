/**
 * `npm start`: open the app with Electron Forge. Electron's binary comes from
 * GitHub on first launch, not from the npm registry; where it cannot be had,
 * say so in one sentence and point at what works without it.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);
const electronDir = dirname(require.resolve('electron/package.json'));

function electronPresent(): boolean {
  if (process.env.ELECTRON_OVERRIDE_DIST_PATH) return true;
  return existsSync(join(electronDir, 'path.txt')) && existsSync(join(electronDir, 'dist'));
}

if (!electronPresent()) {
  // Electron's own installer: downloads the binary once, then it is cached.
  const install = spawnSync(process.execPath, [join(electronDir, 'install.js')], { stdio: 'ignore' });
  if (install.status !== 0 || !electronPresent()) {
    process.stderr.write(
      'error: the Electron binary could not be downloaded from github.com (Electron fetches it on first launch); ' +
        'set ELECTRON_OVERRIDE_DIST_PATH to an unpacked Electron, or use the CLI meanwhile: npm run demo, npm run cli -- help.\n',
    );
    process.exit(1);
  }
}

const forge = spawn(
  process.execPath,
  [require.resolve('@electron-forge/cli/dist/electron-forge.js'), 'start', ...process.argv.slice(2)],
  {
    stdio: 'inherit',
  },
);
forge.on('exit', (code) => process.exit(code ?? 1));
