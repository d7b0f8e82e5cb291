import {
  DEFAULT_INITRD_COMPRESSION,
  DEFAULT_SQUASHFS_COMPRESSION,
  INITRD_LEVELS,
  SQUASHFS_LEVELS,
  type LevelRange,
} from '../../electron/shared/compression.ts';
import type { BuildOptions, SystemSummary } from '../../electron/shared/ipc.ts';
import { formatBytes } from '../../electron/shared/progress.ts';
import {
  ARCHES,
  INITRD_COMPRESSORS,
  SQUASHFS_COMPRESSORS,
  type SquashfsCompression,
} from '../../electron/shared/types.ts';
import { useApp } from '../context.tsx';
import { buildBlocker } from '../store/index.ts';

/** How much smaller each compressor makes a typical NixOS closure: for the estimate before a build. */
const RATIO: Record<SquashfsCompression['name'], number> = { gzip: 0.42, zstd: 0.4, xz: 0.33, lz4: 0.55, lzo: 0.48 };

const SQUASHFS_HINTS: Record<SquashfsCompression['name'], string> = {
  zstd: 'fast to pack and to unpack, small',
  gzip: 'what netboot.nix uses',
  xz: 'smallest, slowest to pack',
  lz4: 'fastest, largest',
  lzo: 'fast to unpack, large',
};

/** RAM to boot and bytes to download, estimated from the closure before a build (exact after). */
export function estimate(summary: SystemSummary, options: BuildOptions): { ramBytes: number; downloadBytes: number } {
  const image = summary.closureBytes * RATIO[options.squashfs.name];
  const downloadBytes = summary.kernelBytes + summary.initrdBytes + image;
  return { ramBytes: summary.closureBytes + image + downloadBytes, downloadBytes };
}

function LevelField({
  id,
  range,
  value,
  onChange,
}: {
  id: string;
  range: LevelRange | undefined;
  value: number | undefined;
  onChange: (level: number | undefined) => void;
}) {
  if (!range) {
    return (
      <input id={id} type="text" value="—" disabled aria-label="Level (this compressor takes none)" className="level" />
    );
  }
  return (
    <input
      id={id}
      className="level"
      type="number"
      min={range.min}
      max={range.max}
      value={value ?? range.default}
      onChange={(e) => {
        const level = Number(e.target.value);
        if (Number.isInteger(level)) onChange(Math.min(range.max, Math.max(range.min, level)));
      }}
    />
  );
}

interface Compression<Name extends string> {
  name: Name;
  level?: number | undefined;
}

/** A compressor and its level; choosing another compressor starts at its usual level. */
function CompressorField<Name extends string>({
  id,
  label,
  names,
  levels,
  preferred,
  describe,
  value,
  onChange,
}: {
  id: string;
  label: string;
  names: readonly Name[];
  levels: Record<Name, LevelRange | undefined>;
  /** The default setting: its level is the one to start at for its compressor. */
  preferred: Compression<Name>;
  describe: (name: Name) => string;
  value: Compression<Name>;
  onChange: (value: Compression<Name>) => void;
}) {
  return (
    <div className="field-row">
      <div className="field">
        <label htmlFor={id}>{label}</label>
        <select
          id={id}
          value={value.name}
          onChange={(e) => {
            const name = e.target.value as Name;
            const range = levels[name];
            onChange(range ? { name, level: name === preferred.name ? preferred.level : range.default } : { name });
          }}
        >
          {names.map((name) => (
            <option key={name} value={name}>
              {describe(name)}
            </option>
          ))}
        </select>
      </div>
      <div className="field narrow">
        <label htmlFor={`${id}-level`}>Level</label>
        <LevelField
          id={`${id}-level`}
          range={levels[value.name]}
          value={value.level}
          onChange={(level) => onChange({ name: value.name, level })}
        />
      </div>
    </div>
  );
}

