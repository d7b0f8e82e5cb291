import { describe, expect, it } from 'vitest';
import { ipxeScript } from '../../../electron/shared/ipxe.ts';
import { RECORD_NAME } from '../../../electron/pipeline/media/record.ts';
import {
  FAT_MAX_FILE,
  GRUB_EMBEDDED_CONFIG,
  grubConfig,
  grubStandaloneArgs,
  imageLayout,
  imageNotes,
  parseBootScript,
  sfdiskScript,
  stickNotes,
  syslinuxConfig,
  tooBigForFat,
  type StickFacts,
  USB_FILES,
} from '../../../electron/pipeline/export/usb-layout.ts';
import { parseMbr } from '../../../electron/pipeline/media/usb-image.ts';

const init = '/nix/store/c8ccy5gy6bmdpycl6bp3yyw3amz32paf-nixos-system-router-25.11/init';
const script = ipxeScript({
  title: 'nixos-system-router-25.11',
  kernel: 'bzImage',
  initrds: ['initrd', 'manifest', 'nix-store'],
  init,
  kernelParams: 'console=ttyS0,115200 loglevel=4',
});
const MIB = 1024 * 1024;

describe('the boot a USB stick carries, read from netboot.ipxe', () => {
  it('takes the kernel, the initrds and the parameters, without the initrd= names and ${cmdline}', () => {
    expect(parseBootScript(script, 'router')).toEqual({
      title: 'router',
      arch: 'x86_64-linux',
      kernel: 'bzImage',
      initrds: ['initrd', 'manifest', 'nix-store'],
      params: [`init=${init}`, 'console=ttyS0,115200', 'loglevel=4'],
      dropped: [],
    });
  });

  it('follows a script the user edited: iPXE options skipped, other iPXE settings left out and reported', () => {
    const edited = [
      '#!ipxe',
      '# kernel old-kernel',
      'kernel --name vmlinuz bzImage init=/x/init initrd=initrd ip=${ip} quiet',
      'initrd --name initrd initrd',
      'module extra.cpio',
      'boot',
    ].join('\n');
    expect(parseBootScript(edited, 't')).toMatchObject({
      kernel: 'bzImage',
      initrds: ['initrd', 'extra.cpio'],
      params: ['init=/x/init', 'quiet'],
      dropped: ['ip=${ip}'],
    });
  });

  it.each([
    ['#!ipxe\ninitrd initrd\nboot\n', /has no kernel line/],
    [
      'kernel http://10.0.0.1/bzImage init=/x\n',
      /loads http:\/\/10\.0\.0\.1\/bzImage as the kernel; a USB stick carries only files of the boot folder/,
    ],
    ['kernel bzImage\ninitrd ../initrd\n', /loads \.\.\/initrd as the initrd/],
  ])('refuses a script it cannot put on a stick, in one sentence: %j', (text, message) => {
    expect(() => parseBootScript(text, 't')).toThrow(message);
  });
});

describe('an aarch64 boot folder (its kernel is Image)', () => {
  it('is put on a stick for arm64 UEFI: BOOTAA64.EFI made by grub-mkstandalone for arm64-efi, no syslinux', () => {
    const arm = parseBootScript('#!ipxe\nkernel Image init=/x console=ttyAMA0\ninitrd initrd\nboot\n', 't');
    expect(arm).toMatchObject({ arch: 'aarch64-linux', kernel: 'Image', initrds: ['initrd'] });
    expect(grubStandaloneArgs('/o/BOOTAA64.EFI', '/c', '/m/arm64-efi', 'arm64-efi').slice(0, 2)).toEqual([
      '--format=arm64-efi',
      '--directory=/m/arm64-efi',
    ]);
    expect(USB_FILES.efiLoaderArm64).toBe('EFI/BOOT/BOOTAA64.EFI');
    const notes = imageNotes('/x.img', arm, undefined).map((n) => n.message);
    expect(notes).toContain(
      'It boots 64-bit ARM machines with UEFI (GRUB for arm64, with Secure Boot off, as its GRUB is not signed).',
    );
    expect(parseBootScript(script, 't').arch).toBe('x86_64-linux');
  });
});

