import { useLayoutEffect, useMemo, useRef, useState } from 'react';
import { formatBytes, formatDuration } from '../../electron/shared/progress.ts';
import { useApp } from '../context.tsx';
import type { PathRow } from '../store/index.ts';
import { ErrorBanner } from './ErrorBanner.tsx';
import { BuildSizeMap } from './SizeMap.tsx';

type SortKey = 'name' | 'size' | 'state' | 'packed';
type Filter = 'all' | 'active' | 'queued' | 'packed' | 'reused';

/**
 * A real NixOS closure has thousands of store paths. Past this many rows the
 * table renders only the rows in view (plus a margin): every row has the same
 * height, so the rows above and below are one spacer each.
 */
export const WINDOW_FROM = 200;
const ROW_HEIGHT = 32;
const OVERSCAN = 12;

const STATE_ORDER: Record<PathRow['status'], number> = { packing: 0, queued: 1, packed: 2, reused: 3 };

function compare(a: PathRow, b: PathRow, key: SortKey): number {
  switch (key) {
    case 'name':
      return a.name.localeCompare(b.name);
    case 'size':
      return a.narSize - b.narSize;
    case 'state':
      return STATE_ORDER[a.status] - STATE_ORDER[b.status] || b.narSize - a.narSize;
    case 'packed':
      return (a.packedBytes ?? -1) - (b.packedBytes ?? -1);
  }
}

function StateCell({ row }: { row: PathRow }) {
  if (row.status === 'packing') {
    return (
      <span className="state packing">
        <span className="mini-bar" aria-hidden="true">
          <span style={{ width: `${row.percent}%` }} />
        </span>
        packing {Math.round(row.percent)}%
      </span>
    );
  }
  return <span className={`state ${row.status}`}>{row.status}</span>;
}

function PathTable() {
  const rows = useApp((s) => s.view.rows);
  const [sort, setSort] = useState<{ key: SortKey; descending: boolean }>({ key: 'state', descending: false });
  const [filter, setFilter] = useState<Filter>('all');
  const [text, setText] = useState('');
  const shown = useMemo(() => {
    const needle = text.trim().toLowerCase();
    const kept = rows.filter(
      (r) =>
        (filter === 'all' || (filter === 'active' ? r.status === 'packing' : r.status === filter)) &&
        (needle === '' || r.name.toLowerCase().includes(needle)),
    );
    kept.sort((a, b) => (sort.descending ? -1 : 1) * compare(a, b, sort.key));
    return kept;
  }, [rows, sort, filter, text]);
  const scroller = useRef<HTMLDivElement>(null);
  const [scrollTop, setScrollTop] = useState(0);
  const [viewHeight, setViewHeight] = useState(360);
  useLayoutEffect(() => {
    const height = scroller.current?.clientHeight;
    if (height) setViewHeight(height);
  }, []);
  const windowed = shown.length > WINDOW_FROM;
  const first = windowed ? Math.max(0, Math.floor(scrollTop / ROW_HEIGHT) - OVERSCAN) : 0;
  const last = windowed
    ? Math.min(shown.length, first + Math.ceil(viewHeight / ROW_HEIGHT) + 2 * OVERSCAN)
    : shown.length;
  const counts = useMemo(() => {
    const c: Record<Filter, number> = { all: rows.length, active: 0, queued: 0, packed: 0, reused: 0 };
    for (const r of rows) c[r.status === 'packing' ? 'active' : r.status]++;
    return c;
  }, [rows]);

  const header = (key: SortKey, label: string, numeric = false) => {
    const active = sort.key === key;
    return (
      <th
        scope="col"
        className={numeric ? 'num' : undefined}
        aria-sort={active ? (sort.descending ? 'descending' : 'ascending') : 'none'}
      >
        <button
          type="button"
          className="sort"
          onClick={() => setSort({ key, descending: active ? !sort.descending : key === 'size' || key === 'packed' })}
        >
          {label}
          <span aria-hidden="true">{active ? (sort.descending ? ' ▾' : ' ▴') : ''}</span>
        </button>
      </th>
    );
  };

  return (
    <div className="card table-card">
      <div className="table-tools">
        <div className="chips" role="radiogroup" aria-label="Show">
          {(['all', 'active', 'queued', 'packed', 'reused'] as const).map((f) => (
            <label key={f} className={filter === f ? 'chip selected' : 'chip'}>
              <input type="radio" name="path-filter" value={f} checked={filter === f} onChange={() => setFilter(f)} />
              {f} <span className="count">{counts[f]}</span>
            </label>
          ))}
        </div>
        <input
          type="search"
          className="filter"
          placeholder="Filter store paths"
          aria-label="Filter store paths"
          value={text}
          onChange={(e) => setText(e.target.value)}
        />
      </div>
      <div className="table-scroll" ref={scroller} onScroll={(e) => setScrollTop(e.currentTarget.scrollTop)}>
        <table
          className={windowed ? 'paths windowed' : 'paths'}
          aria-label="Store paths"
          aria-rowcount={shown.length + 1}
        >
          <thead>
            <tr>
              {header('name', 'Store path')}
              {header('size', 'Size', true)}
              {header('state', 'State')}
              {header('packed', 'Packed', true)}
            </tr>
          </thead>
          <tbody>
            {first > 0 ? <tr className="spacer" aria-hidden="true" style={{ height: first * ROW_HEIGHT }} /> : null}
            {shown.slice(first, last).map((row, i) => (
              <tr
                key={row.path}
                className={`row-${row.status}`}
                data-state={row.status}
                title={row.path}
                aria-rowindex={first + i + 2}
              >
                <td className="name">{row.name}</td>
                <td className="num">{formatBytes(row.narSize)}</td>
                <td>
                  <StateCell row={row} />
                </td>
                <td className="num">{row.packedBytes === undefined ? '' : formatBytes(row.packedBytes)}</td>
              </tr>
            ))}
            {last < shown.length ? (
              <tr className="spacer" aria-hidden="true" style={{ height: (shown.length - last) * ROW_HEIGHT }} />
            ) : null}
          </tbody>
        </table>
        {shown.length === 0 ? <p className="empty muted">No store paths match.</p> : null}
      </div>
    </div>
  );
}

