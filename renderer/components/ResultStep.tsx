import { useEffect } from 'react';
import { formatBytes } from '../../electron/shared/progress.ts';
import { useApp } from '../context.tsx';
import { previewScript } from '../store.ts';
import { ErrorBanner } from './ErrorBanner.tsx';
import { IpxePreview } from './IpxePreview.tsx';

function ExportPanel() {
  const exportState = useApp((s) => s.exportState);
  const drives = useApp((s) => s.drives);
  const lastFolder = useApp((s) => s.settings?.exportFolder);
  const chooseExportFolder = useApp((s) => s.chooseExportFolder);
  const exportTo = useApp((s) => s.exportTo);
  const refreshDrives = useApp((s) => s.refreshDrives);
  const showFolder = useApp((s) => s.showFolder);
  useEffect(() => {
    void refreshDrives();
  }, [refreshDrives]);
  const running = exportState.status === 'running';

  return (
    <div className="card export-card">
      <h3>Export</h3>
      <div className="export-targets">
        <div className="export-target">
          <h4>To a folder</h4>
          <p className="muted">The folder a TFTP or HTTP server serves. Files already there are left alone.</p>
          <div className="row-actions">
            <button
              type="button"
              className="primary"
              disabled={running}
              onClick={() => void chooseExportFolder('folder')}
            >
              Export to folder…
            </button>
            {lastFolder ? (
              <button
                type="button"
                disabled={running}
                onClick={() => void exportTo('folder', lastFolder)}
                title={lastFolder}
              >
                Export again to {lastFolder.split('/').filter(Boolean).pop()}
              </button>
            ) : null}
          </div>
        </div>
        <div className="export-target">
          <h4>
            To a USB stick{' '}
            <button type="button" className="link small" onClick={() => void refreshDrives()}>
              Refresh
            </button>
          </h4>
          {drives === undefined ? (
            <p className="muted">Looking for drives…</p>
          ) : drives.length === 0 ? (
            <p className="muted">No USB stick is mounted. Plug one in, open it in your file manager, then Refresh.</p>
          ) : (
            <ul className="drives" aria-label="USB drives">
              {drives.map((d) => (
                <li key={d.device}>
                  <span className="drive-name">{d.name}</span>
                  <span className="muted">
                    {formatBytes(d.sizeBytes)}
                    {d.freeBytes === undefined ? '' : `, ${formatBytes(d.freeBytes)} free`} · {d.mountpoint}
                  </span>
                  <button type="button" disabled={running} onClick={() => void chooseExportFolder('usb', d.mountpoint)}>
                    Export…
                  </button>
                </li>
              ))}
            </ul>
          )}
        </div>
      </div>
      {running ? (
        <p className="status" role="status">
          <span className="spinner" aria-hidden="true" /> Exporting…
        </p>
      ) : null}
      {exportState.status === 'done' && exportState.result ? (
        <div className="banner banner-success" role="status">
          <div>
            <strong>Exported {exportState.result.files.length} files</strong>
            <p className="path">{exportState.result.dir}</p>
          </div>
          <button type="button" onClick={() => void showFolder(exportState.result!.dir)}>
            Show in folder
          </button>
        </div>
      ) : null}
      {exportState.status === 'failed' && exportState.error ? (
        <ErrorBanner error={exportState.error} title="The export did not finish" />
      ) : null}
    </div>
  );
}

/** Step 4: the script, the files, the export. */
export function ResultStep() {
  const outcome = useApp((s) => s.outcome);
  const summary = useApp((s) => s.summary);
  const options = useApp((s) => s.options);
  const setOptions = useApp((s) => s.setOptions);
  const startBuild = useApp((s) => s.startBuild);
  const copyScript = useApp((s) => s.copyScript);
  const copied = useApp((s) => s.copied);
  const showFolder = useApp((s) => s.showFolder);
  if (!outcome || !summary) return null;
  const preview = previewScript(summary, options);
  const changed = preview !== outcome.script;

  return (
    <section className="step" aria-labelledby="result-title">
      <header className="step-header row">
        <div>
          <h2 id="result-title">Boot files ready</h2>
          <p className="muted">
            {outcome.paths} store paths, {outcome.packed} packed and {outcome.reused} reused, in{' '}
            {outcome.seconds.toFixed(1)} s. A machine needs <strong>{formatBytes(outcome.ramBytes)}</strong> of RAM and
            downloads <strong>{formatBytes(outcome.downloadBytes)}</strong>.
          </p>
        </div>
      </header>

      <div className="result-layout">
        <div className="card script-card">
          <div className="card-title-row">
            <h3>netboot.ipxe</h3>
            <button type="button" onClick={() => void copyScript()} disabled={changed}>
              {copied ? 'Copied ✓' : 'Copy'}
            </button>
          </div>
          <IpxePreview script={preview} />
          <div className="field">
            <label htmlFor="result-kernel-params">Extra kernel parameters</label>
            <input
              id="result-kernel-params"
              type="text"
              value={options.kernelParams}
              spellCheck={false}
              onChange={(e) => setOptions({ kernelParams: e.target.value })}
            />
          </div>
          {changed ? (
            <div className="banner banner-info" role="status">
              <p>The preview shows your new parameters; the file on disk has the old ones.</p>
              <button type="button" className="primary" onClick={() => void startBuild()}>
                Rebuild (nothing to repack)
              </button>
            </div>
          ) : null}
        </div>

        <div className="side">
          <div className="card files-card">
            <div className="card-title-row">
              <h3>Boot files</h3>
              <button type="button" className="link" onClick={() => void showFolder(outcome.outDir)}>
                Show in folder
              </button>
            </div>
            <table className="files" aria-label="Boot files">
              <tbody>
                {outcome.files.map((f) => (
                  <tr key={f.name}>
                    <td>{f.name}</td>
                    <td className="num">{formatBytes(f.bytes)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <ExportPanel />
        </div>
      </div>
    </section>
  );
}
