/**
 * npm run bench: the pipeline on the demo system, timed against a baseline
 * run in the same process, on the same closure with the same compressor:
 * one mksquashfs of the whole closure (what NixOS's own netboot image does).
 *
 *   (a) full build, empty cache
 *   (b) rebuild, nothing changed
 *   (d) baseline: one mksquashfs of the whole closure
 *
 * Prints each median time, its ratio to (d) and the output sizes, and writes
 * the same as JSON to bench/results/.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { build } from '../electron/pipeline/build.ts';
import { queryClosure } from '../electron/pipeline/closure.ts';
import {
  DEFAULT_SQUASHFS_COMPRESSION,
  formatCompression,
  mksquashfsCompressionArgs,
} from '../electron/pipeline/compression.ts';
import { buildDemo } from '../electron/pipeline/demo.ts';
import { formatBytes } from '../electron/shared/progress.ts';

const run = promisify(execFile);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const compression = DEFAULT_SQUASHFS_COMPRESSION;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

async function timed(action: () => Promise<void>): Promise<number> {
  const started = performance.now();
  await action();
  return (performance.now() - started) / 1000;
}

const work = await mkdtemp(join(tmpdir(), 'nbc-bench-'));
try {
  const toplevel = await buildDemo(join(work, 'demo'));
  const closure = await queryClosure(toplevel);
  const source = { kind: 'toplevel' as const, path: toplevel };
  const full: number[] = [];
  const again: number[] = [];
  const baseline: number[] = [];
  let outBytes = 0;
  let baselineBytes = 0;

  for (let i = 0; i < RUNS; i++) {
    const cacheDir = join(work, `cache-${i}`);
    const outDir = join(work, `out-${i}`);
    full.push(
      await timed(() => build({ source, outDir, cacheDir, squashfsCompression: compression }).then(() => undefined)),
    );
    again.push(
      await timed(() => build({ source, outDir, cacheDir, squashfsCompression: compression }).then(() => undefined)),
    );
    outBytes = (await stat(join(outDir, 'nix-store'))).size;

    const image = join(work, `whole-${i}.sqsh`);
    baseline.push(
      await timed(async () => {
        await run('mksquashfs', [
          ...closure.paths.map((p) => p.path),
          image,
          '-noappend',
          '-quiet',
          '-no-progress',
          '-all-root',
          ...mksquashfsCompressionArgs(compression),
          '-processors',
          String(availableParallelism()),
        ]);
      }),
    );
    baselineBytes = (await stat(image)).size;
  }

  const d = median(baseline);
  const rows = [
    { case: '(a) full build, empty cache', seconds: median(full), bytes: outBytes },
    { case: '(b) rebuild, nothing changed', seconds: median(again), bytes: outBytes },
    { case: '(d) baseline: one mksquashfs of the closure', seconds: d, bytes: baselineBytes },
  ];
  const title = `demo system: ${closure.paths.length} paths, ${formatBytes(closure.totalBytes)}, ${formatCompression(compression)}, ${availableParallelism()} cores, median of ${RUNS}`;
  process.stdout.write(`${title}\n\n| case | time | ratio to (d) | store image |\n| --- | --- | --- | --- |\n`);
  for (const row of rows) {
    process.stdout.write(
      `| ${row.case} | ${row.seconds.toFixed(2)} s | ${(row.seconds / d).toFixed(2)} | ${formatBytes(row.bytes)} |\n`,
    );
  }
  const resultsDir = join(import.meta.dirname, 'results');
  await mkdir(resultsDir, { recursive: true });
  const file = join(resultsDir, `demo-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  await writeFile(
    file,
    `${JSON.stringify({ title, paths: closure.paths.length, narBytes: closure.totalBytes, rows }, null, 2)}\n`,
  );
  process.stdout.write(`\n${file}\n`);
} finally {
  await rm(work, { recursive: true, force: true });
}
