/**
 * The plain export: the boot folder copied into another folder, file by
 * file, through an {@link OutDir} (temp name, rename; files of others never
 * touched; a file from the same inputs not copied again).
 */
import type { OutputFile } from '../../shared/types.ts';
import { NetbootError } from '../base/errors.ts';
import { readBootFolderFiles } from '../media/read-folder.ts';
import type { ExportHooks } from './writer.ts';
import { bootFileCopy, checkNotSource, exportedInfo, openExportDir, putFile, writeWhole } from './writer.ts';

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
  const out = await openExportDir(to, hooks);
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
