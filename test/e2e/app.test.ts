/// <reference lib="dom" />
// Parts of this file run inside the page (page.evaluate), where the DOM is.
/**
 * The whole app flow in a real browser: the production build of the page in
 * Debian's Chromium, the real main-process handlers and the real pipeline on
 * the demo system behind it (see test/helpers/app-harness.ts for the few
 * stand-ins, which need Electron's binary). Screenshots of each step go to
 * test-results/app/; the README shows them.
 */
import { execFile } from 'node:child_process';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findIpxeLoaders } from '../../electron/pipeline/base/ipxe-loaders.ts';
import { buildRenderer, launchChromium, openApp, type AppHarness } from '../helpers/app-harness.ts';
import { tempDir } from '../helpers/fixtures.ts';
import { readmeShot, saveShot, SHOTS } from '../helpers/screenshots.ts';

const run = promisify(execFile);

let browser: Browser;
let pageDir: string;

beforeAll(async () => {
  pageDir = await tempDir('nbc-page-');
  await buildRenderer(pageDir);
  browser = await launchChromium();
  await mkdir(SHOTS, { recursive: true });
});

afterAll(async () => {
  await browser?.close();
});

/** Every data-state each store-path row has shown, in order, recorded in the page as React updates it. */
async function recordRowStates(page: Page): Promise<void> {
  await page.evaluate(() => {
    const seen: Record<string, string[]> = {};
    (window as unknown as { __rowStates: Record<string, string[]> }).__rowStates = seen;
    const note = (): void => {
      for (const row of document.querySelectorAll<HTMLTableRowElement>('table.paths tbody tr')) {
        const key = row.title;
        const state = row.dataset.state ?? '';
        const list = (seen[key] ??= []);
        if (list.at(-1) !== state) list.push(state);
      }
    };
    new MutationObserver(note).observe(document.body, {
      subtree: true,
      childList: true,
      attributes: true,
      attributeFilter: ['data-state'],
    });
  });
}

async function filesOf(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const name of (await readdir(dir)).sort()) out[name] = (await readFile(join(dir, name))).toString('base64');
  return out;
}

async function mksquashfsUsing(dir: string): Promise<string[]> {
  const { stdout } = await run('ps', ['-eo', 'pid,args']);
  return stdout.split('\n').filter((line) => line.includes('mksquashfs') && line.includes(dir));
}

