/// <reference lib="dom" />
// Parts of this file run inside the page (page.evaluate), where the DOM is.
/**
 * The size map, the why-chains and the diff (issue 16) in a real browser:
 * the production build of the page in Debian's Chromium under its own CSP,
 * the real main-process handlers and pipeline behind it (the harness's
 * stand-ins are for Electron's binary only: see test/helpers/app-harness.ts).
 * Two versions of one small system (test/fixtures/closure-map.nix: a path
 * added, one removed, one changed, new kernel parameters) are built one
 * after the other, as a user rebuilds after an update; the diff's rows and
 * totals are checked against the two boot folders' real closures, a
 * why-chain is followed with the keyboard alone, and the map and the diff
 * are saved in both themes for the README.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootFolderFor } from '../../electron/main/handlers.ts';
import { factsOfBootFolder } from '../../electron/pipeline/compose/closure-facts.ts';
import { pathName } from '../../electron/shared/closure-map.ts';
import { formatBytes } from '../../electron/shared/progress.ts';
import { buildRenderer, launchChromium, openApp, type AppHarness } from '../helpers/app-harness.ts';
import { buildMapped, narSizeOf } from '../helpers/closure-map.ts';
import { closureOf, tempDir } from '../helpers/fixtures.ts';
import { readmeShot, saveShot } from '../helpers/screenshots.ts';

let browser: Browser;
let pageDir: string;
let v1: string;
let v2: string;

beforeAll(async () => {
  pageDir = await tempDir('nbc-page-');
  [v1, v2] = await Promise.all([buildMapped(1), buildMapped(2), buildRenderer(pageDir)]);
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
});

/** Choose the built system `toplevel` by its store path and build it, up to the Result step. */
async function buildSystem(page: Page, toplevel: string): Promise<void> {
  await page.getByRole('button', { name: 'System', exact: true }).click();
  await page.getByLabel('Store path of a built system').fill(toplevel);
  await page.getByRole('button', { name: 'Use', exact: true }).click();
  await page.getByRole('article', { name: 'Chosen system' }).getByText(pathName(toplevel)).waitFor({ timeout: 60_000 });
  await page.getByRole('button', { name: 'Continue to options →' }).click();
  await page.getByRole('button', { name: 'Build boot files' }).click();
  await page.getByRole('heading', { name: 'Boot files ready' }).waitFor({ timeout: 120_000 });
}

/** The store path of the focused element (a map tile), if any. */
const focusedPath = (page: Page): Promise<string | undefined> =>
  page.evaluate(() => (document.activeElement as HTMLElement | null)?.dataset.path);

