/**
 * How much RAM a test boot gives its guest: what the build recorded that the
 * image needs (in the boot folder or on the USB image), plus room for the
 * kernel; and the hint a failed boot gets when it had too little.
 */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { initrdNames } from '../../shared/boot-folder.ts';
import { readBootFolderInfo } from '../media/read-folder.ts';
import { readUsbImageInfo } from '../media/usb-image.ts';

const MIB = 1024 * 1024;

/** What a Linux kernel and a small stage 2 take on top of the image's own RAM. */
const KERNEL_BASELINE_MIB = 128;

/**
 * A failed boot with less RAM than the image needs is most likely that, even
 * when the guest only stopped or panicked early (before its console was up):
 * say so. Pure: tested on its own.
 */
export function withRamHint(reason: string, memoryMiB: number, ramBytes: number | undefined): string {
  if (ramBytes === undefined || /RAM|memory/.test(reason) || /stopped$/.test(reason)) return reason;
  const needMiB = Math.ceil(ramBytes / MIB) + KERNEL_BASELINE_MIB;
  if (memoryMiB >= needMiB) return reason;
  return `${reason}; the guest had ${memoryMiB} MiB of RAM and the image needs about ${needMiB} MiB, so give it more with --memory (or leave --memory out)`;
}

/** The RAM the build recorded that the image needs: in the boot folder's record, or the one a USB image carries. */
export async function recordedRamBytes(target: { dir?: string | undefined; usbImage?: string | undefined }) {
  if (target.dir !== undefined) return (await readBootFolderInfo(target.dir)).ramBytes;
  return (await readUsbImageInfo(target.usbImage!).catch(() => undefined))?.ramBytes;
}

/** The recorded RAM (or a guess), plus a quarter and room for the kernel and stage 2, at least 512 MiB. */
function memoryMiBFor(neededBytes: number): number {
  return Math.max(512, Math.ceil((neededBytes * 1.25) / MIB / 64) * 64 + 256);
}

/** RAM for a test boot of the boot folder `dir`. */
export async function bootMemoryMiB(dir: string): Promise<number> {
  let needed = await recordedRamBytes({ dir });
  if (needed === undefined) {
    // Not our folder: guess from the download, which unpacks to a few times its size.
    let download = 0;
    const names = await readdir(dir).catch(() => [] as string[]);
    for (const name of ['bzImage', ...initrdNames(names)]) {
      download += (await stat(join(dir, name)).catch(() => undefined))?.size ?? 0;
    }
    needed = download * 4;
  }
  return memoryMiBFor(needed);
}

/** RAM for a test boot of a USB image; without a record, a guess from the image's size. */
async function usbImageMemoryMiB(file: string): Promise<number> {
  const needed = await recordedRamBytes({ usbImage: file });
  return memoryMiBFor(needed ?? ((await stat(file).catch(() => undefined))?.size ?? 0) * 4);
}

/** RAM for a test boot of a boot folder or, when given, a USB image. */
export function testBootMemoryMiB(target: {
  dir?: string | undefined;
  usbImage?: string | undefined;
}): Promise<number> {
  return target.usbImage !== undefined ? usbImageMemoryMiB(target.usbImage) : bootMemoryMiB(target.dir!);
}
