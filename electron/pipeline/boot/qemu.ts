/**
 * QEMU's command line. What every run of ours shares, the KVM probe's and the
 * test boots': one small PC, its console on stdout, no display, no monitor,
 * no reboot; and a test boot's machine: firmware, disk or network, VM name.
 */
import { resolve } from 'node:path';
import type { Accel, Arch, Firmware } from '../../shared/types.ts';
import type { UefiFiles } from './firmware.ts';

/** A path as a QEMU option value: absolute, its commas doubled. */
export const comma = (path: string): string => resolve(path).replace(/,/g, ',,');

/**
 * The machine, the accelerator (KVM with the host's CPU), RAM and the serial
 * console on stdout. aarch64: QEMU's `virt` machine, its CPU emulated with
 * the cheap pointer authentication (QEMU's architected one costs a third of
 * the boot under TCG). Pure.
 */
export function baseQemuArgs(accel: Accel, memoryMiB: number, arch: Arch = 'x86_64-linux'): string[] {
  const aarch64 = arch === 'aarch64-linux';
  return [
    '-machine',
    aarch64 ? 'virt' : 'pc',
    '-accel',
    accel,
    ...(accel === 'kvm' ? ['-cpu', 'host'] : aarch64 ? ['-cpu', 'max,pauth-impdef=on'] : []),
    '-m',
    String(memoryMiB),
    '-smp',
    '1',
    '-nodefaults',
    '-display',
    'none',
    '-serial',
    'stdio',
    '-monitor',
    'none',
    '-no-reboot',
  ];
}

export interface QemuMachine {
  /** The guest's architecture; default x86_64 (aarch64: UEFI only, `uefi` being AAVMF). */
  arch?: Arch | undefined;
  firmware: Firmware;
  memoryMiB: number;
  accel: Accel;
  /** Netboot this folder through QEMU's TFTP... */
  tftpDir?: string | undefined;
  /** ...or boot this disk image as a USB stick (never written: snapshot=on). */
  usbImage?: string | undefined;
  /** BIOS: the file holding SeaBIOS's serial console port. */
  serconFile?: string | undefined;
  /** UEFI: OVMF and iPXE's ROM (findUefiFiles in firmware.ts), `vars` being this boot's writable copy of OVMF's variables. */
  uefi?: UefiFiles | undefined;
  /** The boot file QEMU's DHCP names: netboot.ipxe, or the iPXE binary a UEFI boot chainloads. */
  bootfile?: string | undefined;
  /**
   * What is booted (the boot folder or the image), as the VM's name: `ps`
   * shows it even when QEMU's TFTP root is a scratch folder (a chainload).
   */
  of?: string | undefined;
}

/**
 * QEMU's arguments for a test boot. Under BIOS, `serconFile` holds the serial
 * port's address (2 bytes): SeaBIOS then copies the screen to the serial
 * console, so the firmware's and iPXE's messages are seen too. Under UEFI,
 * OVMF writes its console to the serial port itself, and gets a random-number
 * device (OVMF 2025 will not netboot without one). Pure: tested on its own.
 */
export function qemuArgs(machine: QemuMachine): string[] {
  const of = machine.of ?? machine.usbImage ?? machine.tftpDir;
  const args = [
    ...(of ? ['-name', `netboot-composer test boot of ${comma(of)}`] : []),
    ...baseQemuArgs(machine.accel, machine.memoryMiB, machine.arch),
  ];
  if (machine.firmware === 'uefi') {
    if (!machine.uefi) throw new Error('a UEFI boot needs OVMF and a copy of its variables');
    args.push(
      '-drive',
      `if=pflash,format=raw,unit=0,readonly=on,file=${comma(machine.uefi.code)}`,
      '-drive',
      `if=pflash,format=raw,unit=1,file=${comma(machine.uefi.vars)}`,
      '-device',
      'virtio-rng-pci',
    );
  } else if (machine.serconFile) {
    args.push('-fw_cfg', `name=etc/sercon-port,file=${comma(machine.serconFile)}`);
  }
  if (machine.usbImage) {
    args.push(
      '-drive',
      `if=none,id=stick,format=raw,snapshot=on,file=${comma(machine.usbImage)}`,
      '-device',
      'qemu-xhci,id=xhci',
      '-device',
      'usb-storage,bus=xhci.0,drive=stick,bootindex=1',
    );
  } else if (machine.tftpDir) {
    // aarch64: AAVMF drives virtio-net itself; QEMU's ROMs are x86 code.
    const rom = machine.uefi?.rom
      ? `,romfile=${comma(machine.uefi.rom)}`
      : machine.arch === 'aarch64-linux'
        ? ',romfile='
        : '';
    args.push(
      '-netdev',
      `user,id=net0,restrict=on,tftp=${comma(machine.tftpDir)},bootfile=${(machine.bootfile ?? 'netboot.ipxe').replace(/,/g, ',,')}`,
      '-device',
      `virtio-net-pci,netdev=net0,bootindex=1${rom}`,
    );
  } else throw new Error('a test boot needs a boot folder or a USB image');
  return args;
}
