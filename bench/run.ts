/**
 * npm run bench: the pipeline on a realistic closure (bench/closure.ts:
 * ~260 store paths, ~690 MiB, made once with Nix from installed Debian
 * packages, plus the demo system), timed against baselines run in the same
 * process on the same closure with the same compressor:
 *
 *   (a) our full build, empty cache
 *   (b) our rebuild, nothing changed
 *   (c) our rebuild after one store path changed (a new toplevel and one new leaf)
 *   (d) baseline 1: one mksquashfs of the whole closure (NixOS's netboot image)
 *   (e) baseline 2: netboot.nix's way, one squashfs per path one after
 *       another, each in its own gzip'd cpio
 *
 * Each case runs in its own process under GNU time, for the peak memory of
 * the largest process and the CPU it used; /proc/stat says how busy the
 * machine was with anything else meanwhile. Then (a) and (d) once per
 * compressor, for the time/size trade. Prints Markdown tables and writes the
 * same as JSON to bench/results/.
 *
 *   npm run bench [-- --runs N] [--compressors zstd:6,xz,...] [--main zstd:6]
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { queryClosure } from '../electron/pipeline/compose/closure.ts';
import { mksquashfsCompressionArgs, parseSquashfsCompression } from '../electron/pipeline/compose/compression.ts';
import { toolVersion } from '../electron/pipeline/base/tools.ts';
import { formatBytes } from '../electron/shared/progress.ts';
import { benchClosure } from './closure.ts';
import {
  compressorTable,
  mainTable,
  median,
  parseProcStat,
  parseTimeOutput,
  type CaseResult,
  type CompressorResult,
  type Usage,
} from './report.ts';

const run = promisify(execFile);
const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: process.env.BENCH_RUNS ?? '3' },
    main: { type: 'string', default: 'zstd:6' },
    compressors: { type: 'string', default: 'gzip,zstd:1,zstd:6,zstd:15,xz,lz4' },
  },
});
const RUNS = Math.max(1, Number(values.runs));
const MAIN = values.main;
const COMPRESSORS = values.compressors.split(',').filter(Boolean);
const CORES = availableParallelism();
const CASE = join(import.meta.dirname, 'case.ts');
/** USER_HZ: /proc/stat counts in hundredths of a second on Linux. */
const HZ = 100;

const log = (line: string): void => {
  process.stderr.write(`${line}\n`);
};

interface Measured extends Usage {
  seconds: number;
  bytes: number;
  otherLoad: number;
}

async function cpuJiffies(): Promise<{ busy: number; total: number }> {
  return parseProcStat(await readFile('/proc/stat', 'utf8'));
}

/** Run `file args` under GNU time; `result` says the case's own time and output size. */
async function measure(
  file: string,
  args: string[],
  result: (stdout: string, usage: Usage) => Promise<{ seconds: number; bytes: number }>,
): Promise<Measured> {
  const timeFile = join(work, `time-${Date.now()}`);
  const before = await cpuJiffies();
  const { stdout } = await run('/usr/bin/time', ['-f', '%e %U %S %M', '-o', timeFile, file, ...args], {
    maxBuffer: 64 * 1024 * 1024,
  });
  const after = await cpuJiffies();
  const usage = parseTimeOutput(await readFile(timeFile, 'utf8'));
  const busySeconds = (after.busy - before.busy) / HZ;
  const otherLoad = Math.max(0, busySeconds - usage.cpuSeconds) / Math.max(usage.wallSeconds, 0.01);
  return { ...usage, ...(await result(stdout, usage)), otherLoad };
}

const fromCase = async (stdout: string) =>
  JSON.parse(stdout.trim().split('\n').pop()!) as { seconds: number; bytes: number };

function ourBuild(toplevel: string, outDir: string, cacheDir: string, compression: string): Promise<Measured> {
  return measure(
    process.execPath,
    [CASE, 'build', JSON.stringify({ toplevel, outDir, cacheDir, compression })],
    fromCase,
  );
}

function oneMksquashfs(paths: readonly string[], image: string, compression: string): Promise<Measured> {
  return measure(
    'mksquashfs',
    [
      ...paths,
      image,
      '-noappend',
      '-quiet',
      '-no-progress',
      '-keep-as-directory',
      '-all-root',
      '-no-xattrs',
      ...mksquashfsCompressionArgs(parseSquashfsCompression(compression)),
      '-processors',
      String(CORES),
    ],
    async (_stdout, usage) => ({ seconds: usage.wallSeconds, bytes: (await stat(image)).size }),
  );
}

function netbootNixWay(toplevel: string, workDir: string, compression: string): Promise<Measured> {
  return measure(process.execPath, [CASE, 'netboot-nix', JSON.stringify({ toplevel, workDir, compression })], fromCase);
}