/** Step 2: architecture, compressors, kernel parameters; what the image will need. */
export function OptionsStep() {
  const summary = useApp((s) => s.summary);
  const options = useApp((s) => s.options);
  const setOptions = useApp((s) => s.setOptions);
  const startBuild = useApp((s) => s.startBuild);
  const blocker = useApp(buildBlocker);
  if (!summary) return null;
  const { ramBytes, downloadBytes } = estimate(summary, options);
  const mismatch = summary.system.system !== options.arch;

  return (
    <section className="step" aria-labelledby="options-title">
      <header className="step-header">
        <h2 id="options-title">Options for {summary.system.name}</h2>
        <p className="muted">The defaults suit most machines. Everything here can be changed and rebuilt in seconds.</p>
      </header>
      <div className="options-layout">
        <form
          className="card options-form"
          onSubmit={(e) => {
            e.preventDefault();
            void startBuild();
          }}
        >
          <fieldset>
            <legend>Target architecture</legend>
            <div className="segmented" role="radiogroup" aria-label="Target architecture">
              {ARCHES.map((arch) => (
                <label key={arch} className={options.arch === arch ? 'selected' : ''}>
                  <input
                    type="radio"
                    name="arch"
                    value={arch}
                    checked={options.arch === arch}
                    onChange={() => setOptions({ arch })}
                  />
                  {arch}
                </label>
              ))}
            </div>
            {mismatch ? (
              <p className="field-warning" role="alert">
                {summary.system.name} is built for {summary.system.system}.
              </p>
            ) : null}
          </fieldset>

          <CompressorField
            id="squashfs"
            label="Squashfs compressor"
            names={SQUASHFS_COMPRESSORS}
            levels={SQUASHFS_LEVELS}
            preferred={DEFAULT_SQUASHFS_COMPRESSION}
            describe={(name) => `${name} — ${SQUASHFS_HINTS[name]}`}
            value={options.squashfs}
            onChange={(squashfs) => setOptions({ squashfs })}
          />
          <CompressorField
            id="initrd"
            label="Initrd compressor"
            names={INITRD_COMPRESSORS}
            levels={INITRD_LEVELS}
            preferred={DEFAULT_INITRD_COMPRESSION}
            describe={(name) => (name === 'none' ? 'none — the squashfs images are compressed already' : name)}
            value={options.initrd}
            onChange={(initrd) => setOptions({ initrd })}
          />

          <div className="field">
            <label htmlFor="kernel-params">Extra kernel parameters</label>
            <input
              id="kernel-params"
              type="text"
              value={options.kernelParams}
              placeholder="e.g. ip=dhcp nomodeset"
              spellCheck={false}
              onChange={(e) => setOptions({ kernelParams: e.target.value })}
            />
            <p className="hint">Added after the system&apos;s own: {summary.system.kernelParams || 'none'}.</p>
          </div>

          <div className="actions">
            <button type="submit" className="primary big" disabled={blocker !== undefined}>
              Build boot files
            </button>
            {blocker ? (
              <p className="hint blocker" id="build-blocker">
                {blocker}
              </p>
            ) : null}
          </div>
        </form>

        <aside className="card needs" aria-label="What the image needs">
          <h3>What a machine needs</h3>
          <dl className="facts vertical">
            <div>
              <dt>RAM to boot</dt>
              <dd className="big-number">≈ {formatBytes(ramBytes)}</dd>
            </div>
            <div>
              <dt>Download at boot</dt>
              <dd className="big-number">≈ {formatBytes(downloadBytes)}</dd>
            </div>
            <div>
              <dt>Closure</dt>
              <dd>
                {summary.paths} store paths, {formatBytes(summary.closureBytes)}
              </dd>
            </div>
          </dl>
          <p className="hint">
            Estimated from the closure: the whole store is unpacked into RAM at boot. The Result step shows the exact
            numbers.
          </p>
        </aside>
      </div>
    </section>
  );
}
