import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cleanConsoleLine } from '../../../electron/pipeline/boot/console.ts';
import { failureIn } from '../../../electron/pipeline/boot/diagnosis.ts';
import { chainloadLoopIn, efiRomIsIpxe, findUefiFiles, romImages } from '../../../electron/pipeline/boot/firmware.ts';
import { kvmFailureIn, kvmProbeArgs, PROBE_PASS } from '../../../electron/pipeline/boot/kvm.ts';
import { withRamHint } from '../../../electron/pipeline/boot/memory.ts';
import { qemuArgs } from '../../../electron/pipeline/boot/qemu.ts';
import { tempDir } from '../../helpers/fixtures.ts';

const UEFI = { code: '/fw/OVMF_CODE_4M.fd', vars: '/fw/OVMF_VARS_4M.fd', rom: '/fw/efi-virtio.rom' };

/** A PCI option ROM image: header, PCIR structure, code type, `body` inside, padded to 512 bytes. */
function romImage(codeType: number, body: string, last: boolean): Buffer {
  const image = Buffer.alloc(Math.ceil((0x40 + body.length) / 512) * 512);
  image[0] = 0x55;
  image[1] = 0xaa;
  image.writeUInt16LE(0x1c, 0x18);
  image.write('PCIR', 0x1c, 'latin1');
  image.writeUInt16LE(image.length / 512, 0x1c + 0x10);
  image[0x1c + 0x14] = codeType;
  image[0x1c + 0x15] = last ? 0x80 : 0;
  image.write(body, 0x40, 'latin1');
  return image;
}

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
    // ps names the folder booted, even when QEMU's TFTP root is a chainload's scratch folder.
    expect(args).toContain('-name netboot-composer test boot of /srv/boot,,folder');
    expect(
      qemuArgs({ firmware: 'bios', memoryMiB: 512, accel: 'tcg', tftpDir: '/tmp/x/tftp', of: '/srv/b' }).join(' '),
    ).toContain('-name netboot-composer test boot of /srv/b -machine');
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
      uefi: { ...UEFI, vars: '/tmp/vm/vars.fd' },
    }).join(' ');
    expect(args).toContain(`-drive if=pflash,format=raw,unit=0,readonly=on,file=${UEFI.code}`);
    expect(args).toContain('-drive if=pflash,format=raw,unit=1,file=/tmp/vm/vars.fd');
    expect(args).toContain(`virtio-net-pci,netdev=net0,bootindex=1,romfile=${UEFI.rom}`);
    expect(args).toContain('bootfile=netboot.ipxe');
    // OVMF 2025.02 (Debian 13) drops to its shell instead of netbooting without an RNG.
    expect(args).toContain('-device virtio-rng-pci');
    expect(args).not.toContain('sercon');
    expect(() => qemuArgs({ firmware: 'uefi', memoryMiB: 512, accel: 'tcg', tftpDir: '/b' })).toThrow();
    // A ROM that is not iPXE: the firmware's PXE loads iPXE, named as the boot file.
    expect(
      qemuArgs({
        firmware: 'uefi',
        memoryMiB: 512,
        accel: 'tcg',
        tftpDir: '/scratch/tftp',
        bootfile: 'snponly.efi',
        uefi: { ...UEFI, chainload: '/usr/lib/ipxe/snponly.efi' },
      }).join(' '),
    ).toContain('tftp=/scratch/tftp,bootfile=snponly.efi');
    expect(
      qemuArgs({ firmware: 'bios', memoryMiB: 512, accel: 'tcg', tftpDir: '/b', serconFile: '/s' }).join(' '),
    ).not.toContain('virtio-rng');
  });

  it('tells an EFI ROM with iPXE (Debian 12) from a bare network driver (Debian 13)', () => {
    // Each has a BIOS iPXE image first; only the EFI image (code type 3) counts.
    const bios = romImage(0, 'iPXE (PCI 00:02.0)', false);
    expect(efiRomIsIpxe(Buffer.concat([bios, romImage(3, 'iPXE>  http://ipxe.org', true)]))).toBe(true);
    expect(efiRomIsIpxe(Buffer.concat([bios, romImage(3, 'VirtioNetDxe SNP driver', true)]))).toBe(false);
    expect(efiRomIsIpxe(romImage(0, 'iPXE', true))).toBe(false);
    expect(efiRomIsIpxe(Buffer.from('not a ROM, but iPXE'))).toBe(false);
    expect(romImages(Buffer.concat([bios, romImage(3, 'x', true), romImage(3, 'after the last', true)]))).toHaveLength(
      2,
    );
  });

  it("finds OVMF without Secure Boot through QEMU's firmware descriptors, and the NIC's EFI ROM", async () => {
    // Debian's ovmf lists secure-boot builds first (40-, 50-); those would
    // refuse an unsigned iPXE. The plain one is picked.
    const files = await findUefiFiles({});
    expect(files.code).toMatch(/\/OVMF_CODE[^/]*\.fd$/);
    expect(files.code).not.toMatch(/secboot|\.ms\.|snakeoil/);
    expect(files.vars).toMatch(/\/OVMF_VARS[^/]*\.fd$/);
    expect(files.rom).toMatch(/\/efi-virtio\.rom$/);
    // Chainloading exactly when the ROM is not iPXE.
    expect(files.chainload === undefined).toBe(efiRomIsIpxe(await readFile(files.rom!)));
    // A USB image boots with no network: OVMF only.
    expect(await findUefiFiles({}, { netboot: false })).toEqual({ code: files.code, vars: files.vars });
  });

  it('chainloads iPXE when the ROM is only a network driver, and says what is missing', async () => {
    const dir = await tempDir();
    const rom = join(dir, 'efi-virtio.rom');
    await writeFile(rom, Buffer.concat([romImage(0, 'iPXE', false), romImage(3, 'driver', true)]));
    const ipxe = await tempDir();
    const env = { NETBOOT_COMPOSER_EFI_ROM: rom, NETBOOT_COMPOSER_IPXE_DIR: ipxe };
    await expect(findUefiFiles(env)).rejects.toThrow(
      `${rom} is a network driver without iPXE, so UEFI netboots chainload iPXE, whose snponly.efi or ipxe.efi is missing; install it with: apt-get install ipxe`,
    );
    await writeFile(join(ipxe, 'snponly.efi'), 'MZ');
    expect(await findUefiFiles(env)).toMatchObject({ rom, chainload: join(ipxe, 'snponly.efi') });
    await expect(findUefiFiles({ NETBOOT_COMPOSER_OVMF_CODE: '/no/such/OVMF_CODE.fd' })).rejects.toThrow(
      /must both name existing files/,
    );
  });

  it('fails a chainloaded iPXE that loads itself again (older than 1.21: no autoexec.ipxe) instead of looping', () => {
    // iPXE 1.0.0 (2019), chainloaded, takes DHCP's boot file: itself.
    expect(chainloadLoopIn('tftp://10.0.2.2/snponly.efi... ok', '/usr/lib/ipxe/snponly.efi')).toMatch(
      /^the chainloaded iPXE \(\/usr\/lib\/ipxe\/snponly\.efi\) loaded itself again instead of running netboot\.ipxe/,
    );
    // iPXE 1.21 runs autoexec.ipxe, which chains the boot folder's script.
    expect(chainloadLoopIn('autoexec.ipxe... ok', '/usr/lib/ipxe/snponly.efi')).toBeUndefined();
    expect(chainloadLoopIn('netboot.ipxe... ok', '/usr/lib/ipxe/snponly.efi')).toBeUndefined();
    expect(chainloadLoopIn('  NBP filename is snponly.efi', '/usr/lib/ipxe/snponly.efi')).toBeUndefined();
  });

  it("recognises QEMU's own KVM failures, in its words, and nothing else", () => {
    // What QEMU 7.2 and 10 print when KVM cannot run the guest (stderr).
    expect(kvmFailureIn('KVM internal error. Suberror: 1')).toBe('KVM internal error. Suberror: 1');
    expect(kvmFailureIn('emulation failure')).toBe('emulation failure');
    expect(kvmFailureIn('qemu-system-x86_64: error: failed to set MSR 0x10a to 0x69')).toBe(
      'failed to set MSR 0x10a to 0x69',
    );
    expect(
      kvmFailureIn(
        "qemu-system-x86_64: ../../target/i386/kvm/kvm.c:3183: kvm_buf_set_msrs: Assertion `ret == cpu->kvm_msr_buf->nmsrs' failed.",
      ),
    ).toBe("kvm_buf_set_msrs: Assertion `ret == cpu->kvm_msr_buf->nmsrs' failed.");
    expect(kvmFailureIn('error: kvm run failed Bad address')).toBe('kvm run failed Bad address');
    expect(kvmFailureIn('KVM: entry failed, hardware error 0x80000021')).toBe(
      'KVM: entry failed, hardware error 0x80000021',
    );
    // A register dump, iPXE, the kernel and QEMU's notes are not failures.
    expect(kvmFailureIn('RAX=0000000000000000 RBX=0000000000000000 RCX=0000000000000000')).toBeUndefined();
    expect(
      kvmFailureIn('iPXE 1.21.1+git20250501.dad20602+dfsg-1 -- Open Source Network Boot Firmware'),
    ).toBeUndefined();
    expect(kvmFailureIn('[    0.000000] Hypervisor detected: KVM')).toBeUndefined();
    expect(kvmFailureIn('qemu-system-x86_64: terminating on signal 15 from pid 1')).toBeUndefined();
  });

  it("probes KVM with what BIOS boots run (SeaBIOS and the NIC's iPXE), passing on iPXE's DHCP answer", () => {
    const args = kvmProbeArgs('/state/sercon').join(' ');
    expect(args).toContain('-accel kvm -cpu host');
    expect(args).toContain('-netdev user,id=net0,restrict=on -device virtio-net-pci,netdev=net0,bootindex=1');
    expect(args).not.toContain('tftp=');
    expect(args).toContain('-fw_cfg name=etc/sercon-port,file=/state/sercon');
    // iPXE 1.0.0 (Debian 12) and 1.21.1 (Debian 13).
    expect(PROBE_PASS.test('Configuring (net0 52:54:00:12:34:56)...... ok')).toBe(true);
    expect(PROBE_PASS.test('Configuring (net0 52:54:00:12:34:56).................. ok')).toBe(true);
    expect(PROBE_PASS.test('No more network devices')).toBe(true);
    expect(PROBE_PASS.test('iPXE (PCI 00:02.0) starting execution...ok')).toBe(false);
    expect(PROBE_PASS.test('SeaBIOS (version 1.16.2-debian-1.16.2-1)')).toBe(false);
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
    expect(failureIn("error: file `/bzImage' not found.")).toBe(
      "GRUB could not load the system from the stick (error: file `/bzImage' not found.)",
    );
    expect(failureIn('error: you need to load the kernel first.')).toMatch(/^GRUB could not load/);
    expect(failureIn('NETBOOT-COMPOSER-DEMO: FAILED in stage 1: x')).toBe(
      'the system reported a failure: NETBOOT-COMPOSER-DEMO: FAILED in stage 1: x',
    );
    expect(failureIn('Could not boot image: Not enough space (http://ipxe.org/31048006)')).toMatch(
      /^the guest has too little RAM for the image/,
    );
    // iPXE 1.0.0 (Debian 12) and 1.21.1 (Debian 13) word the same error differently.
    expect(failureIn('tftp://10.0.2.2/nix-store... No such file or directory (http://ipxe.org/2d12608e)')).toBe(
      'iPXE failed: tftp://10.0.2.2/nix-store... No such file or directory (http://ipxe.org/2d12608e)',
    );
    expect(failureIn('nix-store... Not found (https://ipxe.org/2d12613b)')).toBe(
      'iPXE failed: nix-store... Not found (https://ipxe.org/2d12613b)',
    );
    expect(failureIn('netboot.ipxe.................. Connection timed out (https://ipxe.org/4c126092)')).toMatch(
      /^iPXE failed: /,
    );
    expect(failureIn('No bootable device.')).toBe('the firmware found nothing to boot');
    expect(failureIn('BdsDxe: No bootable option or device was found.')).toBe('the firmware found nothing to boot');
    expect(
      failureIn(
        'BdsDxe: loading Boot0005 "EFI Internal Shell" from Fv(7CB8BDC9-F8EB-4F34-AAEA-3EE4AF6516A1)/FvFile(7C04A583-9E3E-4F1C-AD65-E05268D0B4D1)',
      ),
    ).toBe('the firmware found nothing to boot and started its EFI shell');
    expect(failureIn('BdsDxe: loading Boot0001 "UEFI PXEv4 (MAC:525400123456)" from PciRoot(0x0)')).toBeUndefined();
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
