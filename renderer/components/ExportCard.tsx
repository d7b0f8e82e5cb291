import { useEffect } from 'react';
import { BASE_URL_EXAMPLE, baseUrlProblem, subdirProblem, TFTP_SLOW_BYTES } from '../../electron/shared/export-spec.ts';
import { formatBytes } from '../../electron/shared/progress.ts';
import type { ExportKind, ExportSummary } from '../../electron/shared/types.ts';
import { useApp } from '../context.tsx';
import { draftSpec } from '../store/index.ts';
import { FileTable } from './FileTable.tsx';
import { ErrorBanner } from './ErrorBanner.tsx';

const KINDS: { kind: ExportKind; label: string; hint: string }[] = [
  {
    kind: 'folder',
    label: 'Folder',
    hint: 'The boot files as they are, for any server. Files already there that Netboot Composer did not write are left alone.',
  },
  {
    kind: 'tftp',
    label: 'TFTP',
    hint: 'The boot files, the iPXE loaders a PXE ROM chainloads, and a dnsmasq snippet to serve them.',
  },
  {
    kind: 'http',
    label: 'HTTP',
    hint: 'The boot files, and a netboot.ipxe that fetches them from your HTTP server: faster than TFTP for big images.',
  },
  {
    kind: 'usb',
    label: 'USB stick',
    hint: 'The kernel, the initrds and boot loaders for BIOS and UEFI, on a mounted USB stick.',
  },
  {
    kind: 'usb-image',
    label: 'USB image',
    hint: 'A disk image that boots on BIOS and UEFI: write it to a stick with dd or Etcher.',
  },
];

const FOLDER_FIELDS = {
  folder: { label: 'Folder', placeholder: '/srv/netboot' },
  tftp: { label: 'Folder your TFTP server serves', placeholder: '/srv/tftp' },
  http: { label: 'Folder your HTTP server serves', placeholder: '/var/www/netboot' },
} as const;

const baseName = (path: string): string => path.slice(path.lastIndexOf('/') + 1);

function Drives() {
  const drives = useApp((s) => s.drives);
  const chosen = useApp((s) => s.exportDraft.dirs.usb);
  const setExportDraft = useApp((s) => s.setExportDraft);
  const refreshDrives = useApp((s) => s.refreshDrives);
  const running = useApp((s) => s.exportState.status === 'running');
  return (
    <fieldset className="field">
      <legend>
        USB stick{' '}
        <button type="button" className="link small" onClick={() => void refreshDrives()}>
          Refresh
        </button>
      </legend>
      {drives === undefined ? (
        <p className="muted">Looking for drives…</p>
      ) : drives.length === 0 ? (
        <p className="muted">No USB stick is mounted. Plug one in, open it in your file manager, then Refresh.</p>
      ) : (
        <ul className="drives" aria-label="USB drives">
          {drives.map((d) => (
            <li key={d.device}>
              <label>
                <input
                  type="radio"
                  name="drive"
                  value={d.mountpoint}
                  checked={chosen === d.mountpoint}
                  disabled={running}
                  onChange={() => setExportDraft({ dir: d.mountpoint })}
                />
                <span className="drive-name">{d.name}</span>
                <span className="muted">
                  {formatBytes(d.sizeBytes)}
                  {d.freeBytes === undefined ? '' : `, ${formatBytes(d.freeBytes)} free`} · {d.mountpoint}
                </span>
              </label>
            </li>
          ))}
        </ul>
      )}
    </fieldset>
  );
}

