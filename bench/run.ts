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
 *   (f) the re-export after (c) to a folder, a TFTP folder and a USB image
 *       (each exported once after (b), untimed), with the bytes copied
 *
 * on two closures: the Debian one and a server-shaped one (bench/server-closure.ts:
 * ~1,500 paths, ~2 GiB), then how each case grows from the first to the second.
 * Each case runs in its own process under GNU time, for the peak memory of
 * the largest process and the CPU it used; /proc/stat says how busy the
 * machine was with anything else meanwhile. Then (a) and (d) once per
 * compressor, for the time/size trade. Prints Markdown tables and writes the
 * same as JSON to bench/results/.
 *
 *   npm run bench [-- --runs N] [--compressors zstd:6,xz,...] [--server-compressors zstd:6,gzip]
 *                 [--main zstd:6] [--closures debian,server]
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
import { benchClosure, type BenchClosure } from './closure.ts';
import { serverClosure } from './server-closure.ts';
import {
  compressorTable,
  growthTable,
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
    /** The compressors of the server-shaped closure's table: a few, it is three times the size. */
    'server-compressors': { type: 'string', default: 'zstd:6,gzip' },
    /** Which closures: debian (~260 paths), server (~1,500 paths, ~2 GiB). */
    closures: { type: 'string', default: 'debian,server' },
  },
});
const RUNS = Math.max(1, Number(values.runs));
const MAIN = values.main;
const COMPRESSORS = values.compressors.split(',').filter(Boolean);
const SERVER_COMPRESSORS = values['server-compressors'].split(',').filter(Boolean);
const CLOSURES = values.closures.split(',').filter(Boolean);
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
  /** Bytes written (our builds: boot-folder files not kept; exports: bytes copied). */
  written?: number;
  otherLoad: number;
}

async function cpuJiffies(): Promise<{ busy: number; total: number }> {
  return parseProcStat(await readFile('/proc/stat', 'utf8'));
}

/** Run `file args` under GNU time; `result` says the case's own time and output size. */
async function measure(
  file: string,
  args: string[],
  result: (stdout: string, usage: Usage) => Promise<{ seconds: number; bytes: number; written?: number }>,
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
  JSON.parse(stdout.trim().split('\n').pop()!) as { seconds: number; bytes: number; written: number };

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

function ourExport(from: string, to: string, kind: 'folder' | 'tftp' | 'usb-image'): Promise<Measured> {
  return measure(process.execPath, [CASE, 'export', JSON.stringify({ from, to, kind })], fromCase);
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
    ...(middle.written === undefined ? {} : { written: middle.written }),
    peakBytes: Math.max(...runs.map((r) => r.peakBytes)),
    coresUsed: middle.cpuSeconds / Math.max(middle.wallSeconds, 0.01),
    otherLoad: middle.otherLoad,
  };
}

const EXPORTS = [
  ['f1', 'folder', '(f) re-export after (c): folder'],
  ['f2', 'tftp', '(f) re-export after (c): TFTP folder'],
  ['f3', 'usb-image', '(f) re-export after (c): USB image'],
] as const;

interface ClosureResult {
  name: string;
  title: string;
  paths: number;
  narBytes: number;
  toplevels: [string, string];
  cases: CaseResult[];
  compressors: CompressorResult[];
}

