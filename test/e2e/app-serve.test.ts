/// <reference lib="dom" />
/**
 * Serve from the Result step, in Chromium, with the real main handlers
 * (test/helpers/app-harness.ts) and the real server behind them: the demo is
 * built through the page, served on the test's private network (main starts
 * its helper inside the namespace: NETBOOT_COMPOSER_SERVE_WRAP, a test-only
 * hook, since this process cannot open a namespace's interfaces itself), and
 * a BIOS and a UEFI machine boot from it at the same time, beside a router
 * (proxy DHCP), to the demo's marker while the panel's table follows both.
 * Stop leaves no process in the namespace. Screenshots: docs/screenshots/.
 */
import { execFileSync } from 'node:child_process';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_MARKER } from '../../electron/pipeline/media/markers.ts';
import { buildRenderer, launchChromium, openApp, type AppHarness } from '../helpers/app-harness.ts';
import { tempDir } from '../helpers/fixtures.ts';
import { netnsProblem } from '../helpers/netns.ts';
import { bootMachine, makePrivateNet, type PrivateNet } from '../helpers/serve-net.ts';
import { readmeShot } from '../helpers/screenshots.ts';

const MARKER = new RegExp(`${DEMO_MARKER}, \\d+ store paths present and verified`);
const problem = netnsProblem();

let browser: Browser;
let pageDir: string;
let net: PrivateNet;
let app: AppHarness | undefined;

beforeAll(async () => {
  if (problem) return;
  pageDir = await tempDir('nbc-page-');
  await buildRenderer(pageDir);
  browser = await launchChromium();
  net = await makePrivateNet(2);
  await net.startRouter();
  process.env.NETBOOT_COMPOSER_SERVE_WRAP = `ip netns exec ${net.name}`;
});

afterAll(async () => {
  delete process.env.NETBOOT_COMPOSER_SERVE_WRAP;
  await app?.close();
  await browser?.close();
  await net?.destroy();
});

async function buildDemo(page: Page): Promise<void> {
  await page.getByRole('heading', { name: 'Which system do you want to netboot?' }).waitFor({ timeout: 30_000 });
  await page.getByRole('button', { name: 'Use the demo system' }).click();
  await page.getByRole('article', { name: 'Chosen system' }).waitFor({ timeout: 240_000 });
  await page.getByRole('button', { name: 'Continue to options →' }).click();
  await page.getByRole('button', { name: 'Build boot files' }).click();
  await page.getByRole('heading', { name: 'Boot files ready' }).waitFor({ timeout: 240_000 });
}

/** The table's rows, as text per cell. */
const rows = (page: Page): Promise<string[][]> =>
  page
    .getByRole('table', { name: 'Machines booting' })
    .locator('tbody tr')
    .evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '')));

describe.skipIf(problem !== undefined)(`Serve in the app${problem ? ` (${problem})` : ''}`, () => {
  it('serves the demo beside a router: a BIOS and a UEFI machine boot at once, the table follows both, Stop ends it', async () => {
    const userDataDir = await tempDir('nbc-userdata-');
    app = await openApp(browser, { pageDir, userDataDir, cacheDir: await tempDir('nbc-cache-') });
    const { page } = app;
    await buildDemo(page);

    await page.getByRole('button', { name: 'Serve' }).click();
    const panel = page.getByRole('region', { name: 'Serve' });
    const iface = panel.getByLabel('Network interface');
    await expect
      .poll(() => iface.locator('option').allTextContents(), { timeout: 30_000 })
      .toContain('br0 · 10.77.0.1/24 · link up');
    await iface.selectOption('br0');
    expect(await panel.getByRole('radio', { name: 'Proxy DHCP (beside the router)' }).isChecked()).toBe(true);
    await panel.getByRole('button', { name: 'Start serving' }).click();
    await panel
      .getByText(/^Serving nixos-system-demo\S* on br0 \(10\.77\.0\.1\), proxy DHCP\./)
      .waitFor({ timeout: 60_000 });
    // What runs, exactly (as root here, so without pkexec).
    expect(await panel.getByTestId('serve-command').textContent()).toMatch(
      /^Runs: ip netns exec nbc13-\S+ \S+node \S+netboot-composer\.ts serve --dir \S+boot\/demo --interface br0 --proxy --json --control-stdin$/,
    );
    await readmeShot(page, 'serve-ready');

    const machines = Promise.all([
      bootMachine(net, { firmware: 'bios', tap: 0, mac: '52:54:00:13:02:01' }, MARKER),
      bootMachine(net, { firmware: 'uefi', tap: 1, mac: '52:54:00:13:02:02', rom: '' }, MARKER),
    ]);
    // Mid-way: both in the table.
    await expect.poll(async () => (await rows(page)).length, { timeout: 120_000, interval: 500 }).toBe(2);
    await readmeShot(page, 'serve-booting');
    const [bios, uefi] = await machines;
    expect(bios.console, bios.console.slice(-1500)).toMatch(MARKER);
    expect(uefi.console, uefi.console.slice(-1500)).toMatch(MARKER);

    await expect
      .poll(async () => (await rows(page)).map((r) => r.slice(0, 4).join(' | ')).sort(), { timeout: 10_000 })
      .toEqual([
        expect.stringMatching(/^52:54:00:13:02:01 \| 10\.77\.0\.(5\d|60) \| BIOS \| handed to the kernel$/),
        expect.stringMatching(/^52:54:00:13:02:02 \| 10\.77\.0\.(5\d|60) \| UEFI x86_64 \| handed to the kernel$/),
      ]);
    const fetched = (await rows(page)).map((r) => r[4]!);
    expect(fetched.find((f) => f.includes('snponly.efi'))).toMatch(/nix-store \d/);
    for (const f of fetched) expect(f).toMatch(/bzImage [\d.]+ MiB @ [\d.]+ [KM]iB\/s/);
    await readmeShot(page, 'serve-booted');

    await panel.getByRole('button', { name: 'Stop' }).click();
    await panel.getByText(/^Stopped; no server process is left\.$/).waitFor({ timeout: 30_000 });
    expect(app.answers.find((a) => a.channel === 'serve:start')?.answer).toMatchObject({
      ok: false,
      error: { kind: 'canceled' },
    });
    expect(execFileSync('ip', ['netns', 'pids', net.name], { encoding: 'utf8' }).trim()).toBe('');
    expect(app.handlers.runningJobs).toBe(0);
    expect(app.pageErrors).toEqual([]);
  }, 600_000);
});