function ExportResult({ summary }: { summary: ExportSummary }) {
  const showFolder = useApp((s) => s.showFolder);
  const setBootFrom = useApp((s) => s.setBootFrom);
  const startBoot = useApp((s) => s.startBoot);
  const booting = useApp((s) => s.boot?.status === 'running');
  const image = summary.kind === 'usb-image' && summary.file ? summary.file : undefined;
  const warnings = summary.notes.filter((n) => n.level === 'warning');
  const infos = summary.notes.filter((n) => n.level === 'info');
  return (
    <div className="export-result">
      <div className="banner banner-success" role="status">
        <div>
          <strong>{image ? `Wrote ${baseName(image)}` : `Exported ${summary.files.length} files`}</strong>
          <p className="path">{image ?? summary.dir}</p>
        </div>
        <button type="button" onClick={() => void showFolder(summary.dir)}>
          Show in folder
        </button>
      </div>
      {warnings.length + infos.length > 0 ? (
        <ul className="notes" aria-label="Notes">
          {[...warnings, ...infos].map((note) => (
            <li key={note.message} className={`note note-${note.level}`}>
              {note.level === 'warning' ? <strong>Warning: </strong> : null}
              {note.message}
            </li>
          ))}
        </ul>
      ) : null}
      <details className="written" open>
        <summary>{image ? `${summary.files.length} files inside the image` : 'Files written'}</summary>
        <FileTable files={summary.files} label="Files written" />
      </details>
      {image ? (
        <div className="row-actions">
          <button
            type="button"
            disabled={booting}
            onClick={() => {
              setBootFrom('usb');
              void startBoot();
            }}
          >
            Test boot this image
          </button>
        </div>
      ) : null}
    </div>
  );
}

/** A path typed in or chosen with the native dialog; marked invalid once it holds something wrong. */
function PathField(props: {
  id: string;
  label: string;
  value: string;
  placeholder: string;
  disabled: boolean;
  invalid: boolean;
  onChange: (value: string) => void;
  onChoose: () => void;
}) {
  return (
    <div className="field">
      <label htmlFor={props.id}>{props.label}</label>
      <div className="picker-row">
        <input
          id={props.id}
          type="text"
          value={props.value}
          placeholder={props.placeholder}
          spellCheck={false}
          disabled={props.disabled}
          aria-invalid={props.value !== '' && props.invalid}
          onChange={(e) => props.onChange(e.target.value)}
        />
        <button type="button" disabled={props.disabled} onClick={props.onChoose}>
          Choose…
        </button>
      </div>
    </div>
  );
}

