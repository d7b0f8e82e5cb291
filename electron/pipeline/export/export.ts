/**
 * Exporting a boot folder: copy what a build wrote into a folder a TFTP or
 * HTTP server serves, or onto a USB stick. The copy goes through the same
 * OutDir (media/out-dir.ts) as a build, so each file lands whole (temp name, rename),
 * files we did not write are never touched, and a file that is already there
 * from the same inputs is not copied again.
 */
import type { ExportSpec, ExportSummary } from '../../shared/types.ts';
import { exportBootFolder } from './folder.ts';
import { exportHttp } from './http.ts';
import { exportTftp } from './tftp.ts';
import { makeUsbImage } from './usb.ts';
import { writeUsbStick } from './usb-stick.ts';
import type { ExportHooks } from './writer.ts';

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