describe('the app, in Chromium, with the real main-process handlers and pipeline', () => {
  let app: AppHarness;

  afterAll(async () => {
    await app?.close();
  });

  it('goes from the demo system to an exported boot folder; a canceled build leaves nothing half-written', async () => {
    const userDataDir = await tempDir('nbc-userdata-');
    const cacheDir = await tempDir('nbc-cache-');
    const exportDir = await tempDir('nbc-export-');
    await writeFile(join(exportDir, 'pxelinux.0'), 'not ours\n');
    app = await openApp(browser, { pageDir, userDataDir, cacheDir });
    const { page } = app;

    // 1. System
    await page
      .getByRole('heading', { name: 'Which system do you want to netboot?' })
      .waitFor({ timeout: 30_000 })
      .catch((error: unknown) => {
        throw new Error(`the page did not show its first step; page errors: ${app.pageErrors.join('; ')}`, {
          cause: error,
        });
      });
    await readmeShot(page, '1-system');
    await page.getByRole('button', { name: 'Use the demo system' }).click();
    const chosen = page.getByRole('article', { name: 'Chosen system' });
    await chosen.waitFor({ timeout: 240_000 });
    expect(await chosen.textContent()).toMatch(/nixos-system-demo-.*NixOS.*x86_64-linux.*Store paths\s*36/);
    await saveShot(page, '2-system-chosen');

    // 2. Options: an architecture the system was not built for keeps Build disabled, with the reason.
    await page.getByRole('button', { name: 'Continue to options →' }).click();
    await page.locator('.segmented label', { hasText: 'aarch64-linux' }).click();
    expect(await page.getByRole('button', { name: 'Build boot files' }).isDisabled()).toBe(true);
    expect(await page.locator('#build-blocker').textContent()).toContain(
      'is built for x86_64-linux, not aarch64-linux',
    );
    await page.locator('.segmented label', { hasText: 'x86_64-linux' }).click();
    await page.getByLabel('Extra kernel parameters').fill('nbc.e2e=1 quiet');
    expect(await page.getByRole('button', { name: 'Build boot files' }).isEnabled()).toBe(true);
    await readmeShot(page, '3-options');

    // 3. Build: every row starts queued and ends packed.
    await recordRowStates(page);
    await page.getByRole('button', { name: 'Build boot files' }).click();
    await page.getByRole('heading', { name: 'Boot files ready' }).waitFor({ timeout: 240_000 });
    const states = await page.evaluate(
      () => (window as unknown as { __rowStates: Record<string, string[]> }).__rowStates,
    );
    expect(Object.keys(states)).toHaveLength(36);
    for (const seen of Object.values(states)) {
      expect(seen[0]).toBe('queued');
      expect(seen.at(-1)).toBe('packed');
    }

    // 4. Result: the preview is the script on disk, and it follows the kernel parameters.
    const outDir = join(userDataDir, 'boot', 'demo');
    const onDisk = await readFile(join(outDir, 'netboot.ipxe'), 'utf8');
    const preview = page.getByLabel('netboot.ipxe');
    expect(await preview.textContent()).toBe(onDisk);
    expect(onDisk).toMatch(
      / init=\S+ initrd=initrd initrd=manifest initrd=nix-store .* nbc\.e2e=1 quiet \$\{cmdline\}\n/,
    );
    expect(await page.getByRole('table', { name: 'Boot files' }).textContent()).toMatch(
      /bzImage.*initrd.*manifest.*nix-store.*netboot\.ipxe/,
    );
    await saveShot(page, '5-result');
    await page.getByRole('button', { name: 'Copy' }).click();
    await expect.poll(() => app.clipboard).toEqual([onDisk]);

    await page.locator('#result-kernel-params').fill('nbc.e2e=1 nomodeset');
    expect(await preview.textContent()).toContain('nbc.e2e=1 nomodeset');
    expect(await page.getByText('the file on disk has the old ones').count()).toBe(1);
    await page.locator('#result-kernel-params').fill('nbc.e2e=1 quiet');
    expect(await page.getByText('the file on disk has the old ones').count()).toBe(0);

    // Export to a folder that holds a file of someone else's.
    const exportCard = page.locator('.export-card');
    expect(await exportCard.getByRole('radio', { name: 'Folder' }).isChecked()).toBe(true);
    expect(await exportCard.getByRole('button', { name: 'Export', exact: true }).isDisabled()).toBe(true);
    app.pickers.push(exportDir);
    await exportCard.getByRole('button', { name: 'Choose…' }).click();
    await expect.poll(() => exportCard.getByRole('textbox', { name: 'Folder' }).inputValue()).toBe(exportDir);
    await exportCard.getByRole('button', { name: 'Export', exact: true }).click();
    await page.getByText('Exported 5 files').waitFor();
    expect(app.pickerPurposes.at(-1)).toBe('export');
    const built = await filesOf(outDir);
    const exported = await filesOf(exportDir);
    for (const name of ['bzImage', 'initrd', 'manifest', 'netboot.ipxe', 'nix-store']) {
      expect(exported[name], name).toBe(built[name]);
    }
    expect(exported['pxelinux.0']).toBe(Buffer.from('not ours\n').toString('base64'));
    const written = await exportCard.getByRole('table', { name: 'Files written' }).getByRole('row').allTextContents();
    expect(written.map((row) => row.replace(/\d.*$/, '')).sort()).toEqual(
      ['bzImage', 'initrd', 'manifest', 'netboot.ipxe', 'nix-store'].sort(),
    );
    await page.getByRole('button', { name: 'Show in folder' }).last().click();
    await expect.poll(() => app.shown).toContain(exportDir);
    expect(JSON.parse(await readFile(join(userDataDir, 'settings.json'), 'utf8')).lastExport).toEqual({
      kind: 'folder',
      dir: exportDir,
    });
    await readmeShot(page, '6-exported');

    // A TFTP export into a subfolder: the boot files, the iPXE loaders at the
    // root (byte-identical to the system's), the dnsmasq snippets, and notes
    // that say what to serve.
    const tftpDir = await tempDir('nbc-tftp-');
    await exportCard.locator('.export-kinds label', { hasText: 'TFTP' }).click();
    app.pickers.push(tftpDir);
    await exportCard.getByRole('button', { name: 'Choose…' }).click();
    expect(app.pickerPurposes.at(-1)).toBe('tftp');
    await exportCard.getByLabel('Subfolder (optional)').fill('../nixos');
    expect(await exportCard.getByText(/is not a subfolder name/).isVisible()).toBe(true);
    expect(await exportCard.getByRole('button', { name: 'Export', exact: true }).isDisabled()).toBe(true);
    await exportCard.getByLabel('Subfolder (optional)').fill('nixos');
    await exportCard.getByRole('button', { name: 'Export', exact: true }).click();
    await page.getByText('Exported 10 files').waitFor({ timeout: 60_000 });
    const served = await filesOf(join(tftpDir, 'nixos'));
    for (const name of ['bzImage', 'initrd', 'manifest', 'netboot.ipxe', 'nix-store']) {
      expect(served[name], name).toBe(built[name]);
    }
    expect(Object.keys(served)).toEqual(expect.arrayContaining(['dnsmasq-proxy-dhcp.conf', 'dnsmasq-full-dhcp.conf']));
    for (const loader of ['undionly.kpxe', 'snponly.efi', 'ipxe.efi'] as const) {
      expect((await readFile(join(tftpDir, loader))).equals(await readFile(findIpxeLoaders()[loader]!)), loader).toBe(
        true,
      );
    }
    const notes = await exportCard.getByRole('list', { name: 'Notes' }).textContent();
    expect(notes).toContain('machines running iPXE load nixos/netboot.ipxe');
    expect(notes).toContain('nixos/dnsmasq-proxy-dhcp.conf');
    await saveShot(page, '6b-exported-tftp');
    await exportCard.locator('.export-kinds label', { hasText: 'Folder' }).click();
    expect(await exportCard.getByRole('textbox', { name: 'Folder' }).inputValue()).toBe(exportDir);

    // A second build, with a compressor that makes every path pack again, canceled mid-way.
    await page.getByRole('button', { name: 'Options', exact: true }).click();
    await page.getByLabel('Squashfs compressor').selectOption('xz');
    await page.getByRole('button', { name: 'Build boot files' }).click();
    await page.locator('tr[data-state="packed"]').first().waitFor({ timeout: 120_000 });
    await readmeShot(page, '4-building');
    await page.getByRole('button', { name: 'Cancel' }).click();
    await page.getByRole('heading', { name: 'Build canceled' }).waitFor({ timeout: 30_000 });
    expect(await mksquashfsUsing(cacheDir)).toEqual([]);
    // The boot folder is the first build's, byte for byte, with no temp files; so is the export.
    expect(await filesOf(outDir)).toEqual(built);
    expect(await filesOf(exportDir)).toEqual(exported);
    const cacheFiles = await run('find', [cacheDir, '-name', '.tmp-*']);
    expect(cacheFiles.stdout).toBe('');
    expect(app.handlers.runningJobs).toBe(0);
    await saveShot(page, '7-canceled');
    expect(app.pageErrors).toEqual([]);
  });
});