function LogPane() {
  const log = useApp((s) => s.log);
  const [open, setOpen] = useState(false);
  return (
    <details className="card log" open={open} onToggle={(e) => setOpen((e.target as HTMLDetailsElement).open)}>
      <summary>
        Log <span className="count">{log.length}</span>
      </summary>
      <pre aria-label="Build log" tabIndex={0}>
        {log.map((line, i) => (
          <span key={i} className={`log-${line.kind}`}>
            {line.text}
            {'\n'}
          </span>
        ))}
      </pre>
    </details>
  );
}

/** Step 3: the build as it happens. */
export function BuildStep() {
  const status = useApp((s) => s.buildStatus);
  const stageMessage = useApp((s) => s.stageMessage);
  const view = useApp((s) => s.view);
  const error = useApp((s) => s.buildError);
  const warnings = useApp((s) => s.warnings);
  const cancelBuild = useApp((s) => s.cancelBuild);
  const startBuild = useApp((s) => s.startBuild);
  const goTo = useApp((s) => s.goTo);
  const percent = Math.floor(view.fraction * 100);
  const total = view.rows.length;
  const running = status === 'running';

  return (
    <section className="step" aria-labelledby="build-title">
      <header className="step-header row">
        <div>
          <h2 id="build-title">
            {running
              ? 'Building'
              : status === 'canceled'
                ? 'Build canceled'
                : status === 'failed'
                  ? 'Build failed'
                  : 'Built'}
          </h2>
          <p className="muted" role="status" aria-live="polite">
            {running
              ? stageMessage
              : status === 'canceled'
                ? 'Nothing was half-written; the cache and the previous boot files are intact.'
                : stageMessage}
          </p>
        </div>
        {running ? (
          <button type="button" className="danger" onClick={cancelBuild}>
            Cancel
          </button>
        ) : (
          <div className="row-actions">
            <button type="button" onClick={() => goTo('options')}>
              ← Options
            </button>
            <button type="button" className="primary" onClick={() => void startBuild()}>
              Build again
            </button>
          </div>
        )}
      </header>

      <div className="card progress-card">
        <div
          className="progress"
          role="progressbar"
          aria-label="Build progress"
          aria-valuemin={0}
          aria-valuemax={100}
          aria-valuenow={percent}
        >
          <span className={running ? 'fill running' : 'fill'} style={{ width: `${percent}%` }} />
        </div>
        <dl className="facts progress-facts">
          <div>
            <dt>Done</dt>
            <dd>{percent}%</dd>
          </div>
          <div>
            <dt>Bytes</dt>
            <dd>
              {formatBytes(view.bytesNow)} of {formatBytes(view.totalBytes)}
            </dd>
          </div>
          <div>
            <dt>Store paths</dt>
            <dd>
              {view.donePaths} of {total}
            </dd>
          </div>
          <div>
            <dt>Reused from cache</dt>
            <dd data-testid="reused">
              {view.reused} of {total} reused
            </dd>
          </div>
          <div>
            <dt>Time left</dt>
            <dd>{running && view.secondsLeft !== undefined ? formatDuration(view.secondsLeft) : '—'}</dd>
          </div>
        </dl>
      </div>

      {warnings.map((w) => (
        <div key={w} className="banner banner-warning" role="alert">
          <strong>Warning</strong>
          <p>{w}</p>
        </div>
      ))}
      {error ? <ErrorBanner error={error} title="The build failed" /> : null}

      <PathTable />
      {total > 0 ? <BuildSizeMap /> : null}
      <LogPane />
    </section>
  );
}
