/**
 * What changed between two builds of the same system: store paths added,
 * removed, and changed (same name without its version, new hash), each with
 * its sizes; the totals a machine feels (RAM, download); and the iPXE
 * script's lines when the kernel line changed. Pure: the CLI's `build --diff`,
 * main and the page use it.
 */
import { parseName, pathName, type ClosureFacts } from './closure-map.ts';

/** What a build leaves for the next one to compare with (kept per system, see compose/history.ts). */
export interface BuildSnapshot {
  toplevel: string;
  /** ISO time of the build. */
  builtAt: string;
  paths: Array<{ path: string; narSize: number; packedBytes?: number | undefined }>;
  ramBytes: number;
  downloadBytes: number;
  script: string;
}

export interface DiffPath {
  path: string;
  name: string;
  narSize: number;
  packedBytes?: number | undefined;
}

export interface ChangedPath {
  /** The name without the version (`app`). */
  pname: string;
  before: DiffPath & { version: string };
  after: DiffPath & { version: string };
}

export interface ScriptLine {
  kind: 'same' | 'removed' | 'added';
  text: string;
}

export interface ClosureDiff {
  before: { toplevel: string; builtAt: string };
  after: { toplevel: string; builtAt: string };
  added: DiffPath[];
  removed: DiffPath[];
  changed: ChangedPath[];
  /** Paths in both. */
  unchanged: number;
  totals: {
    ramBefore: number;
    ramAfter: number;
    downloadBefore: number;
    downloadAfter: number;
    narBefore: number;
    narAfter: number;
    pathsBefore: number;
    pathsAfter: number;
  };
  /** The iPXE script, line by line, when its kernel line (init, parameters) changed; else undefined. */
  script?: ScriptLine[] | undefined;
}

/** The snapshot of a build read as facts (a boot folder's). */
export function snapshotOf(facts: ClosureFacts, builtAt: string): BuildSnapshot {
  return {
    toplevel: facts.toplevel,
    builtAt,
    paths: facts.nodes.map((n) => ({ path: n.path, narSize: n.narSize, packedBytes: n.packedBytes })),
    ramBytes: facts.ramBytes ?? 0,
    downloadBytes: facts.downloadBytes ?? 0,
    script: facts.script ?? '',
  };
}

function byName(a: DiffPath, b: DiffPath): number {
  return a.name.localeCompare(b.name) || a.path.localeCompare(b.path);
}

/** The line diff of two short texts (longest common subsequence of lines). */
export function lineDiff(before: string, after: string): ScriptLine[] {
  const a = before.split('\n');
  const b = after.split('\n');
  const common: number[][] = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) {
      common[i]![j] = a[i] === b[j] ? common[i + 1]![j + 1]! + 1 : Math.max(common[i + 1]![j]!, common[i]![j + 1]!);
    }
  }
  const lines: ScriptLine[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) {
      lines.push({ kind: 'same', text: a[i]! });
      i++;
      j++;
    } else if (i < a.length && (j === b.length || common[i + 1]![j]! >= common[i]![j + 1]!)) {
      lines.push({ kind: 'removed', text: a[i++]! });
    } else lines.push({ kind: 'added', text: b[j++]! });
  }
  return lines;
}

const kernelLine = (script: string): string | undefined => script.split('\n').find((l) => l.startsWith('kernel '));

/**
 * Compare two builds. Paths in one only are paired as "changed" when they
 * have the same name (a new hash), else the same name without its version
 * and one path of it on each side; the rest are added or removed.
 */
export function diffClosures(before: BuildSnapshot, after: BuildSnapshot): ClosureDiff {
  const toDiff = (p: BuildSnapshot['paths'][number]): DiffPath => ({
    path: p.path,
    name: pathName(p.path),
    narSize: p.narSize,
    packedBytes: p.packedBytes,
  });
  const inBefore = new Set(before.paths.map((p) => p.path));
  const inAfter = new Set(after.paths.map((p) => p.path));
  let removed = before.paths.filter((p) => !inAfter.has(p.path)).map(toDiff);
  let added = after.paths.filter((p) => !inBefore.has(p.path)).map(toDiff);
  const changed: ChangedPath[] = [];
  const pair = (key: (p: DiffPath) => string, onlyOne: boolean): void => {
    const olds = new Map<string, DiffPath[]>();
    for (const p of removed) olds.set(key(p), [...(olds.get(key(p)) ?? []), p]);
    const news = new Map<string, DiffPath[]>();
    for (const p of added) news.set(key(p), [...(news.get(key(p)) ?? []), p]);
    const gone = new Set<DiffPath>();
    for (const [k, list] of olds) {
      const next = news.get(k);
      if (!next || (onlyOne && (list.length !== 1 || next.length !== 1))) continue;
      const count = Math.min(list.length, next.length);
      for (let i = 0; i < count; i++) {
        const [o, n] = [list[i]!, next[i]!];
        const pname = parseName(o.name).pname;
        changed.push({
          pname,
          before: { ...o, version: parseName(o.name).version },
          after: { ...n, version: parseName(n.name).version },
        });
        gone.add(o).add(n);
      }
    }
    removed = removed.filter((p) => !gone.has(p));
    added = added.filter((p) => !gone.has(p));
  };
  pair((p) => p.name, false);
  pair((p) => parseName(p.name).pname, true);
  const sum = (s: BuildSnapshot): number => s.paths.reduce((t, p) => t + p.narSize, 0);
  const beforeLine = kernelLine(before.script);
  const afterLine = kernelLine(after.script);
  return {
    before: { toplevel: before.toplevel, builtAt: before.builtAt },
    after: { toplevel: after.toplevel, builtAt: after.builtAt },
    added: added.sort(byName),
    removed: removed.sort(byName),
    changed: changed.sort((a, b) => a.pname.localeCompare(b.pname) || a.after.path.localeCompare(b.after.path)),
    unchanged: after.paths.filter((p) => inBefore.has(p.path)).length,
    totals: {
      ramBefore: before.ramBytes,
      ramAfter: after.ramBytes,
      downloadBefore: before.downloadBytes,
      downloadAfter: after.downloadBytes,
      narBefore: sum(before),
      narAfter: sum(after),
      pathsBefore: before.paths.length,
      pathsAfter: after.paths.length,
    },
    script: beforeLine !== afterLine ? lineDiff(before.script, after.script) : undefined,
  };
}
