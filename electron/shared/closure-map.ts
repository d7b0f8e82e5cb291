/**
 * What an image is made of, from facts already read (the registration of
 * the closure and the packed size of each path): the size map's groups,
 * why a path is there, and the biggest paths. Pure functions on data: the
 * CLI (`inspect`), main and the page (the size map) all use them.
 */

/** One store path of a closure: what `nix-store --dump-db` registered, and its squashfs size. */
export interface ClosureNode {
  path: string;
  /** Unpacked (the NAR size): what it takes in the machine's RAM once copied into /nix/store. */
  narSize: number;
  /** Its squashfs in the nix-store initrd: what it adds to the download; undefined when unknown. */
  packedBytes?: number | undefined;
  /** Store paths it refers to (a path may refer to itself). */
  references: string[];
}

/** A closure and where it came from: a toplevel, or a boot folder (then with the build's totals). */
export interface ClosureFacts {
  toplevel: string;
  nodes: ClosureNode[];
  /** The RAM a machine needs to boot the image (the record's), when known. */
  ramBytes?: number | undefined;
  /** What iPXE downloads: the kernel and the initrds, when known. */
  downloadBytes?: number | undefined;
  /** The boot folder's netboot.ipxe, when read from one. */
  script?: string | undefined;
}

const STORE = '/nix/store/';

/** `HASH-NAME` → `NAME`; anything else as it is. */
export function pathName(path: string): string {
  if (!path.startsWith(STORE)) return path;
  const base = path.slice(STORE.length).split('/')[0] ?? '';
  return /^[0-9a-z]{32}-/.test(base) ? base.slice(33) : base;
}

/**
 * A name split as Nix's `builtins.parseDrvName` does: the version starts at
 * the first dash followed by a digit (`app-1.0` → `app`, `1.0`).
 */
export function parseName(name: string): { pname: string; version: string } {
  const match = /-(?=\d)/.exec(name);
  if (!match) return { pname: name, version: '' };
  return { pname: name.slice(0, match.index), version: name.slice(match.index + 1) };
}

/** The size a path takes in the size map: packed if known, else its NAR size. */
export function mapSize(node: ClosureNode): number {
  return node.packedBytes ?? node.narSize;
}

/** The toplevel's direct references, itself and duplicates left out. */
export function directReferences(facts: ClosureFacts): string[] {
  const top = facts.nodes.find((n) => n.path === facts.toplevel);
  return [...new Set(top?.references ?? [])].filter((r) => r !== facts.toplevel);
}

function index(facts: ClosureFacts): Map<string, ClosureNode> {
  return new Map(facts.nodes.map((n) => [n.path, n]));
}

/** Every path reachable from `start` (included), self-references and missing paths ignored. */
function reachable(nodes: Map<string, ClosureNode>, start: string): Set<string> {
  const seen = new Set<string>([start]);
  const stack = [start];
  while (stack.length > 0) {
    for (const ref of nodes.get(stack.pop()!)?.references ?? []) {
      if (!seen.has(ref) && nodes.has(ref)) {
        seen.add(ref);
        stack.push(ref);
      }
    }
  }
  return seen;
}

/** One group of the size map's first ring. */
export interface ClosureGroup {
  /** The toplevel's direct reference that pulled these paths in; `shared`: several did; `toplevel`: itself. */
  kind: 'reference' | 'shared' | 'toplevel';
  /** The direct reference's path (kind reference), else the toplevel's. */
  path: string;
  /** What the map calls it: the reference's name, "shared by N", or the toplevel's name. */
  label: string;
  /** Its paths, biggest first (the direct reference itself among them). */
  nodes: ClosureNode[];
  narSize: number;
  packedBytes: number;
  /** Map size: packed where known, else NAR. */
  size: number;
}

/**
 * The closure grouped by what pulled each path in: each of the toplevel's
 * direct references owns the paths only it leads to; paths that two or more
 * lead to go into one "shared" group; the toplevel is a group of its own.
 * Every path is in exactly one group. Biggest group first.
 */
export function groupClosure(facts: ClosureFacts): ClosureGroup[] {
  const nodes = index(facts);
  const owners = new Map<string, string[]>();
  const direct = directReferences(facts).filter((r) => nodes.has(r));
  for (const ref of direct) {
    for (const path of reachable(nodes, ref)) {
      if (path === facts.toplevel) continue;
      const list = owners.get(path) ?? [];
      list.push(ref);
      owners.set(path, list);
    }
  }
  const groups = new Map<string, ClosureNode[]>();
  const put = (key: string, node: ClosureNode): void => {
    const list = groups.get(key) ?? [];
    list.push(node);
    groups.set(key, list);
  };
  for (const node of facts.nodes) {
    const own = owners.get(node.path);
    // A path owned by one reference goes to it; a direct reference always heads its own group.
    if (node.path === facts.toplevel || own === undefined) put('\0toplevel', node);
    else if (own.length === 1 || direct.includes(node.path)) put(own.length === 1 ? own[0]! : node.path, node);
    else put('\0shared', node);
  }
  const result: ClosureGroup[] = [];
  for (const [key, list] of groups) {
    list.sort((a, b) => mapSize(b) - mapSize(a) || a.path.localeCompare(b.path));
    const narSize = list.reduce((s, n) => s + n.narSize, 0);
    const packedBytes = list.reduce((s, n) => s + (n.packedBytes ?? 0), 0);
    const size = list.reduce((s, n) => s + mapSize(n), 0);
    const common = { nodes: list, narSize, packedBytes, size };
    if (key === '\0toplevel') {
      result.push({ kind: 'toplevel', path: facts.toplevel, label: pathName(facts.toplevel), ...common });
    } else if (key === '\0shared') {
      const by = new Set(list.flatMap((n) => owners.get(n.path) ?? []));
      result.push({ kind: 'shared', path: facts.toplevel, label: `shared by ${by.size}`, ...common });
    } else result.push({ kind: 'reference', path: key, label: pathName(key), ...common });
  }
  return result.sort((a, b) => b.size - a.size || a.label.localeCompare(b.label));
}

