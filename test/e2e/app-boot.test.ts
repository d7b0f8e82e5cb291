/// <reference lib="dom" />
// Parts of this file run inside the page (page.evaluate), where the DOM is.
/**
 * Test boot from the Result step, in Chromium, with real QEMU behind it: the
 * production build of the page (its strict CSP included), the real
 * main-process handlers and pipeline (test/helpers/app-harness.ts). The demo
 * netboots under BIOS while its serial console streams into the page's
 * terminal, to the PASS banner with stage 2's marker; a second boot, under
 * UEFI in a small dark window, is stopped mid-way and leaves no QEMU behind.
 * A USB image exported from the export step boots under UEFI as a stick.
 * Screenshots go to test-results/app/.
 */
import { mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_MARKER } from '../../electron/pipeline/media/markers.ts';
import { buildRenderer, launchChromium, openApp, type AppHarness } from '../helpers/app-harness.ts';
import { qemuProcessesFor, tempDir } from '../helpers/fixtures.ts';
import { readmeShot, saveShot, SHOTS } from '../helpers/screenshots.ts';

let browser: Browser;
let pageDir: string;
let cacheDir: string;

beforeAll(async () => {
  pageDir = await tempDir('nbc-page-');
  await buildRenderer(pageDir);
  browser = await launchChromium();
  cacheDir = await tempDir('nbc-cache-');
  await mkdir(SHOTS, { recursive: true });
});

afterAll(async () => {
  await browser?.close();
});

/** CSP violations, as the page itself reports them. */
async function watchCsp(page: Page): Promise<void> {
  await page.evaluate(() => {
    const seen: string[] = [];
    (window as unknown as { __csp: string[] }).__csp = seen;
    document.addEventListener('securitypolicyviolation', (e) => seen.push(`${e.violatedDirective}: ${e.sample}`));
  });
}

/** The demo, built through the page, up to the Result step. */
async function buildDemo(page: Page): Promise<void> {
  await page.getByRole('heading', { name: 'Which system do you want to netboot?' }).waitFor({ timeout: 30_000 });
  await page.getByRole('button', { name: 'Use the demo system' }).click();
  await page.getByRole('article', { name: 'Chosen system' }).waitFor({ timeout: 240_000 });
  await page.getByRole('button', { name: 'Continue to options →' }).click();
  await page.getByRole('button', { name: 'Build boot files' }).click();
  await page.getByRole('heading', { name: 'Boot files ready' }).waitFor({ timeout: 240_000 });
}

/** What the terminal shows now (xterm's DOM renderer keeps the visible rows as text). */
const screenText = (page: Page): Promise<string> =>
  page.locator('.xterm-rows').evaluate((rows) => [...rows.children].map((row) => row.textContent).join('\n'));

