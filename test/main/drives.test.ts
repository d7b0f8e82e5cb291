import { describe, expect, it } from 'vitest';
import { removableDrives } from '../../electron/main/drives.ts';

// Shapes of `lsblk --json --bytes -o PATH,NAME,LABEL,VENDOR,MODEL,SIZE,RM,HOTPLUG,TRAN,TYPE,MOUNTPOINT,FSAVAIL`,
// from util-linux 2.38 (Debian 12: booleans and numbers) and 2.33 (strings).
const LSBLK_238 = {
  blockdevices: [
    {
      path: '/dev/nvme0n1',
      name: 'nvme0n1',
      label: null,
      vendor: null,
      model: 'Samsung SSD 980',
      size: 1000204886016,
      rm: false,
      hotplug: false,
      tran: 'nvme',
      type: 'disk',
      mountpoint: null,
      fsavail: null,
      children: [
        {
          path: '/dev/nvme0n1p2',
          name: 'nvme0n1p2',
          label: null,
          size: 999,
          rm: false,
          hotplug: false,
          type: 'part',
          mountpoint: '/',
          fsavail: 5000,
        },
      ],
    },
    {
      path: '/dev/sdb',
      name: 'sdb',
      label: null,
      vendor: 'SanDisk ',
      model: 'Ultra',
      size: 30752636928,
      rm: true,
      hotplug: true,
      tran: 'usb',
      type: 'disk',
      mountpoint: null,
      fsavail: null,
      children: [
        {
          path: '/dev/sdb1',
          name: 'sdb1',
          label: 'NETBOOT',
          size: 30751588352,
          rm: true,
          hotplug: true,
          type: 'part',
          mountpoint: '/media/me/NETBOOT',
          fsavail: 30000000000,
        },
        {
          path: '/dev/sdb2',
          name: 'sdb2',
          label: null,
          size: 1048576,
          rm: true,
          hotplug: true,
          type: 'part',
          mountpoint: null,
          fsavail: null,
        },
      ],
    },
    {
      path: '/dev/sr0',
      name: 'sr0',
      label: 'CDROM',
      size: 1000,
      rm: true,
      hotplug: false,
      type: 'rom',
      mountpoint: '/media/cd',
      fsavail: 0,
    },
  ],
};

const LSBLK_233 = {
  blockdevices: [
    {
      name: 'sdc',
      label: null,
      vendor: 'Kingston',
      model: 'DataTraveler',
      size: '8004304896',
      rm: '1',
      hotplug: '1',
      tran: 'usb',
      type: 'disk',
      mountpoint: '/mnt/stick',
      fsavail: '4000000000',
    },
  ],
};

describe('removableDrives', () => {
  it('lists mounted partitions of removable or USB disks, by label, and skips internal disks, CD drives and unmounted partitions', () => {
    expect(removableDrives(LSBLK_238)).toEqual([
      {
        device: '/dev/sdb1',
        name: 'NETBOOT',
        mountpoint: '/media/me/NETBOOT',
        sizeBytes: 30752636928,
        freeBytes: 30000000000,
      },
    ]);
  });

  it('reads older lsblk output, where flags and numbers are strings, and names an unlabelled stick by vendor and model', () => {
    expect(removableDrives(LSBLK_233)).toEqual([
      {
        device: '/dev/sdc',
        name: 'Kingston DataTraveler',
        mountpoint: '/mnt/stick',
        sizeBytes: 8004304896,
        freeBytes: 4000000000,
      },
    ]);
  });

  it('finds nothing in an empty answer', () => {
    expect(removableDrives({})).toEqual([]);
  });
});
