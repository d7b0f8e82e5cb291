/**
 * The size map of the Result step: a treemap of the closure by packed size
 * (what each path adds to the download), grouped by the toplevel's direct
 * reference that pulled each path in. d3-hierarchy does the layout math
 * only; the SVG is React's, with attributes and classes and no inline
 * styles (the page's CSP allows none). Keyboard: the map is one tab stop;
 * the arrow keys, Home and End move between tiles, Enter or Space selects
 * one (its why-chains show below), Escape clears the selection.
 */
import { hierarchy, treemap, treemapSquarify, type HierarchyRectangularNode } from 'd3-hierarchy';
import { useEffect, useMemo, useState, type KeyboardEvent } from 'react';
import {
  closureTotals,
  groupClosure,
  mapSize,
  pathName,
  ramShare,
  type ClosureFacts,
  type ClosureNode,
} from '../../electron/shared/closure-map.ts';
import { formatBytes } from '../../electron/shared/progress.ts';
import { useApp } from '../context.tsx';
import { WhyChain } from './WhyChain.tsx';
import '../closure.css';

const WIDTH = 960;
const HEIGHT = 300;
const GROUP_LABEL = 18;
/** Colours of the groups, from style.css (--map-0 to --map-7, per theme). */
const COLOURS = 8;

interface Datum {
  name: string;
  node?: ClosureNode;
  group?: number;
  children?: Datum[];
}

