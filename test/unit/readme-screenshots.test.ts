/**
 * Every screenshot the README shows is written by a browser test on each run
 * (test/helpers/screenshots.ts, readmeShot), so none can show a page that
 * is gone; docs/screenshots/ holds no image the README does not show.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/fixtures.ts';

async function readmeImages(): Promise<string[]> {
  const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
  return [...new Set([...readme.matchAll(/docs\/screenshots\/([\w.-]+)\.png/g)].map((m) => m[1]!))].sort();
}

/** The names the browser tests pass to readmeShot(target, 'NAME'). */
async function writtenByTests(): Promise<Map<string, string>> {
  const written = new Map<string, string>();
  const dir = join(ROOT, 'test', 'e2e');
  for (const file of await readdir(dir)) {
    const text = await readFile(join(dir, file), 'utf8');
    for (const m of text.matchAll(/readmeShot\(\s*[\w.]+,\s*'([\w.-]+)'\s*\)/g)) written.set(m[1]!, file);
  }
  return written;
}

describe('the README’s screenshots', () => {
  it('are each written by a browser test on every run', async () => {
    const written = await writtenByTests();
    const missing = (await readmeImages()).filter((name) => !written.has(name));
    expect(missing, 'README images no test writes with readmeShot').toEqual([]);
  });

  it('are all that docs/screenshots/ holds, and every test’s README image is in the README', async () => {
    const images = await readmeImages();
    const files = (await readdir(join(ROOT, 'docs', 'screenshots'))).map((f) => f.replace(/\.png$/, '')).sort();
    expect(files).toEqual(images);
    expect([...(await writtenByTests()).keys()].sort()).toEqual(images);
  });
});
