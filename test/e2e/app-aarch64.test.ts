/// <reference lib="dom" />
// Parts of this file run inside the page (page.evaluate), where the DOM is.
/**
 * aarch64 in the app, in Chromium with the real main-process handlers and
 * pipeline (test/helpers/app-harness.ts; only the Electron module is mocked):
 * the aarch64 demo is chosen, the architecture follows it, the build makes
 * Image, and the Result step's Test boot netboots it under QEMU's aarch64
 * UEFI (BIOS is not offered) to the PASS banner with the demo's marker
 * (docs/screenshots/test-boot-aarch64.png).
 * The app's cache is the one test/e2e/aarch64-boot.test.ts keeps, so the
 * arm64 packages are fetched from Debian only once.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_MARKER } from '../../electron/pipeline/media/markers.ts';
import { buildRenderer, launchChromium, openApp, type AppHarness } from '../helpers/app-harness.ts';
import { qemuProcessesFor, STATE_DIR, tempDir } from '../helpers/fixtures.ts';
import { readmeShot } from '../helpers/screenshots.ts';

const ARM64_CACHE = join(STATE_DIR, 'aarch64-cache');

let browser: Browser;
let pageDir: string;
let app: AppHarness | undefined;

beforeAll(async () => {
  pageDir = await tempDir('nbc-page-');
  await buildRenderer(pageDir);
  browser = await launchChromium();
});

afterAll(async () => {
  await app?.close();
  await browser?.close();
});

describe('the aarch64 demo in the app', () => {
  it('is chosen, built for aarch64-linux and test-booted under QEMU’s aarch64 UEFI, to PASS', async () => {
    const userDataDir = await tempDir('nbc-userdata-');
    app = await openApp(browser, { pageDir, userDataDir, cacheDir: ARM64_CACHE });
    const { page } = app;
    await page.getByRole('heading', { name: 'Which system do you want to netboot?' }).waitFor({ timeout: 30_000 });
    await page.getByRole('button', { name: 'Use the aarch64 demo' }).click();
    const chosen = page.getByRole('article', { name: 'Chosen system' });
    await chosen.waitFor({ timeout: 300_000 });
    expect(await chosen.textContent()).toMatch(/nixos-system-demo-.*aarch64-linux.*Store paths\s*36/);

    // The architecture follows the system: Build is enabled with aarch64-linux chosen.
    await page.getByRole('button', { name: 'Continue to options →' }).click();
    expect(await page.getByRole('radio', { name: 'aarch64-linux' }).isChecked()).toBe(true);
    await page.getByRole('button', { name: 'Build boot files' }).click();
    await page.getByRole('heading', { name: 'Boot files ready' }).waitFor({ timeout: 300_000 });
    const outDir = join(userDataDir, 'boot', 'demo-aarch64');
    expect((await readdir(outDir)).filter((n) => !n.startsWith('.')).sort()).toEqual([
      'Image',
      'initrd',
      'manifest',
      'netboot.ipxe',
      'nix-store',
    ]);

    // aarch64 machines have UEFI only: BIOS cannot be chosen.
    expect(await page.getByRole('radio', { name: 'UEFI' }).isChecked()).toBe(true);
    expect(await page.getByRole('radio', { name: 'BIOS' }).isDisabled()).toBe(true);
    await page.getByRole('button', { name: 'Test boot' }).click();
    const panel = page.getByRole('region', { name: 'Test boot' });
    await panel.waitFor();
    await expect.poll(() => panel.locator('.badge').textContent()).toMatch(/^UEFI · netboot · \d+ MiB$/);
    await expect
      .poll(() => panel.getByTestId('accel').textContent(), { timeout: 60_000 })
      .toMatch(/^TCG: an aarch64 guest on this x86_64 machine/);
    const banner = panel.locator('.banner-success');
    await banner.waitFor({ timeout: 400_000 });
    expect(await banner.locator('code.matched').textContent()).toMatch(new RegExp(`^${DEMO_MARKER}`));
    expect(app.answers.filter((a) => a.channel === 'boot:start').at(-1)?.answer).toMatchObject({
      ok: true,
      value: { passed: true, firmware: 'uefi', accel: 'tcg' },
    });
    expect(qemuProcessesFor(outDir)).toEqual([]);
    // The README shows it.
    await readmeShot(page, 'test-boot-aarch64');
    expect(app.pageErrors).toEqual([]);
  }, 900_000);
});
