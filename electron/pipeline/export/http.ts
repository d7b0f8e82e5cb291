/**
 * The HTTP export: the boot files, and a netboot.ipxe that fetches them by
 * absolute URL from where the folder is served, so the script works wherever
 * it is chained from (a DHCP option, another iPXE script, a TFTP server).
 * iPXE fetches over HTTP far faster than over TFTP: the way to serve big
 * images.
 */
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SCRIPT_NAME } from '../../shared/boot-folder.ts';
import { baseUrlProblem } from '../../shared/export-spec.ts';
import { fileUrl, rebaseIpxeScript } from '../../shared/ipxe.ts';
import type { ExportNote, ExportSummary, OutputFile } from '../../shared/types.ts';
import { NetbootError } from '../base/errors.ts';
import { commandLine } from '../base/quote.ts';
import type { ExportHooks } from './writer.ts';
import {
  biosLimitNote,
  bootFileCopy,
  checkNotSource,
  type FileReport,
  othersCannotRead,
  openExportDir,
  putFile,
  readBootSource,
  writeWhole,
} from './writer.ts';

/** Export the boot folder `from` into `dir`, to be served at `baseUrl`. */
export async function exportHttp(
  from: string,
  spec: { dir: string; baseUrl: string },
  hooks: ExportHooks = {},
): Promise<ExportSummary> {
  const problem = baseUrlProblem(spec.baseUrl);
  if (problem) throw new NetbootError(problem);
  const baseUrl = spec.baseUrl.trim().replace(/\/+$/, '');
  checkNotSource(from, spec.dir);
  const source = await readBootSource(from);
  const script = rebaseIpxeScript(await readFile(join(from, SCRIPT_NAME), 'utf8'), baseUrl);

  const out = await openExportDir(spec.dir, hooks);
  const files: OutputFile[] = [];
  const report: FileReport = { hooks, files };
  await writeWhole(out, source.info, hooks.signal, async () => {
    await out.claim(source.files.map((f) => f.name));
    for (const file of source.files) {
      if (file.name === SCRIPT_NAME) {
        const fingerprint = `http:${createHash('sha256').update(script).digest('hex')}`;
        await putFile(out, SCRIPT_NAME, fingerprint, (temp) => writeFile(temp, script), report);
      } else {
        const { fingerprint, produce } = bootFileCopy(from, file);
        await putFile(out, file.name, fingerprint, produce, report);
      }
    }
  });

  const scriptUrl = fileUrl(baseUrl, SCRIPT_NAME);
  const notes: ExportNote[] = [
    ...biosLimitNote(source),
    ...(await othersCannotRead(
      files.map((f) => join(spec.dir, f.name)),
      'A web server',
    )),
  ];
  if (/^https:/i.test(baseUrl)) {
    notes.push({
      level: 'warning',
      message:
        'iPXE fetches https:// only when it was built with HTTPS support and trusts the server’s certificate; http:// works with every iPXE.',
    });
  }
  notes.push(
    {
      level: 'info',
      message: `Serve ${spec.dir} at ${baseUrl}/ with any web server${quickServer(baseUrl, spec.dir)}.`,
    },
    {
      level: 'info',
      message: `Boot it from iPXE with: chain ${scriptUrl} (or, in dnsmasq, give iPXE clients that URL as their boot file: dhcp-boot=tag:ipxe,${scriptUrl}).`,
    },
  );
  return { kind: 'http', dir: spec.dir, files, notes };
}

/** A one-line web server for a quick try, when the base URL is served from a folder's root over http. */
function quickServer(baseUrl: string, dir: string): string {
  const match = /^http:\/\/[^/:]+(?::(\d+))?$/i.exec(baseUrl);
  if (!match) return '';
  return ` (for a quick try: ${commandLine(['python3', '-m', 'http.server', match[1] ?? '80', '--directory', dir])})`;
}