function summarize(id: string, label: string, runs: Measured[]): CaseResult {
  const seconds = median(runs.map((r) => r.seconds));
  const middle = runs.find((r) => r.seconds === seconds)!;
  return {
    id,
    label,
    seconds,
    runs: runs.map((r) => Number(r.seconds.toFixed(3))),
    bytes: middle.bytes,
    peakBytes: Math.max(...runs.map((r) => r.peakBytes)),
    coresUsed: middle.cpuSeconds / Math.max(middle.wallSeconds, 0.01),
    otherLoad: middle.otherLoad,
  };
}

const work = await mkdtemp(join(tmpdir(), 'nbc-bench-'));
try {
  const closure = await benchClosure(log);
  const [toplevel, changed] = closure.toplevels;
  const info = await queryClosure(toplevel);
  const paths = info.paths.map((p) => p.path);
  const loadBefore = loadavg();
  const title = `${paths.length} store paths, ${formatBytes(info.totalBytes)} (NAR), ${CORES} cores, mksquashfs ${await toolVersion('mksquashfs')}`;
  log(`Benchmark: ${title}; ${MAIN}, ${RUNS} runs, then ${COMPRESSORS.join(', ')}`);

  const runs: Record<'a' | 'b' | 'c' | 'd' | 'e', Measured[]> = { a: [], b: [], c: [], d: [], e: [] };
  for (let i = 0; i < RUNS; i++) {
    const dir = join(work, `run-${i}`);
    const cacheDir = join(dir, 'cache');
    const outDir = join(dir, 'out');
    log(`run ${i + 1}/${RUNS}: (a) full build`);
    runs.a.push(await ourBuild(toplevel, outDir, cacheDir, MAIN));
    log(`run ${i + 1}/${RUNS}: (b) rebuild, nothing changed`);
    runs.b.push(await ourBuild(toplevel, outDir, cacheDir, MAIN));
    log(`run ${i + 1}/${RUNS}: (c) rebuild, one path changed`);
    runs.c.push(await ourBuild(changed, outDir, cacheDir, MAIN));
    log(`run ${i + 1}/${RUNS}: (d) one mksquashfs of the closure`);
    runs.d.push(await oneMksquashfs(paths, join(dir, 'whole.sqsh'), MAIN));
    log(`run ${i + 1}/${RUNS}: (e) netboot.nix's way`);
    runs.e.push(await netbootNixWay(toplevel, join(dir, 'netboot-nix'), MAIN));
    await rm(dir, { recursive: true, force: true });
  }
  const cases = [
    summarize('a', '(a) full build, empty cache', runs.a),
    summarize('b', '(b) rebuild, nothing changed', runs.b),
    summarize('c', '(c) rebuild, one path changed', runs.c),
    summarize('d', '(d) baseline 1: one mksquashfs of the closure', runs.d),
    summarize('e', "(e) baseline 2: netboot.nix's way (sequential, gzip'd cpio each)", runs.e),
  ];

  const compressors: CompressorResult[] = [];
  for (const compression of COMPRESSORS) {
    if (compression === MAIN) {
      const [a, d] = [cases[0]!, cases[3]!];
      compressors.push({
        compression,
        ours: { seconds: a.seconds, bytes: a.bytes, peakBytes: a.peakBytes },
        baseline: { seconds: d.seconds, bytes: d.bytes, peakBytes: d.peakBytes },
      });
      continue;
    }
    const dir = join(work, `compressor-${compression.replace(':', '-')}`);
    log(`${compression}: (a) full build`);
    const ours = await ourBuild(toplevel, join(dir, 'out'), join(dir, 'cache'), compression);
    log(`${compression}: (d) one mksquashfs`);
    const baseline = await oneMksquashfs(paths, join(dir, 'whole.sqsh'), compression);
    await rm(dir, { recursive: true, force: true });
    compressors.push({
      compression,
      ours: { seconds: ours.seconds, bytes: ours.bytes, peakBytes: ours.peakBytes },
      baseline: { seconds: baseline.seconds, bytes: baseline.bytes, peakBytes: baseline.peakBytes },
    });
  }
  const loadAfter = loadavg();

  const heading = `${title}; ${MAIN}, median of ${RUNS}; load average ${loadBefore[0]!.toFixed(2)} before, ${loadAfter[0]!.toFixed(2)} after`;
  process.stdout.write(`${heading}\n\n${mainTable(cases, 'd', CORES)}\n\n`);
  process.stdout.write(`Per compressor (one run each):\n\n${compressorTable(compressors, info.totalBytes)}\n\n`);
  const resultsDir = join(import.meta.dirname, 'results');
  await mkdir(resultsDir, { recursive: true });
  const file = join(resultsDir, `bench-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  await writeFile(
    file,
    `${JSON.stringify(
      {
        title,
        at: new Date().toISOString(),
        cores: CORES,
        loadAverage: { before: loadBefore, after: loadAfter },
        closure: { toplevels: closure.toplevels, paths: paths.length, narBytes: info.totalBytes },
        main: MAIN,
        runs: RUNS,
        cases,
        compressors,
      },
      null,
      2,
    )}\n`,
  );
  process.stdout.write(`${file}\n`);
} finally {
  await rm(work, { recursive: true, force: true });
}
