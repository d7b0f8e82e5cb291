/**
 * Screenshots of the app, taken by the browser tests from the current page:
 * every one goes to test-results/app/; those the README shows also go to
 * docs/screenshots/, written on each run so none can go stale
 * (test/unit/readme-screenshots.test.ts checks that each README image is
 * written by a test, and that docs/screenshots/ holds no other).
 */
import { copyFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { ROOT } from './fixtures.ts';

export const SHOTS = join(ROOT, 'test-results', 'app');
export const README_SHOTS = join(ROOT, 'docs', 'screenshots');

/** Screenshot `target` (a page, or one element of it) as `name`.png; `readme`: also into docs/screenshots/. */
export async function saveShot(
  target: Page | Locator,
  name: string,
  options: { readme?: boolean } = {},
): Promise<void> {
  await mkdir(SHOTS, { recursive: true });
  const file = join(SHOTS, `${name}.png`);
  await target.screenshot({ path: file });
  if (options.readme) {
    await mkdir(README_SHOTS, { recursive: true });
    await copyFile(file, join(README_SHOTS, `${name}.png`));
  }
}

/** The same, for a README image: the call the README check looks for. */
export function readmeShot(target: Page | Locator, name: string): Promise<void> {
  return saveShot(target, name, { readme: true });
}
