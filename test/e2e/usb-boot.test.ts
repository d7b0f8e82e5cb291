/**
 * The proof that USB media work: the demo's USB image, booted in QEMU as a
 * USB stick with no network, reaches the demo's stage 2 under BIOS
 * (SeaBIOS, syslinux) and under UEFI (OVMF, the standalone GRUB).
 */
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { bootMemoryMiB } from '../../electron/pipeline/boot.ts';
import { DEMO_MARKER } from '../../electron/pipeline/demo.ts';
import { makeUsbImage } from '../../electron/pipeline/usb.ts';
import { jsonEvents, qemuProcessesFor, runCli, tempDir } from '../helpers/fixtures.ts';

const BOOT_TIMEOUT = 300_000;

let image: string;
let memoryMiB: number;

beforeAll(async () => {
  const from = await tempDir();
  const built = await runCli(['build', '--demo', '--out', from, '--cache', await tempDir(), '--json']);
  expect(built.code).toBe(0);
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
      // Its own boot loader started it, from the stick.
      expect(console).toMatch(firmware === 'bios' ? /SYSLINUX 6\.\d+/ : /Welcome to GRUB!/);
      expect(qemuProcessesFor(image)).toEqual([]);
    },
    BOOT_TIMEOUT,
  );
});
