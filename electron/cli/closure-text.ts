/**
 * What `inspect` and `build --diff` print on a terminal: the closure's
 * biggest paths, its groups and totals, why-chains, and what changed since
 * the previous build. Pure: text from the facts and the diff.
 */
import type { ClosureDiff, DiffPath } from '../shared/closure-diff.ts';
import {
  biggestPaths,
  closureTotals,
  groupClosure,
  pathName,
  ramShare,
  whyChains,
  type ClosureFacts,
  type ClosureNode,
} from '../shared/closure-map.ts';
import { formatBytes } from '../shared/progress.ts';

const size = (bytes: number | undefined): string => (bytes === undefined ? '?' : formatBytes(bytes));
const signed = (bytes: number): string => `${bytes < 0 ? '-' : '+'}${formatBytes(Math.abs(bytes))}`;
const percent = (share: number): string => `${(share * 100).toFixed(share < 0.1 ? 1 : 0)}%`;

function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) =>
    r
      .map((cell, i) => (i === r.length - 1 ? cell : i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!)))
      .join('  ')
      .trimEnd(),
  );
}

/** The totals, the biggest paths and the first ring of the size map. */
export function closureText(facts: ClosureFacts, top: number): string {
  const totals = closureTotals(facts);
  const lines = [
    `${pathName(facts.toplevel)}: ${totals.paths} store paths, ${formatBytes(totals.narSize)} unpacked` +
      (totals.packedBytes === undefined ? '' : `, ${formatBytes(totals.packedBytes)} packed`),
  ];
  if (facts.ramBytes !== undefined) lines.push(`RAM a machine needs to boot it: ${formatBytes(facts.ramBytes)}`);
  if (facts.downloadBytes !== undefined)
    lines.push(`Download (kernel and initrds): ${formatBytes(facts.downloadBytes)}`);
  lines.push('', `The ${Math.min(top, totals.paths)} biggest store paths:`);
  const row = (n: ClosureNode): string[] => [
    pathName(n.path),
    size(n.narSize),
    size(n.packedBytes),
    percent(ramShare(facts, n)),
    n.path,
  ];
  lines.push(
    ...table([['name', 'unpacked', 'packed', 'of RAM', 'path'], ...biggestPaths(facts, top).map(row)]).map(
      (l) => `  ${l}`,
    ),
  );
  lines.push('', 'By what pulled them in (the toplevel’s direct references):');
  lines.push(
    ...table([
      ['group', 'paths', 'unpacked', 'packed'],
      ...groupClosure(facts).map((g) => [
        g.label,
        String(g.nodes.length),
        size(g.narSize),
        totals.packedBytes === undefined ? '?' : size(g.packedBytes),
      ]),
    ]).map((l) => `  ${l}`),
  );
  return `${lines.join('\n')}\n`;
}

/** Why each of `targets` is in the closure, as `nix why-depends` would show it, shortest chain first. */
export function whyText(facts: ClosureFacts, targets: ClosureNode[], limit: number): string {
  const lines: string[] = [];
  for (const target of targets) {
    lines.push('', `Why ${target.path} (${size(target.narSize)}) is there:`);
    for (const chain of whyChains(facts, target.path, limit)) {
      chain.forEach((path, i) => lines.push(`${'  '.repeat(i + 1)}${i === 0 ? '' : '→ '}${pathName(path)}`));
    }
  }
  return `${lines.join('\n')}\n`;
}

const pathRow = (mark: string, p: DiffPath): string[] => [
  `${mark} ${p.name}`,
  size(p.narSize),
  size(p.packedBytes),
  p.path,
];

/** What changed since the previous build of the same system. */
export function diffText(diff: ClosureDiff): string {
  const t = diff.totals;
  const lines = [
    `Compared with the previous build of this system (${diff.before.builtAt}, ${diff.before.toplevel}):`,
    `  ${diff.added.length} added, ${diff.removed.length} removed, ${diff.changed.length} changed, ${diff.unchanged} unchanged`,
    `  RAM needed: ${formatBytes(t.ramBefore)} → ${formatBytes(t.ramAfter)} (${signed(t.ramAfter - t.ramBefore)})`,
    `  Download:   ${formatBytes(t.downloadBefore)} → ${formatBytes(t.downloadAfter)} (${signed(t.downloadAfter - t.downloadBefore)})`,
    `  Store:      ${formatBytes(t.narBefore)} → ${formatBytes(t.narAfter)} unpacked, ${t.pathsBefore} → ${t.pathsAfter} paths`,
  ];
  const rows: string[][] = [
    ...diff.added.map((p) => pathRow('+', p)),
    ...diff.removed.map((p) => pathRow('-', p)),
    ...diff.changed.map((c) => [
      `~ ${c.pname} ${c.before.version || '(no version)'}${c.before.version === c.after.version ? ' (new hash)' : ` → ${c.after.version}`}`,
      `${size(c.before.narSize)} → ${size(c.after.narSize)}`,
      `${size(c.before.packedBytes)} → ${size(c.after.packedBytes)}`,
      c.after.path,
    ]),
  ];
  if (rows.length > 0) {
    lines.push('', ...table([['  path', 'unpacked', 'packed', 'store path'], ...rows]).map((l) => `  ${l}`));
  }
  if (diff.script) {
    lines.push('', '  netboot.ipxe (the kernel line changed):');
    for (const line of diff.script) {
      if (line.kind !== 'same' || line.text.startsWith('kernel ')) {
        lines.push(`  ${line.kind === 'added' ? '+' : line.kind === 'removed' ? '-' : ' '} ${line.text}`);
      }
    }
  }
  return `${lines.join('\n')}\n`;
}
