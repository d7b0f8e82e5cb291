/**
 * What changed since the previous build of the same system (kept by the
 * app per system): store paths added, removed and changed (same name, new
 * hash or version), each with its sizes; the RAM and download totals; the
 * lines of netboot.ipxe when its kernel line changed.
 */
import type { ClosureDiff, DiffPath } from '../../electron/shared/closure-diff.ts';
import { formatBytes } from '../../electron/shared/progress.ts';
import { useApp } from '../context.tsx';

const packed = (bytes: number | undefined): string => (bytes === undefined ? '?' : formatBytes(bytes));

function Delta({ before, after }: { before: number; after: number }) {
  const change = after - before;
  const cls = change > 0 ? 'delta up' : change < 0 ? 'delta down' : 'delta';
  return (
    <span className={cls}>{change === 0 ? '±0' : `${change > 0 ? '+' : '−'}${formatBytes(Math.abs(change))}`}</span>
  );
}

function PathRow({ mark, kind, path }: { mark: string; kind: string; path: DiffPath }) {
  return (
    <tr className={`diff-${kind}`} data-path={path.path}>
      <td className="diff-mark" aria-label={kind}>
        {mark}
      </td>
      <td title={path.path}>{path.name}</td>
      <td className="num">{formatBytes(path.narSize)}</td>
      <td className="num">{packed(path.packedBytes)}</td>
    </tr>
  );
}

export function DiffBody({ diff }: { diff: ClosureDiff }) {
  const t = diff.totals;
  const rows = diff.added.length + diff.removed.length + diff.changed.length;
  return (
    <>
      <p className="muted">
        Against the build of {new Date(diff.before.builtAt).toLocaleString()}: {diff.added.length} added,{' '}
        {diff.removed.length} removed, {diff.changed.length} changed, {diff.unchanged} unchanged.
      </p>
      <dl className="diff-totals">
        <div>
          <dt>RAM needed</dt>
          <dd>
            {formatBytes(t.ramBefore)} → <strong>{formatBytes(t.ramAfter)}</strong>{' '}
            <Delta before={t.ramBefore} after={t.ramAfter} />
          </dd>
        </div>
        <div>
          <dt>Download</dt>
          <dd>
            {formatBytes(t.downloadBefore)} → <strong>{formatBytes(t.downloadAfter)}</strong>{' '}
            <Delta before={t.downloadBefore} after={t.downloadAfter} />
          </dd>
        </div>
        <div>
          <dt>Store paths</dt>
          <dd>
            {t.pathsBefore} → <strong>{t.pathsAfter}</strong>
          </dd>
        </div>
      </dl>
      {rows > 0 ? (
        <div className="table-scroll diff-scroll">
          <table className="files diff-table" aria-label="Store paths that changed">
            <thead>
              <tr>
                <th scope="col">
                  <span className="visually-hidden">Change</span>
                </th>
                <th scope="col">Store path</th>
                <th scope="col" className="num">
                  Unpacked
                </th>
                <th scope="col" className="num">
                  Packed
                </th>
              </tr>
            </thead>
            <tbody>
              {diff.added.map((p) => (
                <PathRow key={p.path} mark="+" kind="added" path={p} />
              ))}
              {diff.removed.map((p) => (
                <PathRow key={p.path} mark="−" kind="removed" path={p} />
              ))}
              {diff.changed.map((c) => (
                <tr key={c.after.path} className="diff-changed" data-path={c.after.path}>
                  <td className="diff-mark" aria-label="changed">
                    ~
                  </td>
                  <td title={`${c.before.path} → ${c.after.path}`}>
                    {c.pname}{' '}
                    {c.before.version === c.after.version
                      ? c.after.version
                      : `${c.before.version} → ${c.after.version}`}
                    {c.before.version === c.after.version ? <span className="muted"> (new hash)</span> : null}
                  </td>
                  <td className="num">
                    {formatBytes(c.before.narSize)} → {formatBytes(c.after.narSize)}
                  </td>
                  <td className="num">
                    {packed(c.before.packedBytes)} → {packed(c.after.packedBytes)}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      {diff.script ? (
        <>
          <h4>netboot.ipxe: the kernel line changed</h4>
          <pre className="script-diff" aria-label="netboot.ipxe before and after">
            {diff.script
              .filter((l) => l.kind !== 'same' || l.text.startsWith('initrd') || l.text === 'boot')
              .map((l, i) => (
                <span key={i} className={`line-${l.kind}`}>
                  {l.kind === 'added' ? '+ ' : l.kind === 'removed' ? '- ' : '  '}
                  {l.text}
                  {'\n'}
                </span>
              ))}
          </pre>
        </>
      ) : null}
    </>
  );
}

export function BuildDiff() {
  const closure = useApp((s) => s.closure);
  if (closure?.status !== 'ready' || !closure.report) return null;
  const { diff } = closure.report;
  return (
    <div className="card diff-card">
      <div className="card-title-row">
        <h3>Since the last build of this system</h3>
      </div>
      {diff ? (
        <DiffBody diff={diff} />
      ) : (
        <p className="muted">The first build of this system here: the next one will be compared with it.</p>
      )}
    </div>
  );
}
