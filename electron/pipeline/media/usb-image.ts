/**
 * Reading a USB image we made: its partition table, and the boot folder
 * record on its FAT partition (read with mtools, without mounting), so a
 * test boot knows the RAM it needs and an export knows an image is ours.
 */
import { open } from 'node:fs/promises';
import { ToolFailedError } from '../base/errors.ts';
import { runTool } from '../base/tools.ts';
import { type BootFolderInfo, readRecordText, RECORD_NAME } from './record.ts';

export interface MbrPartition {
  bootable: boolean;
  type: number;
  startSector: number;
  sectors: number;
}

/** The partitions of an MBR (the first 512 bytes of a disk), or undefined when it is not one. */
export function parseMbr(sector: Uint8Array): MbrPartition[] | undefined {
  if (sector.length < 512 || sector[510] !== 0x55 || sector[511] !== 0xaa) return undefined;
  const view = new DataView(sector.buffer, sector.byteOffset, 512);
  const partitions: MbrPartition[] = [];
  for (let i = 0; i < 4; i++) {
    const at = 446 + 16 * i;
    const type = view.getUint8(at + 4);
    const sectors = view.getUint32(at + 12, true);
    if (type === 0 || sectors === 0) continue;
    partitions.push({ bootable: view.getUint8(at) === 0x80, type, startSector: view.getUint32(at + 8, true), sectors });
  }
  return partitions;
}

/** mtools checks a disk's geometry against its own idea of floppies; an image has none. */
export const MTOOLS_ENV = { MTOOLS_SKIP_CHECK: '1' };

/** The record inside an image (the same as a boot folder's), or undefined when `file` is not an image we made. */
export async function readImageRecord(file: string): Promise<ReturnType<typeof readRecordText>> {
  const handle = await open(file, 'r');
  const sector = new Uint8Array(512);
  try {
    await handle.read(sector, 0, 512, 0);
  } finally {
    await handle.close();
  }
  const partition = parseMbr(sector)?.[0];
  if (!partition) return undefined;
  try {
    const text = await runTool('mtype', ['-i', `${file}@@${partition.startSector * 512}`, `::/${RECORD_NAME}`], {
      what: 'mtype (the image’s record)',
      env: MTOOLS_ENV,
    });
    return readRecordText(text);
  } catch (error) {
    if (error instanceof ToolFailedError) return undefined;
    throw error;
  }
}

/** The boot folder's record (`info`: RAM needed, toplevel) that the image carries, or undefined. */
export async function readUsbImageInfo(file: string): Promise<BootFolderInfo | undefined> {
  return (await readImageRecord(file))?.info;
}
