import { useState } from 'react';
import type { RecentSource } from '../../electron/shared/ipc.ts';
import { formatBytes } from '../../electron/shared/progress.ts';
import { useApp } from '../context.tsx';
import { ErrorBanner } from './ErrorBanner.tsx';

const NO_RECENT: RecentSource[] = [];

function sourceKindLabel(kind: string): string {
  return kind === 'flake' ? 'Flake' : kind === 'demo' ? 'Demo' : 'Built system';
}

/** Step 1: which system? A flake's configuration, a built system, or the demo. */
export function SystemStep() {
  const flakeRef = useApp((s) => s.flakeRef);
  const flakeConfigs = useApp((s) => s.flakeConfigs);
  const flakeJob = useApp((s) => s.flakeJob);
  const resolving = useApp((s) => s.resolving);
  const resolveStatus = useApp((s) => s.resolveStatus);
  const summary = useApp((s) => s.summary);
  const error = useApp((s) => s.systemError);
  const recent = useApp((s) => s.settings?.recent ?? NO_RECENT);
  const chooseFlake = useApp((s) => s.chooseFlake);
  const chooseBuiltSystem = useApp((s) => s.chooseBuiltSystem);
  const resolve = useApp((s) => s.resolve);
  const cancelResolve = useApp((s) => s.cancelResolve);
  const goTo = useApp((s) => s.goTo);
  const [storePath, setStorePath] = useState('');
  const busy = resolving !== undefined || flakeJob !== undefined;

  return (
    <section className="step" aria-labelledby="system-title">
      <header className="step-header">
        <h2 id="system-title">Which system do you want to netboot?</h2>
        <p className="muted">Pick a NixOS configuration from a flake, a system you built already, or try the demo.</p>
      </header>

      <div className="cards three">
        <article className="card source-card">
          <h3>Flake configuration</h3>
          <p className="muted">
            A folder with a flake.nix. Netboot Composer builds the configuration with its netboot module.
          </p>
          <button type="button" onClick={() => void chooseFlake()} disabled={busy}>
            Choose flake folder…
          </button>
          {flakeJob ? (
            <p className="status" role="status">
              <span className="spinner" aria-hidden="true" /> Reading {flakeRef}…
            </p>
          ) : null}
          {flakeConfigs && flakeRef ? (
            <ul className="config-list" aria-label="Configurations">
              {flakeConfigs.map((c) => (
                <li key={c.name}>
                  <button
                    type="button"
                    className="config"
                    disabled={busy}
                    onClick={() =>
                      void resolve({ kind: 'flake', ref: flakeRef, name: c.name }, `${flakeRef}#${c.name}`)
                    }
                  >
                    <span className="config-name">{c.name}</span>
                    <span className="badge">{c.system ?? 'unknown arch'}</span>
                  </button>
                </li>
              ))}
            </ul>
          ) : null}
        </article>

        <article className="card source-card">
          <h3>Built system</h3>
          <p className="muted">
            A <code>result</code> link from <code>nixos-rebuild build</code>, or a store path.
          </p>
          <button type="button" onClick={() => void chooseBuiltSystem()} disabled={busy}>
            Choose system folder…
          </button>
          <form
            className="inline-form"
            onSubmit={(e) => {
              e.preventDefault();
              if (storePath.trim()) void resolve({ kind: 'toplevel', path: storePath.trim() }, storePath.trim());
            }}
          >
            <label htmlFor="store-path" className="visually-hidden">
              Store path of a built system
            </label>
            <input
              id="store-path"
              type="text"
              placeholder="/nix/store/…-nixos-system-…"
              value={storePath}
              onChange={(e) => setStorePath(e.target.value)}
              spellCheck={false}
            />
            <button type="submit" disabled={busy || !storePath.trim().startsWith('/')}>
              Use
            </button>
          </form>
        </article>

        <article className="card source-card">
          <h3>Demo system</h3>
          <p className="muted">A tiny NixOS-shaped system built on this machine: see the whole flow in a minute.</p>
          <button
            type="button"
            className="primary"
            onClick={() => void resolve({ kind: 'demo' }, 'the demo system')}
            disabled={busy}
          >
            Use the demo system
          </button>{' '}
          <button
            type="button"
            onClick={() => void resolve({ kind: 'demo', arch: 'aarch64-linux' }, 'the aarch64 demo system')}
            disabled={busy}
            title="Debian's arm64 kernel and busybox (fetched once from Debian), built here; test boots run under QEMU's aarch64 UEFI"
          >
            Use the aarch64 demo
          </button>
        </article>
      </div>

      {resolving ? (
        <div className="banner banner-info" role="status">
          <span className="spinner" aria-hidden="true" />
          <div>
            <strong>Reading {resolving}…</strong>
            <p className="muted">{resolveStatus ?? 'Evaluating with Nix'}</p>
          </div>
          <button type="button" onClick={cancelResolve}>
            Cancel
          </button>
        </div>
      ) : null}

      {error ? <ErrorBanner error={error} /> : null}

      {summary && !resolving ? (
        <article className="card summary-card" aria-label="Chosen system">
          <div>
            <h3>{summary.system.name}</h3>
            <dl className="facts">
              <div>
                <dt>NixOS</dt>
                <dd>{summary.system.nixosVersion}</dd>
              </div>
              <div>
                <dt>Architecture</dt>
                <dd>{summary.system.system}</dd>
              </div>
              <div>
                <dt>Closure</dt>
                <dd>{formatBytes(summary.closureBytes)}</dd>
              </div>
              <div>
                <dt>Store paths</dt>
                <dd>{summary.paths}</dd>
              </div>
            </dl>
          </div>
          <button type="button" className="primary" onClick={() => goTo('options')}>
            Continue to options →
          </button>
        </article>
      ) : null}

      {recent.length > 0 ? (
        <section className="recent" aria-labelledby="recent-title">
          <h3 id="recent-title">Recent</h3>
          <ul>
            {recent.map((r) => (
              <li key={`${r.usedAt}-${r.label}`}>
                <button type="button" className="link" disabled={busy} onClick={() => void resolve(r.source, r.label)}>
                  <span className="badge">{sourceKindLabel(r.source.kind)}</span> {r.label}
                </button>
              </li>
            ))}
          </ul>
        </section>
      ) : null}
    </section>
  );
}
