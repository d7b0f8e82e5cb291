/**
 * Exporting a boot folder: copy what a build wrote into a folder a TFTP or
 * HTTP server serves, or onto a USB stick. The copy goes through the same
 * {@link OutDir} as a build, so each file lands whole (temp name, rename),
 * files we did not write are never touched, and a file that is already there
 * from the same inputs is not copied again.
 */
import { copyFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { BuildEvent, OutputFile } from '../shared/types.ts';
import { CanceledError, isAbort, NetbootError } from './errors.ts';
import { OutDir, readBootFolderFiles } from './output.ts';

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
