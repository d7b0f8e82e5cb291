import { describe, expect, it } from 'vitest';
import {
  cleanConsoleLine,
  failureIn,
  qemuArgs,
  findUefiFiles,
  UEFI_FILES,
  withRamHint,
} from '../../electron/pipeline/boot.ts';

describe('test boots', () => {
  it("netboots through QEMU's own TFTP, with the guest's network restricted to it", () => {
    const args = qemuArgs({
      firmware: 'bios',
      memoryMiB: 768,
      accel: 'tcg',
      tftpDir: '/srv/boot,folder',
      serconFile: '/state/sercon',
    }).join(' ');
    expect(args).toContain('-netdev user,id=net0,restrict=on,tftp=/srv/boot,,folder,bootfile=netboot.ipxe');
    expect(args).toContain('-accel tcg');
    expect(args).toContain('-m 768');
    expect(args).toContain('-no-reboot');
    expect(args).not.toContain('-cpu host');
    expect(args).not.toContain('pflash');
    expect(args).toContain('-fw_cfg name=etc/sercon-port,file=/state/sercon');
    expect(
      qemuArgs({ firmware: 'bios', memoryMiB: 512, accel: 'kvm', tftpDir: '/b', serconFile: '/s' }).join(' '),
    ).toContain('-accel kvm -cpu host');
  });

  it("netboots under UEFI with OVMF and iPXE's EFI ROM on the NIC", () => {
    const args = qemuArgs({
      firmware: 'uefi',
      memoryMiB: 1024,
      accel: 'tcg',
      tftpDir: '/b',
      uefi: { ...UEFI_FILES, vars: '/tmp/vm/vars.fd' },
    }).join(' ');
    expect(args).toContain(`-drive if=pflash,format=raw,unit=0,readonly=on,file=${UEFI_FILES.code}`);
    expect(args).toContain('-drive if=pflash,format=raw,unit=1,file=/tmp/vm/vars.fd');
    expect(args).toContain(`virtio-net-pci,netdev=net0,bootindex=1,romfile=${UEFI_FILES.rom}`);
    expect(args).not.toContain('sercon');
    expect(() => qemuArgs({ firmware: 'uefi', memoryMiB: 512, accel: 'tcg', tftpDir: '/b' })).toThrow();
  });

  it("finds OVMF without Secure Boot through QEMU's firmware descriptors", async () => {
    // Debian's ovmf lists secure-boot builds first (40-, 50-); those would
    // refuse an unsigned iPXE. The plain one is picked.
    const files = await findUefiFiles();
    expect(files).toEqual({
      code: '/usr/share/OVMF/OVMF_CODE_4M.fd',
      vars: '/usr/share/OVMF/OVMF_VARS_4M.fd',
      rom: '/usr/lib/ipxe/qemu/efi-virtio.rom',
    });
  });

  it('boots a USB image as a stick with no network, never writing to it', () => {
    const args = qemuArgs({
      firmware: 'bios',
      memoryMiB: 512,
      accel: 'tcg',
      usbImage: '/images/demo.img',
      serconFile: '/s',
    }).join(' ');
    expect(args).toContain('-drive if=none,id=stick,format=raw,snapshot=on,file=/images/demo.img');
    expect(args).toContain('usb-storage,bus=xhci.0,drive=stick,bootindex=1');
    expect(args).not.toContain('-netdev');
    expect(args).toContain('-nodefaults');
  });

  it('reads console lines without the firmware’s escape sequences', () => {
    expect(cleanConsoleLine('\x1b[2J\x1b[01;01HiPXE 1.21.1\x1b[0m\r')).toBe('iPXE 1.21.1');
  });

  it('recognises the lines that mean the boot failed, and says why', () => {
    expect(failureIn('[    2.7] Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0)')).toBe(
      'the kernel could not find its init (VFS: Unable to mount root fs on unknown-block(0,0)); check the init= and initrd lines of netboot.ipxe',
    );
    expect(failureIn('[    1.0] Kernel panic - not syncing: Attempted to kill init! exitcode=0x00000100')).toBe(
      'the kernel panicked: Attempted to kill init! exitcode=0x00000100',
    );
    expect(failureIn('Kernel panic - not syncing: Out of memory and no killable processes...')).toMatch(
      /ran out of memory; give it more with --memory/,
    );
    expect(failureIn('Initramfs unpacking failed: write error')).toMatch(/too little memory/);
    expect(failureIn('NETBOOT-COMPOSER-DEMO: FAILED in stage 1: x')).toBe(
      'the system reported a failure: NETBOOT-COMPOSER-DEMO: FAILED in stage 1: x',
    );
    expect(failureIn('Could not boot image: Not enough space (http://ipxe.org/31048006)')).toMatch(
      /^the guest has too little RAM for the image/,
    );
    expect(failureIn('tftp://10.0.2.2/nix-store... No such file or directory (http://ipxe.org/2d12608e)')).toBe(
      'iPXE failed: tftp://10.0.2.2/nix-store... No such file or directory (http://ipxe.org/2d12608e)',
    );
    expect(failureIn('No bootable device.')).toBe('the firmware found nothing to boot');
    expect(failureIn('BdsDxe: No bootable option or device was found.')).toBe('the firmware found nothing to boot');
    expect(failureIn('stage 2: demo, NixOS-shaped')).toBeUndefined();
    expect(failureIn('Configuring (net0 52:54:00:12:34:56)...... ok')).toBeUndefined();
  });

  it('blames too little RAM when a failed guest had less than the image needs', () => {
    const off = 'the guest powered off without printing the expected output';
    expect(withRamHint(off, 64, 52 * 1024 * 1024)).toBe(
      `${off}; the guest had 64 MiB of RAM and the image needs about 180 MiB, so give it more with --memory (or leave --memory out)`,
    );
    expect(withRamHint(off, 512, 52 * 1024 * 1024)).toBe(off);
    expect(withRamHint(off, 64, undefined)).toBe(off);
    expect(withRamHint('the test boot was stopped', 64, 52 * 1024 * 1024)).toBe('the test boot was stopped');
    expect(withRamHint('the guest ran out of memory; give it more with --memory', 64, 1e9)).not.toContain(
      'needs about',
    );
  });
});
