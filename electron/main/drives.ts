/**
 * Mounted removable drives (USB sticks, SD cards): the targets of a USB
 * export. `lsblk --json` says what is plugged in; which of it counts as a
 * stick is decided by the pure {@link removableDrives}.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { Drive } from '../shared/ipc.ts';

const run = promisify(execFile);

/** One device as `lsblk --json --bytes -o ...` prints it (older lsblk prints numbers and flags as strings). */
export interface LsblkDevice {
  path?: string | null;
  name?: string | null;
  label?: string | null;
  vendor?: string | null;
  model?: string | null;
  size?: number | string | null;
  rm?: boolean | string | number | null;
  hotplug?: boolean | string | number | null;
  tran?: string | null;
  type?: string | null;
  mountpoint?: string | null;
  fsavail?: number | string | null;
  children?: LsblkDevice[];
}

const COLUMNS = 'PATH,NAME,LABEL,VENDOR,MODEL,SIZE,RM,HOTPLUG,TRAN,TYPE,MOUNTPOINT,FSAVAIL';

function flag(value: LsblkDevice['rm']): boolean {
  return value === true || value === 1 || value === '1' || value === 'true';
}

function number(value: LsblkDevice['size']): number | undefined {
  if (value === null || value === undefined || value === '') return undefined;
  const n = Number(value);
  return Number.isFinite(n) ? n : undefined;
}

/** The mounted file systems on removable or USB disks, from lsblk's JSON. */
export function removableDrives(lsblk: { blockdevices?: LsblkDevice[] }): Drive[] {
  const drives: Drive[] = [];
  for (const disk of lsblk.blockdevices ?? []) {
    if (disk.type !== 'disk') continue;
    if (!flag(disk.rm) && !flag(disk.hotplug) && disk.tran !== 'usb') continue;
    const model = [disk.vendor, disk.model]
      .map((s) => s?.trim())
      .filter(Boolean)
      .join(' ');
    const volumes = disk.children?.length ? disk.children : [disk];
    for (const volume of volumes) {
      if (!volume.mountpoint || volume.mountpoint === '[SWAP]') continue;
      drives.push({
        device: volume.path ?? `/dev/${volume.name ?? disk.name ?? '?'}`,
        name: volume.label?.trim() || model || (disk.name ?? 'USB drive'),
        mountpoint: volume.mountpoint,
        sizeBytes: number(disk.size) ?? 0,
        freeBytes: number(volume.fsavail),
      });
    }
  }
  return drives;
}

/** The mounted removable drives of this machine; none where lsblk is missing. */
export async function listRemovableDrives(): Promise<Drive[]> {
  try {
    const { stdout } = await run('lsblk', ['--json', '--bytes', '-o', COLUMNS]);
    return removableDrives(JSON.parse(stdout) as { blockdevices?: LsblkDevice[] });
  } catch {
    return [];
  }
}
