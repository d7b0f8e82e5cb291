/**
 * `netboot-composer export`: a boot folder copied for a TFTP or HTTP server,
 * a plain folder, a USB disk image or a mounted stick.
 */
import { parseArgs } from 'node:util';
import { exportTo } from '../../pipeline/export/export.ts';
import { baseUrlProblem, subdirProblem } from '../../shared/export-spec.ts';
import { formatBytes } from '../../shared/progress.ts';
import type { BuildEvent, ExportSpec, ExportSummary } from '../../shared/types.ts';
import { printJson, UsageError, type Context } from '../context.ts';
import { TerminalRenderer } from '../render.ts';

/** What `export` was asked for; usage errors are said before anything is written. Pure: tested through the CLI. */
function exportSpec(values: {
  folder?: string | undefined;
  tftp?: string | undefined;
  subdir?: string | undefined;
  http?: string | undefined;
  'base-url'?: string | undefined;
  'usb-image'?: string | undefined;
  usb?: string | undefined;
}): ExportSpec {
  const targets = [values.folder, values.tftp, values.http, values['usb-image'], values.usb];
  if (targets.filter((t) => t !== undefined).length !== 1) {
    throw new UsageError(
      'Give exactly one place to export to: --folder DIR, --tftp DIR, --http DIR, --usb-image FILE or --usb DIR.',
    );
  }
  if (values.subdir !== undefined && values.tftp === undefined) throw new UsageError('--subdir goes with --tftp.');
  if (values['base-url'] !== undefined && values.http === undefined) {
    throw new UsageError('--base-url goes with --http.');
  }
  if (values.folder !== undefined) return { kind: 'folder', dir: values.folder };
  if (values.tftp !== undefined) {
    const problem = values.subdir === undefined ? undefined : subdirProblem(values.subdir);
    if (problem) throw new UsageError(`--subdir: ${problem}`);
    return { kind: 'tftp', dir: values.tftp, subdir: values.subdir };
  }
  if (values.http !== undefined) {
    const baseUrl = values['base-url'];
    if (baseUrl === undefined) {
      throw new UsageError(
        '--http needs --base-url URL: the address the folder will be served at, like http://192.168.1.10/netboot.',
      );
    }
    const problem = baseUrlProblem(baseUrl);
    if (problem) throw new UsageError(`--base-url: ${problem}`);
    return { kind: 'http', dir: values.http, baseUrl };
  }
  if (values['usb-image'] !== undefined) return { kind: 'usb-image', file: values['usb-image'] };
  return { kind: 'usb', dir: values.usb! };
}

const EXPORT_KINDS: Record<ExportSpec['kind'], string> = {
  folder: 'a folder',
  tftp: 'a TFTP root',
  http: 'a folder for a web server',
  'usb-image': 'a USB disk image',
  usb: 'a USB stick',
};

export async function runExport(args: string[], context: Context): Promise<number> {
  const { values } = parseArgs({
    args,
    strict: true,
    options: {
      from: { type: 'string' },
      folder: { type: 'string' },
      tftp: { type: 'string' },
      subdir: { type: 'string' },
      http: { type: 'string' },
      'base-url': { type: 'string' },
      'usb-image': { type: 'string' },
      usb: { type: 'string' },
      json: { type: 'boolean' },
      debug: { type: 'boolean' },
    },
  });
  if (values.from === undefined) {
    throw new UsageError('Give the boot folder to export with --from BOOT_FOLDER (what build wrote with --out).');
  }
  const spec = exportSpec(values);
  const target = spec.kind === 'usb-image' ? spec.file : spec.dir;
  const renderer = new TerminalRenderer(
    { write: (text) => process.stdout.write(text), columns: process.stdout.columns },
    process.stdout.isTTY === true,
  );
  const onEvent = (event: BuildEvent): void => (context.json ? printJson(event) : renderer.handle(event));
  if (!context.json) renderer.line(`> Exporting ${values.from} to ${target} (${EXPORT_KINDS[spec.kind]})`);
  let summary: ExportSummary;
  try {
    summary = await exportTo(values.from, spec, { onEvent, signal: context.signal });
  } finally {
    renderer.finish();
  }
  if (context.json) {
    printJson({ event: 'exported', ...summary });
    return 0;
  }
  const total = summary.files.reduce((sum, f) => sum + f.bytes, 0);
  const lines = [`Exported to ${summary.file ?? summary.dir}: ${summary.files.length} files, ${formatBytes(total)}`];
  for (const note of summary.notes) lines.push(`${note.level === 'warning' ? 'warning' : 'note'}: ${note.message}`);
  process.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}