describe('the size map, why-chains and the diff, in Chromium with the real handlers', () => {
  let app: AppHarness;

  afterAll(async () => {
    await app?.close();
  });

  it('maps the closure, follows a why-chain by keyboard, and shows what changed since the last build', async () => {
    const userDataDir = await tempDir('nbc-map-userdata-');
    app = await openApp(browser, {
      pageDir,
      userDataDir,
      cacheDir: await tempDir('nbc-map-cache-'),
      viewport: { width: 1024, height: 700 },
      colorScheme: 'light',
    });
    const { page } = app;
    // Anything the page's CSP refused (an inline style, say) is recorded here.
    await page.evaluate(() => {
      const w = window as unknown as { __violations: string[] };
      w.__violations = [];
      document.addEventListener('securitypolicyviolation', (e) =>
        w.__violations.push(`${e.violatedDirective} ${e.sourceFile}:${e.lineNumber}`),
      );
    });
    await page.getByRole('heading', { name: 'Which system do you want to netboot?' }).waitFor({ timeout: 30_000 });

    // The first build of the system: a map of its closure, nothing to compare with yet.
    await buildSystem(page, v1);
    const map = page.locator('.map-card');
    const diffCard = page.locator('.diff-card');
    await diffCard.getByText('The first build of this system here').waitFor();
    expect(await map.locator('.map-tile').count()).toBe((await closureOf(v1)).length);

    // The second: the same system with a path added, one removed, one changed.
    await buildSystem(page, v2);
    await diffCard.getByText(/1 added, 1 removed, 2 changed/).waitFor();
    const before = await factsOfBootFolder(bootFolderFor(userDataDir, { kind: 'toplevel', path: v1 }));
    const after = await factsOfBootFolder(bootFolderFor(userDataDir, { kind: 'toplevel', path: v2 }));
    expect(await map.locator('.map-tile').count()).toBe(after.nodes.length);
    const node = (facts: typeof after, name: string) => facts.nodes.find((n) => pathName(n.path) === name)!;
    const row = (kind: string, path: string) => diffCard.locator(`tr.diff-${kind}[data-path="${path}"]`);

    const added = node(after, 'new-tool-1.0');
    expect(added.narSize).toBe(await narSizeOf(added.path));
    expect(await row('added', added.path).textContent()).toBe(
      `+new-tool-1.0${formatBytes(added.narSize)}${formatBytes(added.packedBytes!)}`,
    );
    const removed = node(before, 'old-tool-1.0');
    expect(await row('removed', removed.path).textContent()).toBe(
      `−old-tool-1.0${formatBytes(removed.narSize)}${formatBytes(removed.packedBytes!)}`,
    );
    const [appBefore, appAfter] = [node(before, 'app-1.0'), node(after, 'app-1.0')];
    expect(appAfter.narSize).toBe(await narSizeOf(appAfter.path));
    expect(await row('changed', appAfter.path).textContent()).toBe(
      `~app 1.0 (new hash)${formatBytes(appBefore.narSize)} → ${formatBytes(appAfter.narSize)}` +
        `${formatBytes(appBefore.packedBytes!)} → ${formatBytes(appAfter.packedBytes!)}`,
    );
    expect(await diffCard.locator('tbody tr').count()).toBe(4);
    const totals = await diffCard.locator('.diff-totals').textContent();
    expect(totals).toContain(`RAM needed${formatBytes(before.ramBytes!)} → ${formatBytes(after.ramBytes!)}`);
    expect(totals).toContain(`Download${formatBytes(before.downloadBytes!)} → ${formatBytes(after.downloadBytes!)}`);
    expect(totals).toContain(`Store paths${before.nodes.length} → ${after.nodes.length}`);
    expect(await diffCard.locator('.script-diff .line-removed').textContent()).toMatch(/^- kernel .* quiet /);
    expect(await diffCard.locator('.script-diff .line-added').textContent()).toMatch(/^\+ kernel .* loglevel=4 /);

    // Keyboard only: Tab onto the map, arrows to lib, Enter shows why it is there.
    const lib = node(after, 'lib-2.0');
    await map.locator('.map-tile[tabindex="0"]').waitFor();
    await page.getByRole('heading', { name: 'Boot files ready' }).click();
    for (let i = 0; i < 60 && !(await focusedPath(page)); i++) await page.keyboard.press('Tab');
    expect(await focusedPath(page)).toBeDefined();
    await page.keyboard.press('Home');
    for (let i = 0; i < after.nodes.length && (await focusedPath(page)) !== lib.path; i++) {
      await page.keyboard.press('ArrowRight');
    }
    expect(await focusedPath(page)).toBe(lib.path);
    // Focus shows the path, its sizes and its share of the RAM needed.
    const detail = await page.locator('#map-help').textContent();
    expect(detail).toContain(
      `lib-2.0 · ${formatBytes(lib.narSize)} unpacked · ${formatBytes(lib.packedBytes!)} packed`,
    );
    expect(detail).toContain(`${((lib.narSize / after.ramBytes!) * 100).toFixed(1)}% of the RAM needed`);
    expect(detail).toContain(lib.path);
    await page.keyboard.press('Enter');
    const why = page.locator('section.why');
    await why.getByRole('heading', { name: 'Why lib-2.0 is here' }).waitFor();
    const chains = async () =>
      (await why.locator('ol.chain').all()).map(async (ol) =>
        (await ol.locator('button').allTextContents()).join(' → '),
      );
    expect(await Promise.all(await chains())).toEqual([
      'nixos-system-mapped-25.11 → app-1.0 → lib-2.0',
      'nixos-system-mapped-25.11 → selfref-1.0 → lib-2.0',
      'nixos-system-mapped-25.11 → wrapper-1.0 → helper-0.3 → lib-2.0',
    ]);
    // Tall enough for the whole card in one picture (the page itself was checked at 1024×700).
    await page.setViewportSize({ width: 1024, height: 1000 });
    await readmeShot(map, 'closure-map-light');
    await page.setViewportSize({ width: 1024, height: 700 });
    // Follow the third chain up one step, by Tab and Enter: helper, and why it is there.
    for (let i = 0; i < 30; i++) {
      await page.keyboard.press('Tab');
      if ((await page.evaluate(() => document.activeElement?.textContent)) === 'helper-0.3') break;
    }
    await page.keyboard.press('Enter');
    await why.getByRole('heading', { name: 'Why helper-0.3 is here' }).waitFor();
    expect(await Promise.all(await chains())).toEqual(['nixos-system-mapped-25.11 → wrapper-1.0 → helper-0.3']);
    expect(await map.locator('.map-tile.selected').getAttribute('data-path')).toBe(node(after, 'helper-0.3').path);
    await page.setViewportSize({ width: 1024, height: 1000 });
    await readmeShot(diffCard, 'closure-diff-light');

    // The dark theme, the same page.
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.getByRole('button', { name: 'lib-2.0' }).first().click();
    await why.getByRole('heading', { name: 'Why lib-2.0 is here' }).waitFor();
    await readmeShot(map, 'closure-map-dark');
    await readmeShot(diffCard, 'closure-diff-dark');

    await page.setViewportSize({ width: 1024, height: 700 });
    await saveShot(page, 'closure-result-dark');
    expect(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true);
    expect(await page.evaluate(() => (window as unknown as { __violations: string[] }).__violations)).toEqual([]);
    // The Build step shows the same map, with the packed sizes once the build is done.
    await page.getByRole('button', { name: 'Build', exact: true }).click();
    await page.getByRole('heading', { name: 'Built' }).waitFor();
    expect(await page.locator('.map-card .map-tile').count()).toBe(after.nodes.length);
    expect(await page.locator('.map-card').textContent()).toContain('its area its packed size');
    expect(app.pageErrors).toEqual([]);
  });
});