describe('the boot loaders’ configurations', () => {
  const boot = parseBootScript(script, 'nixos-system-router-25.11');

  it('gives syslinux the initrds on its INITRD line and never as initrd= in APPEND, and the serial console first', () => {
    const lines = syslinuxConfig(boot).split('\n');
    expect(lines[0]).toBe('SERIAL 0 115200');
    expect(lines).toContain('  LINUX /bzImage');
    expect(lines).toContain('  INITRD /initrd,/manifest,/nix-store');
    expect(lines).toContain(`  APPEND init=${init} console=ttyS0,115200 loglevel=4`);
    expect(syslinuxConfig(boot)).not.toMatch(/initrd=/);
    expect(lines).toEqual(expect.arrayContaining(['PROMPT 0', 'TIMEOUT 0', 'DEFAULT nixos']));
    expect(syslinuxConfig({ ...boot, params: ['quiet'] })).not.toMatch(/^SERIAL/m);
    expect(syslinuxConfig({ ...boot, params: ['console=ttyS1'] }).split('\n')[0]).toBe('SERIAL 1 9600');
  });

  it('gives GRUB a menu entry that boots at once, quoting what GRUB would expand', () => {
    const text = grubConfig({ ...boot, params: [...boot.params, 'motd=$HOME', "it's"] });
    expect(text).toMatch(/^set timeout=0$/m);
    expect(text).toContain(`  linux /bzImage init=${init} console=ttyS0,115200 loglevel=4 'motd=$HOME' 'it'\\''s'\n`);
    expect(text).toContain('  initrd /initrd /manifest /nix-store\n');
    expect(text).toContain('menuentry nixos-system-router-25.11 {');
    expect(text).not.toMatch(/initrd=/);
  });
});

describe('how GRUB finds the stick', () => {
  const boot = parseBootScript(script, 'nixos-system-router-25.11');
  const cmdpath = `if [ ! -f /${RECORD_NAME} ]; then regexp --set 1:root '^\\((.+)\\)' "$cmdpath"; fi`;
  const search = `if [ ! -f /${RECORD_NAME} ]; then search --no-floppy --file --set=root /${RECORD_NAME}; fi`;

  // Debian 13's GRUB reads EFI/BOOT/grub.cfg itself with its root on the memdisk,
  // so the stick's own config must choose the stick before it loads anything.
  it('chooses the stick in grub.cfg itself: the device GRUB came from, else the disk with our record, before linux', () => {
    const lines = grubConfig(boot).split('\n');
    const at = (line: string) => lines.indexOf(line);
    expect(at('insmod fat')).toBeGreaterThan(0);
    expect(at(cmdpath)).toBeGreaterThan(at('insmod fat'));
    expect(at(search)).toBeGreaterThan(at(cmdpath));
    const linux = lines.findIndex((line) => line.startsWith('  linux /bzImage '));
    expect(linux).toBeGreaterThan(at(search));
    expect(lines.findIndex((line) => line.startsWith('menuentry '))).toBeGreaterThan(at(search));
  });

  it('does the same in the embedded config (a GRUB that runs it), then reads the stick’s grub.cfg', () => {
    const lines = GRUB_EMBEDDED_CONFIG.split('\n');
    expect(lines.indexOf(cmdpath)).toBeGreaterThan(0);
    expect(lines.indexOf(search)).toBeGreaterThan(lines.indexOf(cmdpath));
    expect(lines.indexOf('configfile /EFI/BOOT/grub.cfg')).toBeGreaterThan(lines.indexOf(search));
  });
});

