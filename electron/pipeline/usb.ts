/**
 * USB media: a disk image, or a mounted stick, that boots the system with no
 * network: syslinux for BIOS, a standalone GRUB for UEFI, and the kernel and
 * all three initrds on the stick.
 *
 * (Contract stub: implemented by the USB work of issue 4.)
 */
import type { ExportSummary } from '../shared/types.ts';
import type { BootFolderInfo } from './output.ts';
import { NetbootError } from './errors.ts';
import type { ExportHooks } from './export.ts';

/** Write a bootable disk image of the boot folder `from` to `file` (atomically). */
export async function makeUsbImage(from: string, file: string, hooks: ExportHooks = {}): Promise<ExportSummary> {
  void from;
  void file;
  void hooks;
  throw new NetbootError('USB images are not implemented yet.');
}

/** Write the same layout onto the mounted stick at `dir`. */
export async function writeUsbStick(from: string, dir: string, hooks: ExportHooks = {}): Promise<ExportSummary> {
  void from;
  void dir;
  void hooks;
  throw new NetbootError('USB sticks are not implemented yet.');
}

/** The boot folder's record (`info`: RAM needed, toplevel) that the image carries, or undefined. */
export async function readUsbImageInfo(file: string): Promise<BootFolderInfo | undefined> {
  void file;
  return undefined;
}