/** Export: a kind, where to, the one thing to fix if any, then what was written and what to know. */
export function ExportCard() {
  const draft = useApp((s) => s.exportDraft);
  const exportState = useApp((s) => s.exportState);
  const setExportDraft = useApp((s) => s.setExportDraft);
  const chooseExportDestination = useApp((s) => s.chooseExportDestination);
  const startExport = useApp((s) => s.startExport);
  const cancelExport = useApp((s) => s.cancelExport);
  const refreshDrives = useApp((s) => s.refreshDrives);
  useEffect(() => {
    void refreshDrives();
  }, [refreshDrives]);
  const running = exportState.status === 'running';
  const checked = draftSpec(draft);
  const problem = 'problem' in checked ? checked.problem : undefined;
  // A field's own sentence shows under it as soon as it holds something wrong.
  const subdirError = draft.kind === 'tftp' && draft.subdir !== '' ? subdirProblem(draft.subdir.trim()) : undefined;
  const urlError = draft.kind === 'http' && draft.baseUrl !== '' ? baseUrlProblem(draft.baseUrl) : undefined;
  const blocker = problem && problem.message !== subdirError && problem.message !== urlError ? problem : undefined;
  const kind = KINDS.find((k) => k.kind === draft.kind)!;
  const downloadBytes = useApp((s) => s.outcome?.downloadBytes ?? 0);

  return (
    <div className="card export-card">
      <h3>Export</h3>
      <form
        className="export-form"
        onSubmit={(e) => {
          e.preventDefault();
          void startExport();
        }}
      >
        <div className="segmented compact export-kinds" role="radiogroup" aria-label="Export to">
          {KINDS.map((k) => (
            <label key={k.kind} className={draft.kind === k.kind ? 'selected' : ''}>
              <input
                type="radio"
                name="export-kind"
                value={k.kind}
                checked={draft.kind === k.kind}
                disabled={running}
                onChange={() => setExportDraft({ kind: k.kind })}
              />
              {k.label}
            </label>
          ))}
        </div>
        <p className="muted">{kind.hint}</p>
        {draft.kind === 'tftp' && downloadBytes > TFTP_SLOW_BYTES ? (
          <p className="note note-warning" role="note">
            <strong>Warning: </strong>
            This image downloads {formatBytes(downloadBytes)}; TFTP waits for every 1.5 KB block, so that takes minutes
            on many machines. The HTTP export serves it much faster.
          </p>
        ) : null}

        {draft.kind === 'folder' || draft.kind === 'tftp' || draft.kind === 'http' ? (
          <PathField
            id="export-dir"
            label={FOLDER_FIELDS[draft.kind].label}
            value={draft.dirs[draft.kind]}
            placeholder={FOLDER_FIELDS[draft.kind].placeholder}
            disabled={running}
            invalid={problem?.field === 'dir'}
            onChange={(dir) => setExportDraft({ dir })}
            onChoose={() => void chooseExportDestination()}
          />
        ) : null}

        {draft.kind === 'tftp' ? (
          <div className="field">
            <label htmlFor="export-subdir">Subfolder (optional)</label>
            <input
              id="export-subdir"
              type="text"
              value={draft.subdir}
              placeholder="nixos"
              spellCheck={false}
              disabled={running}
              aria-invalid={subdirError !== undefined}
              aria-describedby={subdirError ? 'export-subdir-error' : undefined}
              onChange={(e) => setExportDraft({ subdir: e.target.value })}
            />
            {subdirError ? (
              <p id="export-subdir-error" className="field-error">
                {subdirError}
              </p>
            ) : null}
          </div>
        ) : null}

        {draft.kind === 'http' ? (
          <div className="field">
            <label htmlFor="export-url">Base URL</label>
            <input
              id="export-url"
              type="text"
              inputMode="url"
              value={draft.baseUrl}
              placeholder={BASE_URL_EXAMPLE}
              spellCheck={false}
              disabled={running}
              aria-invalid={urlError !== undefined}
              aria-describedby={urlError ? 'export-url-error' : 'export-url-hint'}
              onChange={(e) => setExportDraft({ baseUrl: e.target.value })}
            />
            {urlError ? (
              <p id="export-url-error" className="field-error">
                {urlError}
              </p>
            ) : (
              <p id="export-url-hint" className="hint">
                Where your HTTP server serves that folder; netboot.ipxe fetches the boot files from there.
              </p>
            )}
          </div>
        ) : null}

        {draft.kind === 'usb' ? <Drives /> : null}

        {draft.kind === 'usb-image' ? (
          <PathField
            id="export-file"
            label="Image file"
            value={draft.file}
            placeholder="/home/me/nixos.img"
            disabled={running}
            invalid={problem?.field === 'file'}
            onChange={(file) => setExportDraft({ file })}
            onChoose={() => void chooseExportDestination()}
          />
        ) : null}

        <div className="actions">
          <button
            type="submit"
            className="primary"
            disabled={running || problem !== undefined}
            aria-describedby={blocker ? 'export-blocker' : undefined}
          >
            Export
          </button>
          {running ? (
            <button type="button" onClick={() => cancelExport()}>
              Cancel
            </button>
          ) : null}
          {blocker && !running ? (
            <span id="export-blocker" className="hint">
              {blocker.message}
            </span>
          ) : null}
        </div>
      </form>

      {running ? (
        <p className="status" role="status">
          <span className="spinner" aria-hidden="true" /> Exporting…
          {exportState.written > 0 ? ` ${exportState.written} files written` : ''}
        </p>
      ) : null}
      {exportState.status === 'done' && exportState.summary ? <ExportResult summary={exportState.summary} /> : null}
      {exportState.status === 'canceled' ? (
        <p className="muted" role="status">
          Export canceled.
        </p>
      ) : null}
      {exportState.status === 'failed' && exportState.error ? (
        <ErrorBanner error={exportState.error} title="The export did not finish" />
      ) : null}
    </div>
  );
}