describe('the app at 1024×700, in the dark', () => {
  it('fits every step into the smaller window, readable, with nothing cut off sideways', async () => {
    const userDataDir = await tempDir('nbc-userdata-');
    const cacheDir = await tempDir('nbc-cache-');
    const small = await openApp(browser, {
      pageDir,
      userDataDir,
      cacheDir,
      viewport: { width: 1024, height: 700 },
      colorScheme: 'dark',
      drives: [
        {
          device: '/dev/sdb1',
          name: 'NETBOOT',
          mountpoint: await tempDir('nbc-stick-'),
          sizeBytes: 32e9,
          freeBytes: 30e9,
        },
      ],
    });
    try {
      const { page } = small;
      const noSideScroll = () => page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);
      await page.getByRole('heading', { name: 'Which system do you want to netboot?' }).waitFor({ timeout: 30_000 });
      await page.getByRole('button', { name: 'Use the demo system' }).click();
      await page.getByRole('article', { name: 'Chosen system' }).waitFor({ timeout: 240_000 });
      expect(await noSideScroll()).toBe(true);
      await readmeShot(page, 'small-dark-1-system');
      await page.getByRole('button', { name: 'Continue to options →' }).click();
      expect(await noSideScroll()).toBe(true);
      await readmeShot(page, 'small-dark-2-options');
      await page.getByRole('button', { name: 'Build boot files' }).click();
      await page.getByRole('heading', { name: 'Boot files ready' }).waitFor({ timeout: 240_000 });
      expect(await noSideScroll()).toBe(true);
      // The removable drive is listed by name and size, and, being the only one, chosen.
      await page.locator('.export-kinds label', { hasText: 'USB stick' }).click();
      expect(await page.getByRole('list', { name: 'USB drives' }).textContent()).toMatch(
        /^NETBOOT30 GiB, 28 GiB free · /,
      );
      expect(await page.getByRole('radio', { name: /^NETBOOT/ }).isChecked()).toBe(true);
      expect(await page.getByRole('button', { name: 'Export', exact: true }).isEnabled()).toBe(true);
      expect(await noSideScroll()).toBe(true);
      await readmeShot(page, 'small-dark-4-result');
      await page.getByRole('button', { name: 'Build', exact: true }).click();
      expect(await page.getByTestId('reused').textContent()).toBe('0 of 36 reused');
      await readmeShot(page, 'small-dark-3-build');
      // Keyboard: Tab reaches the step buttons and Enter goes back to the result.
      await page.getByRole('button', { name: 'Result', exact: true }).focus();
      await page.keyboard.press('Enter');
      await page.getByRole('heading', { name: 'Boot files ready' }).waitFor();
      // The cache chip: what the build left in the (real) cache, and emptying it.
      await page.locator('.cache-chip summary').click();
      const chip = page.getByRole('group', { name: 'Cache' });
      expect(await chip.textContent()).toContain('The last build reused 0 of 36 paths (0%)');
      await readmeShot(page, 'small-dark-5-cache');
      expect((await run('find', [cacheDir, '-name', '*.sqsh'])).stdout.trim().split('\n')).toHaveLength(36);
      await page.getByRole('button', { name: 'Empty the cache' }).click();
      await page.getByText(/^Cache 0 B of 5\.0 GiB/).waitFor();
      // The limit is a setting: saved and shown; each build then keeps the cache under it.
      await page.getByLabel('Limit').fill('2');
      await page.getByRole('button', { name: 'Set' }).click();
      await page.getByText(/^Cache 0 B of 2\.0 GiB/).waitFor();
      expect(JSON.parse(await readFile(join(userDataDir, 'settings.json'), 'utf8')).cacheLimitBytes).toBe(
        2 * 1024 ** 3,
      );
      expect((await run('find', [cacheDir, '-name', '*.sqsh'])).stdout).toBe('');
      expect(small.pageErrors).toEqual([]);
    } finally {
      await small.close();
    }
  });
});
