/**
 * Exporting a boot folder: copy what a build wrote into a folder a TFTP or
 * HTTP server serves, or onto a USB stick. The copy goes through the same
 * {@link OutDir} as a build, so each file lands whole (temp name, rename),
 * files we did not write are never touched, and a file that is already there
 * from the same inputs is not copied again.
 */
import { copyFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { BuildEvent, ExportSpec, ExportSummary, OutputFile } from '../shared/types.ts';
import { CanceledError, isAbort, NetbootError } from './errors.ts';
import { OutDir, readBootFolderFiles } from './output.ts';
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
  if (resolve(from) === resolve(to)) {
    throw new NetbootError(`${to} is the boot folder itself; choose another folder to export to.`);
  }
  const source = await readBootFolderFiles(from);
  if (!source || source.files.length === 0) {
    throw new NetbootError(`${from} holds no boot folder made by Netboot Composer; build the system first.`);
  }
  const out = await OutDir.open(to, { option: '' });
  const files: OutputFile[] = [];
  try {
    await out.claim(source.files.map((f) => f.name));
    for (const file of source.files) {
      if (hooks.signal?.aborted) throw new CanceledError();
      const current = await out.isCurrent(file.name, file.fingerprint);
      const bytes = current
        ? out.keep(file.name)
        : await out.write(file.name, file.fingerprint, (temp) => copyFile(join(from, file.name), temp));
      files.push({ name: file.name, bytes });
      hooks.onEvent?.({ event: 'file', name: file.name, bytes, reused: current });
    }
    if (hooks.signal?.aborted) throw new CanceledError();
    await out.commit(source.info);
  } catch (error) {
    await out.discard();
    if (isAbort(error, hooks.signal)) throw new CanceledError();
    throw error;
  }
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
    case 'http':
      throw new NetbootError(`${spec.kind} exports are not implemented yet.`);
  }
}