/** Every case on one closure: (a)-(f) RUNS times, then (a) and (d) per compressor. */
async function benchOn(name: string, closure: BenchClosure, compressorList: readonly string[]): Promise<ClosureResult> {
  const [toplevel, changed] = closure.toplevels;
  const info = await queryClosure(toplevel);
  const paths = info.paths.map((p) => p.path);
  const title = `${name}: ${paths.length} store paths, ${formatBytes(info.totalBytes)} (NAR)`;
  log(`Benchmark ${title}; ${MAIN}, ${RUNS} runs, then ${compressorList.join(', ')}`);
  const runs: Record<string, Measured[]> = {};
  const add = (id: string, measured: Measured): void => {
    (runs[id] ??= []).push(measured);
  };
  for (let i = 0; i < RUNS; i++) {
    const dir = join(work, `${name}-run-${i}`);
    const cacheDir = join(dir, 'cache');
    const outDir = join(dir, 'out');
    log(`${name} run ${i + 1}/${RUNS}: (a) full build`);
    add('a', await ourBuild(toplevel, outDir, cacheDir, MAIN));
    log(`${name} run ${i + 1}/${RUNS}: (b) rebuild, nothing changed`);
    add('b', await ourBuild(toplevel, outDir, cacheDir, MAIN));
    // The exports of the build before (c), made as the user made them (not timed).
    for (const [, kind] of EXPORTS) await ourExport(outDir, join(dir, `export-${kind}`), kind);
    log(`${name} run ${i + 1}/${RUNS}: (c) rebuild, one path changed`);
    add('c', await ourBuild(changed, outDir, cacheDir, MAIN));
    for (const [id, kind] of EXPORTS) {
      log(`${name} run ${i + 1}/${RUNS}: (f) re-export to ${kind}`);
      add(id, await ourExport(outDir, join(dir, `export-${kind}`), kind));
    }
    log(`${name} run ${i + 1}/${RUNS}: (d) one mksquashfs of the closure`);
    add('d', await oneMksquashfs(paths, join(dir, 'whole.sqsh'), MAIN));
    log(`${name} run ${i + 1}/${RUNS}: (e) netboot.nix's way`);
    add('e', await netbootNixWay(toplevel, join(dir, 'netboot-nix'), MAIN));
    await rm(dir, { recursive: true, force: true });
  }
  const cases = [
    summarize('a', '(a) full build, empty cache', runs.a!),
    summarize('b', '(b) rebuild, nothing changed', runs.b!),
    summarize('c', '(c) rebuild, one path changed', runs.c!),
    summarize('d', '(d) baseline 1: one mksquashfs of the closure', runs.d!),
    summarize('e', "(e) baseline 2: netboot.nix's way (sequential, gzip'd cpio each)", runs.e!),
    ...EXPORTS.map(([id, , label]) => summarize(id, label, runs[id]!)),
  ];

  const compressors: CompressorResult[] = [];
  for (const compression of compressorList) {
    if (compression === MAIN) {
      const [a, d] = [cases[0]!, cases[3]!];
      compressors.push({
        compression,
        ours: { seconds: a.seconds, bytes: a.bytes, peakBytes: a.peakBytes },
        baseline: { seconds: d.seconds, bytes: d.bytes, peakBytes: d.peakBytes },
      });
      continue;
    }
    const dir = join(work, `${name}-compressor-${compression.replace(':', '-')}`);
    log(`${name} ${compression}: (a) full build`);
    const ours = await ourBuild(toplevel, join(dir, 'out'), join(dir, 'cache'), compression);
    log(`${name} ${compression}: (d) one mksquashfs`);
    const baseline = await oneMksquashfs(paths, join(dir, 'whole.sqsh'), compression);
    await rm(dir, { recursive: true, force: true });
    compressors.push({
      compression,
      ours: { seconds: ours.seconds, bytes: ours.bytes, peakBytes: ours.peakBytes },
      baseline: { seconds: baseline.seconds, bytes: baseline.bytes, peakBytes: baseline.peakBytes },
    });
  }
  return {
    name,
    title,
    paths: paths.length,
    narBytes: info.totalBytes,
    toplevels: closure.toplevels,
    cases,
    compressors,
  };
}

const work = await mkdtemp(join(tmpdir(), 'nbc-bench-'));
try {
  const loadBefore = loadavg();
  const machine = `${CORES} cores, mksquashfs ${await toolVersion('mksquashfs')}`;
  const results: ClosureResult[] = [];
  if (CLOSURES.includes('debian')) results.push(await benchOn('debian', await benchClosure(log), COMPRESSORS));
  if (CLOSURES.includes('server')) results.push(await benchOn('server', await serverClosure(log), SERVER_COMPRESSORS));
  const loadAfter = loadavg();

  process.stdout.write(
    `${machine}; ${MAIN}, median of ${RUNS}; load average ${loadBefore[0]!.toFixed(2)} before, ${loadAfter[0]!.toFixed(2)} after\n\n`,
  );
  for (const result of results) {
    process.stdout.write(`${result.title}\n\n${mainTable(result.cases, 'd', CORES)}\n\n`);
    process.stdout.write(
      `Per compressor (one run each):\n\n${compressorTable(result.compressors, result.narBytes)}\n\n`,
    );
  }
  if (results.length === 2) {
    const [small, big] = results as [ClosureResult, ClosureResult];
    process.stdout.write(`From ${small.name} to ${big.name}:\n\n${growthTable(small, big)}\n\n`);
  }
  const resultsDir = join(import.meta.dirname, 'results');
  await mkdir(resultsDir, { recursive: true });
  const file = join(resultsDir, `bench-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  await writeFile(
    file,
    `${JSON.stringify(
      {
        machine,
        at: new Date().toISOString(),
        cores: CORES,
        loadAverage: { before: loadBefore, after: loadAfter },
        main: MAIN,
        runs: RUNS,
        closures: results,
      },
      null,
      2,
    )}\n`,
  );
  process.stdout.write(`${file}\n`);
} finally {
  await rm(work, { recursive: true, force: true });
}