describe('test boot in the app, with real QEMU', () => {
  let app: AppHarness | undefined;
  afterAll(async () => {
    await app?.close();
  });

  it('netboots the demo under BIOS with a live serial console, to the PASS banner with the demo’s marker', async () => {
    const userDataDir = await tempDir('nbc-userdata-');
    app = await openApp(browser, { pageDir, userDataDir, cacheDir });
    const { page } = app;
    const outDir = join(userDataDir, 'boot', 'demo');
    await watchCsp(page);
    await buildDemo(page);

    const started = performance.now();
    await page.getByRole('button', { name: 'Test boot' }).click();
    const panel = page.getByRole('region', { name: 'Test boot' });
    await panel.waitFor();
    // The RAM comes with the boot's first event: wait for it rather than read the badge once.
    await expect.poll(() => panel.locator('.badge').textContent()).toMatch(/^BIOS · netboot · \d+ MiB$/);
    // Acceleration, with the reason.
    await panel
      .getByTestId('accel')
      .getByText(/^(KVM|TCG)$/)
      .waitFor({ timeout: 30_000 });
    expect(await panel.getByTestId('accel').textContent()).toMatch(/^(KVM|TCG): \S.+/);

    // The console streams: the firmware and iPXE first, then the kernel, while the time ticks.
    await expect.poll(() => screenText(page), { timeout: 60_000, interval: 250 }).toMatch(/iPXE/);
    const timer = panel.getByRole('timer', { name: 'Elapsed time' });
    const early = await timer.textContent();
    await expect
      .poll(() => screenText(page), { timeout: 120_000, interval: 250 })
      .toMatch(/Linux version|Run \/init|Mounting initial store|\+ cp -ar/);
    expect(await timer.textContent()).not.toBe(early);
    expect(await panel.getByRole('button', { name: 'Stop' }).isEnabled()).toBe(true);
    expect(qemuProcessesFor(outDir)).toHaveLength(1);
    await readmeShot(page, 'test-boot-live');

    // The verdict: PASS and the line that proves stage 2 verified the store.
    const banner = panel.locator('.banner-success');
    await banner.waitFor({ timeout: 240_000 });
    const seconds = (performance.now() - started) / 1000;
    expect(await banner.locator('code.matched').textContent()).toMatch(
      new RegExp(`^${DEMO_MARKER}, \\d+ store paths present and verified after [\\d.]+ s$`),
    );
    expect(await banner.innerText()).toMatch(
      /^PASS: the guest printed NETBOOT-COMPOSER-DEMO: OK.*\n+BIOS, (KVM|TCG), \d+ MiB of RAM, in [\d.]+ s\.$/,
    );
    expect(await screenText(page)).toContain(DEMO_MARKER);
    expect(await panel.getByRole('button', { name: 'Close' }).isVisible()).toBe(true);
    expect(qemuProcessesFor(outDir)).toEqual([]);
    const answer = app.answers.find((a) => a.channel === 'boot:start')?.answer;
    expect(answer).toMatchObject({ ok: true, value: { passed: true, firmware: 'bios' } });
    console.log(`test boot in the app: ${seconds.toFixed(1)} s to PASS`);

    // xterm drew under the strict CSP: its rules applied as constructed sheets, no <style>, no violation.
    const terminal = await page.locator('.xterm-rows').evaluate((rows) => {
      const style = getComputedStyle(rows);
      return {
        whiteSpace: style.whiteSpace,
        font: style.fontFamily,
        styleElements: document.querySelectorAll('style').length,
        adopted: document.adoptedStyleSheets.length,
      };
    });
    expect(terminal).toMatchObject({ whiteSpace: 'pre', styleElements: 0 });
    expect(terminal.font).toContain('monospace');
    expect(terminal.adopted).toBeGreaterThanOrEqual(3);
    expect(await page.evaluate(() => (window as unknown as { __csp: string[] }).__csp)).toEqual([]);
    await readmeShot(page, 'test-boot');
    expect(app.pageErrors).toEqual([]);
  });

  it('exports a USB image from the export step and boots it under UEFI as a USB stick, to PASS', async () => {
    // The window of the first test, with the demo built.
    const { page } = app!;
    const imageDir = await tempDir('nbc-image-');
    const image = join(imageDir, 'demo.img');
    const exportCard = page.locator('.export-card');
    await exportCard.locator('.export-kinds label', { hasText: 'USB image' }).click();
    app!.files.push(image);
    await exportCard.getByRole('button', { name: 'Choose…' }).click();
    await exportCard.getByRole('button', { name: 'Export', exact: true }).click();
    await exportCard.getByText('Wrote demo.img').waitFor({ timeout: 120_000 });
    expect((await stat(image)).size).toBeGreaterThan(64 * 1024 * 1024);
    const notes = await exportCard.getByRole('list', { name: 'Notes' }).textContent();
    expect(notes).toMatch(/dd if=.*demo\.img/);

    await page.locator('.boot-controls label', { hasText: 'UEFI' }).click();
    expect(await page.getByRole('radio', { name: 'UEFI' }).isChecked()).toBe(true);
    await exportCard.getByRole('button', { name: 'Test boot this image' }).click();
    const panel = page.getByRole('region', { name: 'Test boot' });
    await expect
      .poll(() => panel.locator('.badge').textContent())
      .toMatch(/^UEFI · demo\.img as a USB stick · \d+ MiB$/);
    const banner = panel.locator('.banner-success');
    await banner.waitFor({ timeout: 240_000 });
    expect(await banner.locator('code.matched').textContent()).toMatch(new RegExp(`^${DEMO_MARKER}`));
    expect(app!.answers.filter((a) => a.channel === 'boot:start').at(-1)?.answer).toMatchObject({
      ok: true,
      value: { passed: true, firmware: 'uefi' },
    });
    expect(qemuProcessesFor(image)).toEqual([]);
    await readmeShot(page, 'test-boot-usb-uefi');
    expect(app!.pageErrors).toEqual([]);
  });

  it('stops a UEFI boot on Stop in a 1024×700 dark window: the job ends canceled and no qemu-system is left', async () => {
    const userDataDir = await tempDir('nbc-userdata-');
    const small = await openApp(browser, {
      pageDir,
      userDataDir,
      cacheDir,
      viewport: { width: 1024, height: 700 },
      colorScheme: 'dark',
    });
    try {
      const { page } = small;
      const outDir = join(userDataDir, 'boot', 'demo');
      await watchCsp(page);
      await buildDemo(page);
      // Keyboard: choose UEFI and start with the keys alone.
      await page.getByRole('radio', { name: 'UEFI' }).focus();
      await page.keyboard.press('Space');
      expect(await page.getByRole('radio', { name: 'UEFI' }).isChecked()).toBe(true);
      await page.getByRole('button', { name: 'Test boot' }).focus();
      await page.keyboard.press('Enter');
      const panel = page.getByRole('region', { name: 'Test boot' });
      const stop = panel.getByRole('button', { name: 'Stop' });
      await stop.waitFor();
      expect(await stop.evaluate((button) => button === document.activeElement)).toBe(true);
      expect(await panel.locator('.badge').textContent()).toMatch(/^UEFI · netboot/);
      await expect.poll(() => screenText(page), { timeout: 60_000, interval: 250 }).toMatch(/\S/);
      await expect.poll(() => qemuProcessesFor(outDir).length, { timeout: 30_000 }).toBe(1);
      expect(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true);
      await readmeShot(page, 'small-dark-6-test-boot');

      const stopped = performance.now();
      await page.keyboard.press('Enter');
      await panel.getByText(/^Stopped after \d+:\d\d; the VM is gone\.$/).waitFor({ timeout: 30_000 });
      console.log(`stop: ${((performance.now() - stopped) / 1000).toFixed(1)} s from Stop to stopped`);
      expect(small.answers.filter((a) => a.channel === 'boot:start').map((a) => a.answer)).toEqual([
        { ok: false, error: expect.objectContaining({ kind: 'canceled' }) },
      ]);
      expect(qemuProcessesFor(outDir)).toEqual([]);
      expect(small.handlers.runningJobs).toBe(0);
      // Focus went from Stop, now gone, to Close.
      expect(await panel.getByRole('button', { name: 'Close' }).evaluate((b) => b === document.activeElement)).toBe(
        true,
      );
      await saveShot(page, 'small-dark-7-test-boot-stopped');
      // The read-only console takes focus (to scroll it) and lets Tab move on.
      const focused = () => page.evaluate(() => document.activeElement?.className ?? '');
      await page.keyboard.press('Tab');
      expect(await focused()).toBe('xterm-helper-textarea');
      await page.keyboard.press('Tab');
      expect(await focused()).not.toBe('xterm-helper-textarea');
      await page.keyboard.press('Shift+Tab');
      await page.keyboard.press('Shift+Tab');
      expect(await panel.getByRole('button', { name: 'Close' }).evaluate((b) => b === document.activeElement)).toBe(
        true,
      );
      expect(await page.evaluate(() => (window as unknown as { __csp: string[] }).__csp)).toEqual([]);
      expect(small.pageErrors).toEqual([]);
    } finally {
      await small.close();
    }
  });
});