describe('the disk image', () => {
  it('is at least 64 MiB (FAT32 needs 65525 clusters), in whole MiB, with one bootable FAT32 partition at 1 MiB', () => {
    const small = imageLayout([8 * MIB, MIB, 7000, 11 * MIB]);
    expect(small).toEqual({ partitionStart: MIB, partitionBytes: 64 * MIB, imageBytes: 65 * MIB });
    expect(sfdiskScript(small)).toBe('label: dos\nunit: sectors\n\nstart=2048, size=131072, type=c, bootable\n');
  });

  it('holds big files with their clusters and the two FATs of the smallest clusters', () => {
    const files = [12 * MIB, 60 * MIB, 3000 * MIB + 5];
    const layout = imageLayout(files);
    const sum = files.reduce((a, b) => a + b, 0);
    const fats = 2 * 4 * (layout.partitionBytes / 512);
    expect(layout.partitionBytes % MIB).toBe(0);
    expect(layout.partitionBytes).toBeGreaterThan(sum + fats + MIB);
    // ...and not much more: a few percent.
    expect(layout.partitionBytes).toBeLessThan(sum * 1.03);
  });

  it('refuses a file over FAT’s 4 GiB in one sentence', () => {
    expect(tooBigForFat('nix-store', FAT_MAX_FILE)).toBeUndefined();
    expect(tooBigForFat('nix-store', FAT_MAX_FILE + 1)).toMatch(
      /^nix-store is 4\.0 GiB, more than the 4 GiB a file can have on FAT, [^.]*\.$/,
    );
  });

  it('reads the partitions of an MBR, and nothing from a sector that is not one', () => {
    const sector = new Uint8Array(512);
    sector[510] = 0x55;
    sector[511] = 0xaa;
    const entry = new DataView(sector.buffer, 446, 16);
    entry.setUint8(0, 0x80);
    entry.setUint8(4, 0x0c);
    entry.setUint32(8, 2048, true);
    entry.setUint32(12, 131072, true);
    expect(parseMbr(sector)).toEqual([{ bootable: true, type: 0x0c, startSector: 2048, sectors: 131072 }]);
    expect(parseMbr(new Uint8Array(512))).toBeUndefined();
    expect(parseMbr(new TextEncoder().encode('{"not": "a disk"}'))).toBeUndefined();
  });

  it('says how to write it to a stick, quoting the file name for the shell', () => {
    const notes = imageNotes('/home/me/USB images/router.img', parseBootScript(script, 't'), 2 * 1024 * MIB);
    expect(notes[0]!.message).toContain(
      "sudo dd 'if=/home/me/USB images/router.img' of=/dev/sdX bs=4M conv=fsync status=progress",
    );
    expect(notes.map((n) => n.message).join('\n')).toMatch(/about 2\.0 GiB of RAM/);
  });
});

describe('the notes after a stick export', () => {
  const boot = parseBootScript(script, 't');
  const stick: StickFacts = {
    dir: '/media/me/STICK',
    mountPoint: '/media/me/STICK',
    fsType: 'vfat',
    device: '/dev/sdb1',
    disk: '/dev/sdb',
    partitionNumber: 1,
    mbrFile: '/usr/lib/syslinux/mbr/mbr.bin',
  };
  const text = (facts: StickFacts) =>
    stickNotes(facts, boot, undefined)
      .map((n) => `${n.level}: ${n.message}`)
      .join('\n');

  it('names the stick’s partition and disk in the commands that install syslinux for BIOS', () => {
    expect(text(stick)).toContain(
      'sudo umount /dev/sdb1 && sudo syslinux --install /dev/sdb1 && sudo dd if=/usr/lib/syslinux/mbr/mbr.bin of=/dev/sdb bs=440 count=1 conv=notrunc && sudo sfdisk --activate /dev/sdb 1.',
    );
    expect(text(stick)).not.toMatch(/^warning/m);
  });

  it('warns when the folder is not FAT or not the top of the stick, and then names no device', () => {
    const ext4 = text({ ...stick, dir: '/home/me/boot', mountPoint: '/', fsType: 'ext4', device: '/dev/vda1' });
    expect(ext4).toMatch(/^warning: \/home\/me\/boot is a folder inside the file system mounted at \/, /m);
    expect(ext4).toMatch(/^warning: The file system at \/home\/me\/boot is ext4, not FAT/m);
    expect(ext4).not.toContain('/dev/vda');
    const inside = text({ ...stick, dir: '/media/me/STICK/boot' });
    expect(inside).toMatch(/export to \/media\/me\/STICK to boot from it/);
    expect(inside).toContain('sudo syslinux --install /dev/sdX1');
    expect(inside).not.toContain('/dev/sdb');
  });

  it('warns about a stick formatted without a partition table', () => {
    const whole = text({ ...stick, device: '/dev/sdb', disk: undefined, partitionNumber: undefined });
    expect(whole).toContain('sudo umount /dev/sdb && sudo syslinux --install /dev/sdb.');
    expect(whole).toMatch(/^warning: \/dev\/sdb has no partition table/m);
  });
});
