/**
 * The proof that USB media work: the demo's USB image, booted in QEMU as a
 * USB stick with no network, reaches the demo's stage 2 under BIOS
 * (SeaBIOS, syslinux) and under UEFI (OVMF, the standalone GRUB). The demo
 * is built with a small store file target, so its store is several initrd
 * files (store-split.ts), all on the stick and in both loaders' configs.
 */
import { execFileSync } from 'node:child_process';
import { copyFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { bootMemoryMiB } from '../../electron/pipeline/boot/memory.ts';
import { DEMO_MARKER } from '../../electron/pipeline/media/markers.ts';
import { makeUsbImage } from '../../electron/pipeline/export/usb.ts';
import { grubStandaloneArgs, USB_FILES } from '../../electron/pipeline/export/usb-layout.ts';
import { jsonEvents, qemuProcessesFor, runCli, tempDir } from '../helpers/fixtures.ts';

const BOOT_TIMEOUT = 300_000;

let image: string;
let memoryMiB: number;
let storeFiles: string[];

beforeAll(async () => {
  const from = await tempDir();
  const built = await runCli(['build', '--demo', '--out', from, '--cache', await tempDir(), '--json'], {
    NETBOOT_COMPOSER_STORE_FILE_TARGET: String(2 * 1024 * 1024),
  });
  expect(built.code).toBe(0);
  storeFiles = jsonEvents(built.stdout)
    .filter((e) => e.event === 'file' && /^nix-store/.test(String(e.name)))
    .map((e) => String(e.name));
  expect(storeFiles.length).toBeGreaterThanOrEqual(4);
  image = join(await tempDir(), 'demo usb.img');
  await makeUsbImage(from, image);
  memoryMiB = await bootMemoryMiB(from);
});

describe('the demo’s USB image', () => {
  it.each(['bios', 'uefi'])(
    'boots as a USB stick under %s to the demo’s stage 2, which verifies the whole store',
    async (firmware) => {
      const { code, stdout } = await runCli(['test-boot', '--usb-image', image, '--firmware', firmware, '--json']);
      const events = jsonEvents(stdout);
      const result = events.at(-1);
      expect(result).toMatchObject({ event: 'result', passed: true, firmware });
      expect(String(result?.reason)).toContain(DEMO_MARKER);
      expect(code).toBe(0);
      // The RAM came from the boot folder's record, which the image carries.
      expect(result?.memoryMiB).toBe(memoryMiB);
      const console = events
        .filter((e) => e.event === 'console')
        .map((e) => String(e.line ?? e.data))
        .join('\n');
      // Its own boot loader started it, from the stick (GRUB 2.06 greets, 2.12 only names the entry it boots).
      expect(console).toMatch(firmware === 'bios' ? /SYSLINUX 6\.\d+/ : /Welcome to GRUB!|Booting `nixos-system-/);
      expect(qemuProcessesFor(image)).toEqual([]);
      // Every store file is on the stick, and the loader's config loads them all.
      const env = { ...process.env, MTOOLS_SKIP_CHECK: '1' };
      const listing = execFileSync('mdir', ['-b', '-i', `${image}@@1M`, '::/'], { env, encoding: 'utf8' });
      for (const name of storeFiles) expect(listing).toContain(`::/${name}\n`);
      const config = execFileSync(
        'mtype',
        ['-i', `${image}@@1M`, firmware === 'bios' ? `::/${USB_FILES.syslinuxConfig}` : `::/${USB_FILES.grubConfig}`],
        { env, encoding: 'utf8' },
      );
      for (const name of storeFiles) expect(config).toContain(`/${name}`);
    },
    BOOT_TIMEOUT,
  );

  // Debian 13's GRUB (2.12) reads EFI/BOOT/grub.cfg next to itself directly,
  // its root still on its memdisk, and never runs the config built into
  // BOOTX64.EFI. Whichever GRUB is installed here, this one does the same:
  // its only config reads the stick's grub.cfg and chooses no root.
  it(
    'boots under uefi when GRUB reads the stick’s grub.cfg itself, its root still on its memdisk (Debian 13’s GRUB)',
    async () => {
      const dir = await tempDir();
      const reader = join(dir, 'reader.cfg');
      await writeFile(reader, 'configfile "$cmdpath/grub.cfg"\n');
      const efi = join(dir, 'BOOTX64.EFI');
      execFileSync('grub-mkstandalone', grubStandaloneArgs(efi, reader));
      const other = join(dir, 'read directly.img');
      await copyFile(image, other);
      execFileSync('mcopy', ['-o', '-i', `${other}@@1M`, efi, `::/${USB_FILES.efiLoader}`], {
        env: { ...process.env, MTOOLS_SKIP_CHECK: '1' },
      });
      const { code, stdout } = await runCli(['test-boot', '--usb-image', other, '--firmware', 'uefi', '--json']);
      const result = jsonEvents(stdout).at(-1);
      expect(result).toMatchObject({ event: 'result', passed: true, firmware: 'uefi' });
      expect(stdout).not.toContain('not found');
      expect(code).toBe(0);
    },
    BOOT_TIMEOUT,
  );
});