/**
 * Chains of references from the toplevel to `target`, as `nix why-depends`
 * shows one: each starts with the toplevel and ends with `target`. The
 * shortest come first; at most `limit`. Self-references are no step. Each
 * step goes from a path nearer the toplevel (fewer references away) to one
 * farther, so every chain found is simple, and every shortest one is found
 * first.
 */
export function whyChains(facts: ClosureFacts, target: string, limit = 5): string[][] {
  const nodes = index(facts);
  if (!nodes.has(target) || !nodes.has(facts.toplevel)) return [];
  // Distance from the toplevel, breadth first.
  const distance = new Map<string, number>([[facts.toplevel, 0]]);
  const queue = [facts.toplevel];
  for (let i = 0; i < queue.length; i++) {
    const at = queue[i]!;
    for (const ref of nodes.get(at)!.references) {
      if (!distance.has(ref) && nodes.has(ref)) {
        distance.set(ref, distance.get(at)! + 1);
        queue.push(ref);
      }
    }
  }
  if (!distance.has(target)) return [];
  if (target === facts.toplevel) return [[target]];
  const referrers = new Map<string, string[]>();
  for (const node of facts.nodes) {
    for (const ref of new Set(node.references)) {
      if (ref === node.path || !distance.has(node.path)) continue;
      const list = referrers.get(ref) ?? [];
      list.push(node.path);
      referrers.set(ref, list);
    }
  }
  const nearest = (list: string[]): string[] =>
    [...list].sort((a, b) => distance.get(a)! - distance.get(b)! || pathName(a).localeCompare(pathName(b)));
  const chains: string[][] = [];
  // Backwards from the target. First only to referrers nearer the toplevel
  // (every shortest chain is among these), then to any referrer not yet on
  // the chain (the longer ones). A closure has no cycles but self-references,
  // so both end; a step budget keeps a huge closure's many chains in bounds.
  let steps = 0;
  const walk = (at: string, tail: string[], nearerOnly: boolean): void => {
    if (chains.length >= limit * 8 || steps++ > 20_000) return;
    if (at === facts.toplevel) {
      chains.push([at, ...tail]);
      return;
    }
    const onChain = new Set(tail);
    const before = (referrers.get(at) ?? []).filter((r) =>
      nearerOnly ? distance.get(r)! < distance.get(at)! : !onChain.has(r),
    );
    for (const r of nearest(before)) walk(r, [at, ...tail], nearerOnly);
  };
  walk(target, [], true);
  steps = 0;
  walk(target, [], false);
  const unique = new Map(chains.map((c) => [c.join('\n'), c]));
  const label = (c: string[]): string => c.map(pathName).join('\n');
  return [...unique.values()].sort((a, b) => a.length - b.length || label(a).localeCompare(label(b))).slice(0, limit);
}

/**
 * The store paths `query` names: a whole path, `HASH-NAME`, the name
 * (`app-1.0`), the name without its version (`app`), else every path whose
 * name contains it. Biggest first.
 */
export function findPaths(facts: ClosureFacts, query: string): ClosureNode[] {
  const q = query.trim();
  const tiers: Array<(n: ClosureNode) => boolean> = [
    (n) => n.path === q || n.path.slice(STORE.length) === q,
    (n) => pathName(n.path) === q,
    (n) => parseName(pathName(n.path)).pname === q,
    (n) => pathName(n.path).toLowerCase().includes(q.toLowerCase()),
  ];
  for (const matches of tiers) {
    const found = facts.nodes.filter(matches);
    if (found.length > 0) return found.sort((a, b) => mapSize(b) - mapSize(a) || a.path.localeCompare(b.path));
  }
  return [];
}

/** The `count` biggest paths (by NAR size, what they take in RAM). */
export function biggestPaths(facts: ClosureFacts, count: number): ClosureNode[] {
  return [...facts.nodes].sort((a, b) => b.narSize - a.narSize || a.path.localeCompare(b.path)).slice(0, count);
}

/** Sums over the closure. */
export function closureTotals(facts: ClosureFacts): {
  paths: number;
  narSize: number;
  /** Sum of the known packed sizes; undefined when none is known. */
  packedBytes: number | undefined;
} {
  const known = facts.nodes.filter((n) => n.packedBytes !== undefined);
  return {
    paths: facts.nodes.length,
    narSize: facts.nodes.reduce((s, n) => s + n.narSize, 0),
    packedBytes: known.length === 0 ? undefined : known.reduce((s, n) => s + n.packedBytes!, 0),
  };
}

/** A path's share of the RAM the machine needs (0..1): its NAR size over the image's RAM, else over the closure's. */
export function ramShare(facts: ClosureFacts, node: ClosureNode): number {
  const whole = facts.ramBytes ?? closureTotals(facts).narSize;
  return whole > 0 ? node.narSize / whole : 0;
}
