/**
 * Exporting a boot folder: copy what a build wrote into a folder a TFTP or
 * HTTP server serves, or onto a USB stick. The copy goes through the same
 * {@link OutDir} as a build, so each file lands whole (temp name, rename),
 * files we did not write are never touched, and a file that is already there
 * from the same inputs is not copied again.
 */
import type { BuildEvent, ExportSpec, ExportSummary, OutputFile } from '../shared/types.ts';
import { NetbootError } from './errors.ts';
import { bootFileCopy, checkNotSource, exportedInfo, putFile, writeWhole } from './export-files.ts';
import { exportHttp } from './http.ts';
import { OutDir, readBootFolderFiles } from './output.ts';
import { exportTftp } from './tftp.ts';
import { makeUsbImage, writeUsbStick } from './usb.ts';

export interface ExportHooks {
  onEvent?: (event: BuildEvent) => void;
  signal?: AbortSignal | undefined;
}

/** Copy the boot folder `from` into `to`; returns the files there. */
export async function exportBootFolder(
  from: string,
  to: string,
  hooks: ExportHooks = {},
): Promise<{ dir: string; files: OutputFile[] }> {
  checkNotSource(from, to);
  const source = await readBootFolderFiles(from);
  if (!source || source.files.length === 0) {
    throw new NetbootError(`${from} holds no boot folder made by Netboot Composer; build the system first.`);
  }
  const out = await OutDir.open(to, { option: '' });
  const files: OutputFile[] = [];
  await writeWhole(out, exportedInfo(source), hooks.signal, async () => {
    await out.claim(source.files.map((f) => f.name));
    for (const file of source.files) {
      const { fingerprint, produce } = bootFileCopy(from, file);
      await putFile(out, file.name, fingerprint, produce, { hooks, files });
    }
  });
  return { dir: to, files };
}

/**
 * Export the boot folder `from` as `spec` says: the one entry point of the
 * CLI's `export` and the app's export step.
 */
export async function exportTo(from: string, spec: ExportSpec, hooks: ExportHooks = {}): Promise<ExportSummary> {
  switch (spec.kind) {
    case 'folder': {
      const { dir, files } = await exportBootFolder(from, spec.dir, hooks);
      return { kind: 'folder', dir, files, notes: [] };
    }
    case 'usb-image':
      return makeUsbImage(from, spec.file, hooks);
    case 'usb':
      return writeUsbStick(from, spec.dir, hooks);
    case 'tftp':
      return exportTftp(from, spec, hooks);
    case 'http':
      return exportHttp(from, spec, hooks);
  }
}
