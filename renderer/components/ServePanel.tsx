/**
 * Serve, on the Result step: this machine answers the machines on one
 * network interface (proxy DHCP beside the router by default), and the
 * panel shows each machine that boots from it, live.
 */
import { useStore } from 'zustand';
import type { ServeClient } from '../../electron/shared/serve.ts';
import { formatBytes } from '../../electron/shared/progress.ts';
import { serveStoreFor, type ServeState } from '../store/serve.ts';
import { ErrorBanner } from './ErrorBanner.tsx';

function useServe<T>(selector: (s: ServeState) => T): T {
  return useStore(serveStoreFor(window.netbootComposer), selector);
}

const STATE_LABELS: Record<ServeClient['state'], string> = {
  DHCP: 'DHCP',
  loader: 'loader (TFTP)',
  iPXE: 'iPXE',
  downloading: 'downloading',
  booting: 'handed to the kernel',
};

function fileText(client: ServeClient): string {
  const files = client.files.filter((f) => f.via === 'TFTP' || !f.name.endsWith('.ipxe'));
  return files
    .map(
      (f) =>
        `${f.name} ${formatBytes(f.bytes)}${f.total && !f.done ? `/${formatBytes(f.total)}` : ''}${f.speed && f.via === 'HTTP' ? ` @ ${formatBytes(f.speed)}/s` : ''}${f.done ? '' : '…'}`,
    )
    .join(', ');
}

/** The button of the step header: opens the panel. */
export function ServeButton() {
  const toggle = useServe((s) => s.toggle);
  const status = useServe((s) => s.status);
  return (
    <button type="button" onClick={toggle}>
      {status === 'serving' ? 'Serving…' : 'Serve'}
    </button>
  );
}

/** `build`: the page's build outcome of `dir` (a new one while serving waits for Reload). */
export function ServePanel({ dir, build }: { dir: string; build?: unknown }) {
  const s = useServe((state) => state);
  if (!s.open) return null;
  const running = s.status === 'starting' || s.status === 'serving' || s.status === 'stopping';
  const stale = s.status === 'serving' && build !== undefined && s.dirs.includes(dir) && s.servedBuild !== build;
  const chosen = s.interfaces?.find((i) => i.name === s.iface);
  return (
    <section className="card serve-panel" aria-label="Serve">
      <div className="card-title-row">
        <h3>Serve to the machines on a network</h3>
        {running ? (
          <span className="row">
            {s.status === 'serving' ? (
              <button
                type="button"
                onClick={() => void s.reload(build)}
                disabled={s.reloading !== undefined}
                title="New requests get the folders as they are now."
              >
                {s.reloading ? 'Reloading…' : 'Reload'}
              </button>
            ) : null}
            <button type="button" onClick={s.stop} disabled={s.status === 'stopping'}>
              Stop
            </button>
          </span>
        ) : (
          <button
            type="button"
            className="primary"
            disabled={!chosen?.up || !chosen.address}
            onClick={() => void s.start([dir], build)}
          >
            Start serving
          </button>
        )}
      </div>
      <div className="row">
        <div className="field">
          <label htmlFor="serve-iface">Network interface</label>
          <select
            id="serve-iface"
            value={s.iface}
            disabled={running}
            onChange={(e) => s.set({ iface: e.target.value })}
          >
            {(s.interfaces ?? []).map((i) => (
              <option key={i.name} value={i.name}>
                {i.name} · {i.address ? `${i.address}/${i.prefix}` : 'no address'} ·{' '}
                {i.up ? 'link up' : `link ${i.state}`}
              </option>
            ))}
          </select>
        </div>
        <div className="segmented compact" role="radiogroup" aria-label="DHCP">
          <label className={s.mode === 'proxy' ? 'selected' : ''}>
            <input
              type="radio"
              name="serve-mode"
              checked={s.mode === 'proxy'}
              disabled={running}
              onChange={() => s.set({ mode: 'proxy' })}
            />
            Proxy DHCP (beside the router)
          </label>
          <label className={s.mode === 'full' ? 'selected' : ''}>
            <input
              type="radio"
              name="serve-mode"
              checked={s.mode === 'full'}
              disabled={running}
              onChange={() => s.set({ mode: 'full' })}
            />
            Full DHCP
          </label>
        </div>
        {s.mode === 'full' ? (
          <div className="field">
            <label htmlFor="serve-range-start">Addresses to hand out</label>
            <span>
              <input
                id="serve-range-start"
                aria-label="First address"
                value={s.rangeStart}
                disabled={running}
                onChange={(e) => s.set({ rangeStart: e.target.value })}
              />
              {' to '}
              <input
                aria-label="Last address"
                value={s.rangeEnd}
                disabled={running}
                onChange={(e) => s.set({ rangeEnd: e.target.value })}
              />
            </span>
          </div>
        ) : null}
      </div>
      <p className="muted">
        {s.mode === 'proxy'
          ? 'Your router keeps handing out addresses; this machine only tells netbooting machines what to load.'
          : 'Only on a link with no other DHCP server: it is checked first, and refused if one answers.'}
      </p>
      {s.command ? (
        <p className="muted" data-testid="serve-command">
          {s.command.elevated ? 'Runs as root through pkexec (you are asked once): ' : 'Runs: '}
          <code>{s.command.text}</code>
        </p>
      ) : null}
      {s.serving ? (
        <div className="banner banner-success" role="status">
          <p>
            Serving {s.serving.systems.map((x) => x.name).join(', ')} on {s.serving.iface} ({s.serving.address}),{' '}
            {s.serving.mode === 'proxy' ? 'proxy DHCP' : 'full DHCP'}. Power on the machines to boot.
          </p>
          <p className="muted">Reload: new requests get the folders as they are now.</p>
        </div>
      ) : null}
      {stale ? (
        <p className="note note-warning" role="status" data-testid="serve-stale">
          You built again: machines still get the previous build&apos;s files until you press Reload.
        </p>
      ) : null}
      {s.status === 'stopped' ? (
        <p role="status">Stopped{s.reason ? `: ${s.reason}` : ''}; no server process is left.</p>
      ) : null}
      {s.error ? <ErrorBanner error={s.error} /> : null}
      {s.notices.map((n) => (
        <p key={n} className="muted">
          {n}
        </p>
      ))}
      <div className="table-scroll">
        <table aria-label="Machines booting">
          <thead>
            <tr>
              <th>MAC</th>
              <th>Address</th>
              <th>Firmware</th>
              <th>State</th>
              <th>Fetched</th>
            </tr>
          </thead>
          <tbody>
            {s.clients.length === 0 ? (
              <tr>
                <td colSpan={5} className="muted">
                  No machine yet.
                </td>
              </tr>
            ) : (
              s.clients.map((c) => (
                <tr key={c.mac}>
                  <td>
                    <code>{c.mac}</code>
                  </td>
                  <td>{c.ip ?? '–'}</td>
                  <td>{c.firmware ?? '?'}</td>
                  <td>{STATE_LABELS[c.state]}</td>
                  <td>{fileText(c)}</td>
                </tr>
              ))
            )}
          </tbody>
        </table>
      </div>
    </section>
  );
}
