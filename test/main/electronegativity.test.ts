/**
 * Doyensec's electronegativity over the Electron surface: main, preload, the
 * code they share with the page, and the page (its HTML and CSP included).
 * Every finding fails the test unless it is switched off where it fires with
 * `eng-disable CHECK_ID`, and every such switch carries its reason: the same
 * comment (`// eng-disable ID: why`) or the line above it (`<!-- ID: why -->`)
 * names the check and says why it does not apply.
 *
 * electronegativity fetches translations and Electron's release list as it
 * starts; test/mocks/no-network.cjs makes every such request fail before a
 * socket opens (the tests talk to loopback only).
 */
import { execFile } from 'node:child_process';
import { cp, readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { ROOT, tempDir } from '../helpers/fixtures.ts';
import { recordFigures } from '../helpers/figures.ts';

const run = promisify(execFile);

/** What electronegativity scans: the Electron surface, as folders of their own. */
const SURFACE = ['electron/main', 'electron/preload', 'electron/shared', 'renderer'];

interface Finding {
  id: string;
  file: string;
  line: number;
  sample: string;
  severity: string;
  confidence: string;
}

interface Scan {
  globalChecks: number;
  atomicChecks: number;
  errors: { file: string; message: string; tolerable: boolean }[];
  issues: Finding[];
}

const SCAN = `
const m = require('@doyensec/electronegativity/dist/runner.js');
const run = m.default ?? m;
run({ input: process.argv[1], isRelative: true, electronVersionOverride: process.argv[2], customScan: [], excludeFromScan: [] }, false)
  .then((r) => process.stdout.write('\\n@@SCAN@@' + JSON.stringify({
    globalChecks: r.globalChecks,
    atomicChecks: r.atomicChecks,
    errors: r.errors,
    issues: r.issues.map((i) => ({ id: i.id, file: i.file, line: i.location.line, sample: i.sample, severity: i.severity.name, confidence: i.confidence.name })),
  })));
`;

let scan: Scan;
let scannedFiles: number;

async function sourceFiles(dir: string): Promise<string[]> {
  const entries = await readdir(join(ROOT, dir), { withFileTypes: true, recursive: true });
  return entries
    .filter((e) => e.isFile() && /\.(ts|tsx|js|cjs|mjs|html)$/.test(e.name))
    .map((e) => relative(ROOT, join(e.parentPath, e.name)));
}

beforeAll(async () => {
  const copy = await tempDir('nbc-electronegativity-');
  for (const dir of SURFACE) await cp(join(ROOT, dir), join(copy, dir.split('/').pop()!), { recursive: true });
  scannedFiles = (await Promise.all(SURFACE.map(sourceFiles))).flat().length;
  const electron = JSON.parse(await readFile(join(ROOT, 'node_modules', 'electron', 'package.json'), 'utf8')) as {
    version: string;
  };
  const { stdout } = await run(
    process.execPath,
    ['--require', join(ROOT, 'test', 'mocks', 'no-network.cjs'), '-e', SCAN, copy, electron.version],
    { cwd: ROOT, env: { ...process.env, LANG: 'en-US' }, maxBuffer: 64 * 1024 * 1024 },
  );
  scan = JSON.parse(stdout.slice(stdout.indexOf('@@SCAN@@') + '@@SCAN@@'.length)) as Scan;
}, 300_000);

describe('electronegativity over main, preload and the page', () => {
  it('runs every check and parses every file', () => {
    expect(scan.globalChecks + scan.atomicChecks).toBeGreaterThanOrEqual(40);
    expect(scan.errors).toEqual([]);
  });

  it('finds nothing that is not switched off, with its reason, where it fires', () => {
    expect(scan.issues.map((i) => `${i.id} ${i.file}:${i.line} ${i.sample.trim()}`)).toEqual([]);
  });

  it('has a reason beside every finding switched off', async () => {
    const switches: string[] = [];
    const unexplained: string[] = [];
    for (const file of (await Promise.all(SURFACE.map(sourceFiles))).flat()) {
      const lines = (await readFile(join(ROOT, file), 'utf8')).split('\n');
      lines.forEach((line, index) => {
        for (const match of line.matchAll(/eng-disable[ \t]+([\w \t]+)/g)) {
          for (const id of match[1]!.trim().split(/[ \t]+/)) {
            switches.push(`${id} ${file}:${index + 1}`);
            const why = new RegExp(`${id}: \\S.{20,}`);
            if (!why.test(line) && !why.test(lines[index - 1] ?? '')) unexplained.push(`${id} ${file}:${index + 1}`);
          }
        }
      });
    }
    expect(unexplained).toEqual([]);
    await recordFigures(
      'electron-surface',
      [
        { what: 'electronegativity checks run', value: scan.globalChecks + scan.atomicChecks },
        { what: 'files of main, preload, shared code and the page scanned', value: scannedFiles },
        { what: 'findings left', value: scan.issues.length },
        { what: 'findings switched off where they fire, each with its reason', value: switches.join('; ') },
      ],
      [
        'electronegativity 1.10 is the last free release: checks added since (in its paid successor) are not run.',
        'The packaged app itself is not scanned (no Electron binary here to package it); its sources are.',
      ],
    );
  });
});
