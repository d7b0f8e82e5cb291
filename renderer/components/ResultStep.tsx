import { formatBytes } from '../../electron/shared/progress.ts';
import { useApp } from '../context.tsx';
import { previewScript } from '../store/index.ts';
import { FileTable } from './FileTable.tsx';
import { BuildDiff } from './BuildDiff.tsx';
import { ExportCard } from './ExportCard.tsx';
import { IpxePreview } from './IpxePreview.tsx';
import { SizeMap } from './SizeMap.tsx';
import { TestBootControls, TestBootPanel } from './TestBoot.tsx';
import { ServeButton, ServePanel } from './ServePanel.tsx';

/** Step 4: the script, the files, a test boot, the export. */
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
  const preview = previewScript(summary, options, outcome.files);
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
        <TestBootControls />
        <ServeButton />
      </header>

      <TestBootPanel />
      <ServePanel dir={outcome.outDir} build={outcome} />

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
            <FileTable files={outcome.files} label="Boot files" />
          </div>
          <ExportCard />
        </div>
      </div>

      <div className="closure-layout">
        <SizeMap />
        <BuildDiff />
      </div>
    </section>
  );
}
