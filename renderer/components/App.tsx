import { useEffect, useState } from 'react';
import { formatBytes } from '../../electron/shared/progress.ts';
import { useApp } from '../context.tsx';
import { BuildStep } from './BuildStep.tsx';
import { OptionsStep } from './OptionsStep.tsx';
import { ResultStep } from './ResultStep.tsx';
import { Stepper } from './Stepper.tsx';
import { SystemStep } from './SystemStep.tsx';

const STAGE_TITLES: Record<string, string> = {
  resolve: 'Reading the system',
  closure: 'Querying the closure',
  pack: 'Packing',
  assemble: 'Assembling',
  write: 'Writing',
};

/** The window title follows the build, as the taskbar does (main sets that one). */
function useWindowTitle(): void {
  const status = useApp((s) => s.buildStatus);
  const stage = useApp((s) => s.stage);
  const percent = useApp((s) => Math.floor(s.view.fraction * 100));
  useEffect(() => {
    const base = 'Netboot Composer';
    document.title =
      status === 'running'
        ? `${percent}% · ${STAGE_TITLES[stage ?? ''] ?? 'Starting'} · ${base}`
        : status === 'done'
          ? `Built · ${base}`
          : status === 'failed'
            ? `Build failed · ${base}`
            : base;
  }, [status, stage, percent]);
}

function CacheLimit({ limitBytes }: { limitBytes: number }) {
  const setCacheLimit = useApp((s) => s.setCacheLimit);
  const [gib, setGib] = useState(String(Math.round((limitBytes / 1024 ** 3) * 10) / 10));
  const bytes = Math.round(Number(gib) * 1024 ** 3);
  const valid = Number.isFinite(bytes) && bytes >= 64 * 1024 ** 2;
  return (
    <form
      className="inline-form"
      onSubmit={(e) => {
        e.preventDefault();
        if (valid) void setCacheLimit(bytes);
      }}
    >
      <label htmlFor="cache-limit">Limit</label>
      <input
        id="cache-limit"
        type="number"
        min={0.1}
        step="any"
        value={gib}
        onChange={(e) => setGib(e.target.value)}
        aria-describedby="cache-limit-unit"
      />
      <span id="cache-limit-unit">GiB</span>
      <button type="submit" disabled={!valid || bytes === limitBytes}>
        Set
      </button>
    </form>
  );
}

function CacheChip() {
  const cache = useApp((s) => s.cache);
  const pruneCache = useApp((s) => s.pruneCache);
  const busy = useApp((s) => s.buildStatus === 'running');
  if (!cache) return null;
  const last = cache.lastBuild;
  const hitRate =
    last && last.hits + last.misses > 0 ? `${Math.round((100 * last.hits) / (last.hits + last.misses))}%` : undefined;
  return (
    <details className="cache-chip">
      <summary title={cache.dir}>
        Cache {formatBytes(cache.bytes)} <span className="muted">of {formatBytes(cache.limitBytes)}</span>
      </summary>
      <div className="popover" role="group" aria-label="Cache">
        <p>
          {cache.entries} squashfs images in <span className="path">{cache.dir}</span>.
        </p>
        {hitRate ? (
          <p className="muted">
            The last build reused {last!.hits} of {last!.hits + last!.misses} paths ({hitRate}).
          </p>
        ) : null}
        <p className="muted">
          After each build the least recently used images go until the cache fits {formatBytes(cache.limitBytes)}.
        </p>
        <CacheLimit key={cache.limitBytes} limitBytes={cache.limitBytes} />
        <div className="row-actions">
          <button type="button" disabled={busy} onClick={() => void pruneCache(cache.limitBytes)}>
            Trim to {formatBytes(cache.limitBytes)}
          </button>
          <button type="button" className="danger" disabled={busy} onClick={() => void pruneCache(0)}>
            Empty the cache
          </button>
        </div>
      </div>
    </details>
  );
}

export function App() {
  const step = useApp((s) => s.step);
  useWindowTitle();
  return (
    <div className="app">
      <header className="topbar">
        <div className="brand">
          <svg viewBox="0 0 24 24" width="22" height="22" aria-hidden="true">
            <path d="M4 5h16v4H4zM4 10h16v4H4zM4 15h16v4H4z" fill="none" stroke="currentColor" strokeWidth="1.6" />
            <circle cx="7" cy="7" r="1" fill="currentColor" />
            <circle cx="7" cy="12" r="1" fill="currentColor" />
            <circle cx="7" cy="17" r="1" fill="currentColor" />
          </svg>
          <h1>Netboot Composer</h1>
        </div>
        <Stepper />
        <CacheChip />
      </header>
      <main className="content">
        {step === 'system' ? <SystemStep /> : null}
        {step === 'options' ? <OptionsStep /> : null}
        {step === 'build' ? <BuildStep /> : null}
        {step === 'result' ? <ResultStep /> : null}
      </main>
    </div>
  );
}