interface Tile {
  node: ClosureNode;
  group: number;
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

interface GroupBox {
  label: string;
  index: number;
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

/** The layout: one rectangle per group and per store path, in viewBox units. Tiles in reading order. */
export function layoutMap(facts: ClosureFacts): { tiles: Tile[]; groups: GroupBox[] } {
  const groups = groupClosure(facts);
  const root = hierarchy<Datum>({
    name: 'closure',
    children: groups.map((g, index) => ({
      name: g.label,
      group: index,
      children: g.nodes.map((node) => ({ name: pathName(node.path), node, group: index })),
    })),
  })
    // Never zero: an empty path still gets a sliver it can be focused on.
    .sum((d) => (d.node ? Math.max(mapSize(d.node), 1) : 0))
    .sort((a, b) => (b.value ?? 0) - (a.value ?? 0));
  const laid = treemap<Datum>()
    .tile(treemapSquarify)
    .size([WIDTH, HEIGHT])
    .paddingOuter(2)
    .paddingTop((d) => (d.depth === 1 ? GROUP_LABEL : 2))
    .paddingInner(2)
    .round(true)(root);
  const box = (d: HierarchyRectangularNode<Datum>) => ({ x0: d.x0, y0: d.y0, x1: d.x1, y1: d.y1 });
  return {
    groups: (laid.children ?? []).map((d) => ({ label: d.data.name, index: d.data.group ?? 0, ...box(d) })),
    tiles: laid
      .leaves()
      .filter((d) => d.data.node !== undefined)
      .map((d) => ({ node: d.data.node!, group: d.data.group ?? 0, ...box(d) })),
  };
}

/** As many characters of `text` as fit in `width` viewBox units at the map's font size. */
function fit(text: string, width: number): string | undefined {
  const chars = Math.floor((width - 8) / 7);
  if (chars < 3) return undefined;
  return text.length <= chars ? text : `${text.slice(0, chars - 1)}…`;
}

export function SizeMap() {
  const outcome = useApp((s) => s.outcome);
  const closure = useApp((s) => s.closure);
  const loadClosure = useApp((s) => s.loadClosure);
  useEffect(() => {
    void loadClosure();
  }, [outcome, loadClosure]);

  return (
    <div className="card map-card">
      <div className="card-title-row">
        <h3 id="map-title">What the image is made of</h3>
      </div>
      {closure?.status === 'ready' && closure.report ? (
        <MapBody facts={closure.report.facts} />
      ) : closure?.status === 'failed' ? (
        <p className="muted">The size map could not be read: {closure.error?.message}</p>
      ) : (
        <p className="muted">Reading the closure…</p>
      )}
    </div>
  );
}

/**
 * The Build step's map, once the closure is known: from Nix while the build
 * packs (unpacked sizes), from the boot folder once it is done (packed ones).
 */
export function BuildSizeMap() {
  const summary = useApp((s) => s.summary);
  const buildClosure = useApp((s) => s.buildClosure);
  const loadBuildClosure = useApp((s) => s.loadBuildClosure);
  const outcome = useApp((s) => s.outcome);
  const closure = useApp((s) => s.closure);
  const buildStatus = useApp((s) => s.buildStatus);
  const loadClosure = useApp((s) => s.loadClosure);
  useEffect(() => {
    void loadBuildClosure();
  }, [summary, loadBuildClosure]);
  useEffect(() => {
    if (buildStatus === 'done') void loadClosure();
  }, [buildStatus, outcome, loadClosure]);
  const built = buildStatus === 'done' && closure?.status === 'ready' && closure.forOutcome === outcome;
  const facts = built ? closure.report?.facts : buildClosure?.facts;
  return (
    <div className="card map-card">
      <div className="card-title-row">
        <h3 id="map-title">What the image is made of</h3>
      </div>
      {facts && facts.toplevel === summary?.system.toplevel ? (
        <MapBody facts={facts} />
      ) : buildClosure?.status === 'failed' ? (
        <p className="muted">The size map could not be read: {buildClosure.error?.message}</p>
      ) : (
        <p className="muted">Reading the closure…</p>
      )}
    </div>
  );
}

function MapBody({ facts }: { facts: ClosureFacts }) {
  const selectedPath = useApp((s) => s.selectedPath);
  const selectPath = useApp((s) => s.selectPath);
  const { tiles, groups } = useMemo(() => layoutMap(facts), [facts]);
  const totals = useMemo(() => closureTotals(facts), [facts]);
  const [active, setActive] = useState(0);
  const [shown, setShown] = useState<ClosureNode | undefined>(undefined);
  // The map's one tab stop: the tile last moved to.
  const current = Math.min(active, tiles.length - 1);

  const focusTile = (index: number): void => {
    setActive(index);
    document.getElementById(`map-tile-${index}`)?.focus();
  };
  const onKey = (event: KeyboardEvent<SVGGElement>, index: number): void => {
    const last = tiles.length - 1;
    const moves: Record<string, number> = {
      ArrowRight: Math.min(index + 1, last),
      ArrowDown: Math.min(index + 1, last),
      ArrowLeft: Math.max(index - 1, 0),
      ArrowUp: Math.max(index - 1, 0),
      Home: 0,
      End: last,
    };
    if (event.key in moves) {
      event.preventDefault();
      focusTile(moves[event.key]!);
    } else if (event.key === 'Enter' || event.key === ' ') {
      event.preventDefault();
      selectPath(tiles[index]!.node.path);
    } else if (event.key === 'Escape') selectPath(undefined);
  };
  const detail = shown ?? tiles.find((t) => t.node.path === selectedPath)?.node;
  const selected = selectedPath === undefined ? undefined : facts.nodes.find((n) => n.path === selectedPath);

  return (
    <>
      <p className="muted">
        {totals.paths} store paths, {formatBytes(totals.narSize)} unpacked
        {totals.packedBytes === undefined ? '' : `, ${formatBytes(totals.packedBytes)} packed`}. Each tile is a store
        path, its area its {totals.packedBytes === undefined ? 'unpacked' : 'packed'} size; grouped by what the system
        refers to directly.
      </p>
      <svg
        className="size-map"
        viewBox={`0 0 ${WIDTH} ${HEIGHT}`}
        role="group"
        aria-labelledby="map-title"
        aria-describedby="map-help"
      >
        {groups.map((g) => (
          <g key={`g-${g.index}`} className="map-group">
            <rect x={g.x0} y={g.y0} width={g.x1 - g.x0} height={g.y1 - g.y0} rx={3} />
            {fit(g.label, g.x1 - g.x0) ? (
              <text x={g.x0 + 4} y={g.y0 + 13}>
                {fit(g.label, g.x1 - g.x0)}
              </text>
            ) : null}
          </g>
        ))}
        {tiles.map((t, index) => {
          const name = pathName(t.node.path);
          const label = fit(name, t.x1 - t.x0);
          return (
            <g
              key={t.node.path}
              id={`map-tile-${index}`}
              className={`map-tile map-c${t.group % COLOURS}${t.node.path === selectedPath ? ' selected' : ''}`}
              role="button"
              tabIndex={index === current ? 0 : -1}
              aria-label={`${name}: ${formatBytes(t.node.narSize)} unpacked, ${t.node.packedBytes === undefined ? 'packed size unknown' : `${formatBytes(t.node.packedBytes)} packed`}`}
              aria-pressed={t.node.path === selectedPath}
              data-path={t.node.path}
              onClick={() => {
                setActive(index);
                selectPath(t.node.path);
              }}
              onKeyDown={(e) => onKey(e, index)}
              onFocus={() => {
                setActive(index);
                setShown(t.node);
              }}
              onBlur={() => setShown(undefined)}
              onMouseEnter={() => setShown(t.node)}
              onMouseLeave={() => setShown(undefined)}
            >
              <rect x={t.x0} y={t.y0} width={Math.max(t.x1 - t.x0, 1)} height={Math.max(t.y1 - t.y0, 1)} rx={2} />
              {label && t.y1 - t.y0 >= 18 ? (
                <text x={t.x0 + 4} y={t.y0 + 14}>
                  {label}
                </text>
              ) : null}
            </g>
          );
        })}
      </svg>
      <p id="map-help" className="map-detail" aria-live="polite">
        {detail ? (
          <>
            <strong>{pathName(detail.path)}</strong> · {formatBytes(detail.narSize)} unpacked ·{' '}
            {detail.packedBytes === undefined ? 'packed size unknown' : `${formatBytes(detail.packedBytes)} packed`} ·{' '}
            {(ramShare(facts, detail) * 100).toFixed(1)}% of the RAM needed
            <br />
            <code>{detail.path}</code>
          </>
        ) : (
          <span className="muted">
            Point at a tile, or Tab to the map and use the arrow keys; Enter shows why that path is there.
          </span>
        )}
      </p>
      {selected ? <WhyChain facts={facts} target={selected} onSelect={selectPath} /> : null}
    </>
  );
}
