import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { pageUrlProblem } from '../../electron/main/page-url.ts';

const APP = '/opt/Netboot Composer/resources/app.asar';
const packaged = { packaged: true, appPath: APP };
const development = { packaged: false, appPath: '/home/me/netboot-composer' };

describe('the page main loads', () => {
  it('is, in a packaged app, only a file inside the app’s own archive', () => {
    expect(pageUrlProblem(pathToFileURL(`${APP}/.vite/renderer/main_window/index.html`), packaged)).toBeUndefined();
    for (const url of [
      new URL('http://localhost:5173/'),
      new URL('https://example.com/'),
      pathToFileURL('/tmp/index.html'),
      pathToFileURL(`${APP}/../evil/index.html`),
      pathToFileURL(`${APP}.evil/index.html`),
    ]) {
      expect(pageUrlProblem(url, packaged)).toMatch(
        /^The page this app would show \(.*\) is not its own.*reinstall it\.$/,
      );
    }
  });

  it('is, in a development run, a file or Vite’s dev server on this machine', () => {
    expect(pageUrlProblem(new URL('http://localhost:5173/'), development)).toBeUndefined();
    expect(pageUrlProblem(new URL('http://127.0.0.1:5173/'), development)).toBeUndefined();
    expect(
      pageUrlProblem(pathToFileURL('/home/me/netboot-composer/.vite/renderer/index.html'), development),
    ).toBeUndefined();
    expect(pageUrlProblem(new URL('http://192.0.2.7:5173/'), development)).toMatch(/npm start\.$/);
    expect(pageUrlProblem(new URL('data:text/html,<script>1</script>'), development)).toMatch(/npm start\.$/);
  });
});
