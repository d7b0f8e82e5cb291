/**
 * The benchmark's arithmetic and tables, apart from the runs themselves:
 * pure, and tested in test/unit/bench.test.ts.
 */
import { formatBytes } from '../electron/shared/progress.ts';

/** The middle value (the lower middle for an even count). */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error('median of nothing');
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)]!;
}

/** What GNU time reports with `-f '%e %U %S %M'`: wall, user and system seconds, peak RSS in KiB. */
export interface Usage {
  wallSeconds: number;
  cpuSeconds: number;
  /** Resident memory of the largest single process of the tree (wait4 keeps the largest descendant's). */
  peakBytes: number;
}

/** Parse GNU time's `%e %U %S %M` line (the last line: the command's own stderr may come first). */
export function parseTimeOutput(text: string): Usage {
  const line = text.trim().split('\n').pop() ?? '';
  const fields = line.trim().split(/\s+/).map(Number);
  if (fields.length !== 4 || fields.some((f) => !Number.isFinite(f))) {
    throw new Error(`GNU time printed "${line}", not "%e %U %S %M"`);
  }
  const [wall, user, system, kib] = fields as [number, number, number, number];
  return { wallSeconds: wall, cpuSeconds: user + system, peakBytes: kib * 1024 };
}

/** The busy and total jiffies of all cores, from /proc/stat's first line. */
export function parseProcStat(text: string): { busy: number; total: number } {
  const fields = (text.split('\n')[0] ?? '').trim().split(/\s+/).slice(1).map(Number);
  const total = fields.reduce((sum, f) => sum + f, 0);
  // idle and iowait are the 4th and 5th.
  const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
  return { busy: total - idle, total };
}

export interface CaseResult {
  id: string;
  label: string;
  /** Median time of the work itself (for our builds: the build() call, without Node's start). */
  seconds: number;
  runs: number[];
  /** The output the case produces: the store initrds, the baseline's image(s), or the bytes an export copied. */
  bytes: number;
  /** Bytes written: our builds' boot-folder files not kept as they were, an export's copies. */
  written?: number;
  /** Peak RSS of the largest process, over the runs. */
  peakBytes: number;
  /** Cores busy with this case's processes, on average over its wall time (median run). */
  coresUsed: number;
  /** Cores busy with anything else meanwhile (another workload on the machine). */
  otherLoad: number;
}

export function ratio(seconds: number, baseline: number): string {
  return baseline > 0 ? (seconds / baseline).toFixed(2) : '-';
}

function pad(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(rows[0]!), line(widths.map((w) => '-'.repeat(w))), ...rows.slice(1).map(line)].join('\n');
}

/** The main table, in Markdown (the README carries it as printed). */
export function mainTable(cases: readonly CaseResult[], baselineId: string, cores: number): string {
  const base = cases.find((c) => c.id === baselineId)?.seconds ?? 0;
  return pad([
    [
      'case',
      'time',
      'ratio to (d)',
      'output',
      'written',
      'peak RSS (largest process)',
      `cores busy (of ${cores})`,
      'other load',
    ],
    ...cases.map((c) => [
      c.label,
      `${c.seconds.toFixed(2)} s`,
      ratio(c.seconds, base),
      formatBytes(c.bytes),
      c.written === undefined ? '-' : formatBytes(c.written),
      formatBytes(c.peakBytes),
      c.coresUsed.toFixed(2),
      c.otherLoad.toFixed(2),
    ]),
  ]);
}

export interface CompressorResult {
  compression: string;
  ours: { seconds: number; bytes: number; peakBytes: number };
  baseline: { seconds: number; bytes: number; peakBytes: number };
}

/** One line per compressor: our full build against one mksquashfs of the closure, time and size. */
export function compressorTable(rows: readonly CompressorResult[], narBytes: number): string {
  return pad([
    ['compressor', '(a) full build', '(d) one mksquashfs', '(a)/(d)', '(a) size', '(d) size', 'size (a)/(d)', 'of NAR'],
    ...rows.map((r) => [
      r.compression,
      `${r.ours.seconds.toFixed(2)} s`,
      `${r.baseline.seconds.toFixed(2)} s`,
      ratio(r.ours.seconds, r.baseline.seconds),
      formatBytes(r.ours.bytes),
      formatBytes(r.baseline.bytes),
      (r.ours.bytes / r.baseline.bytes).toFixed(3),
      `${((100 * r.ours.bytes) / narBytes).toFixed(0)}%`,
    ]),
  ]);
}

/** How each case grows from one closure to a bigger one: time and bytes written, side by side. */
export function growthTable(
  small: { name: string; paths: number; narBytes: number; cases: readonly CaseResult[] },
  big: { name: string; paths: number; narBytes: number; cases: readonly CaseResult[] },
): string {
  const times = (c: CaseResult | undefined): string => (c ? `${c.seconds.toFixed(2)} s` : '-');
  const written = (c: CaseResult | undefined): string => (c?.written === undefined ? '-' : formatBytes(c.written));
  return pad([
    ['case', small.name, big.name, 'growth', `written (${small.name})`, `written (${big.name})`],
    [
      'the closure',
      `${small.paths} paths, ${formatBytes(small.narBytes)}`,
      `${big.paths} paths, ${formatBytes(big.narBytes)}`,
      `${(big.paths / small.paths).toFixed(1)}× paths, ${(big.narBytes / small.narBytes).toFixed(1)}× NAR`,
      '-',
      '-',
    ],
    ...small.cases.map((c) => {
      const other = big.cases.find((b) => b.id === c.id);
      return [
        c.label,
        times(c),
        times(other),
        other && c.seconds > 0 ? `${(other.seconds / c.seconds).toFixed(2)}×` : '-',
        written(c),
        written(other),
      ];
    }),
  ]);
}
