/**
 * Initrds of every length boot, where a misaligned one breaks: the kernel's
 * EFI stub joins the `initrd=` files with no padding, and reads an archive
 * that starts off a 4-byte boundary as garbage. Four demo systems whose own
 * `initrd` is 4k, 4k+1, 4k+2 and 4k+3 bytes (assets/demo/default.nix's
 * `initrdExtraBytes`, searched until each class is found) netboot to the
 * demo's stage-2 marker under UEFI (OVMF and the EFI iPXE ROM), under BIOS,
 * and, for the misaligned classes, through the TFTP export's snponly.efi
 * chain. A control proves the UEFI boot is where it breaks: the same folder
 * with the system's unpadded initrd fails, and says after which byte.
 *
 * The systems are built once; the boots run one after another (each one
 * keeps a core busy under TCG).
 */
import { copyFile, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildDemo } from '../../electron/pipeline/compose/demo.ts';
import { RECORD_NAME } from '../../electron/pipeline/media/record.ts';
import { jsonEvents, runCli, tempDir } from '../helpers/fixtures.ts';
import { expectDemoBooted, netbootTftpExportUnderUefi, netnsProblem } from '../helpers/netns.ts';

const BOOT_TIMEOUT = 300_000;
const CLASSES = [0, 1, 2, 3] as const;
/** Enough tries to meet every class: here all four came within 5. */
const MAX_EXTRA_BYTES = 64;

/** Per length class: the system, its own initrd's length, and its boot folder. */
const systems = new Map<number, { toplevel: string; initrdBytes: number; extraBytes: number; dir: string }>();
const times: string[] = [];

beforeAll(async () => {
  const cache = await tempDir();
  for (let extra = 0; systems.size < CLASSES.length && extra <= MAX_EXTRA_BYTES; extra++) {
    // 0 is the demo itself.
    const toplevel = await buildDemo(cache, {}, 'seed', extra === 0 ? {} : { initrdExtraBytes: String(extra) });
    const initrdBytes = (await stat(join(toplevel, 'initrd'))).size;
    if (systems.has(initrdBytes % 4)) continue;
    const dir = await tempDir();
    const built = await runCli(['build', '--toplevel', toplevel, '--out', dir, '--cache', cache, '--json']);
    expect(built.code, built.stderr).toBe(0);
    systems.set(initrdBytes % 4, { toplevel, initrdBytes, extraBytes: extra, dir });
  }
  expect([...systems.keys()].sort()).toEqual([...CLASSES]);
}, 20 * 60_000);

afterAll(() => {
  if (times.length > 0) console.log(`initrd length classes, boot times:\n  ${times.join('\n  ')}`);
});

function system(extra: number) {
  const found = systems.get(extra);
  if (!found) throw new Error(`no system whose initrd is 4k+${extra} bytes`);
  return found;
}

/** `test-boot` through the CLI, as a user runs it; returns its result event and the console. */
async function testBoot(dir: string, firmware: 'bios' | 'uefi'): Promise<Record<string, unknown>> {
  const { stdout } = await runCli(['test-boot', '--dir', dir, '--firmware', firmware, '--json']);
  const events = jsonEvents(stdout);
  const result = events.at(-1)!;
  expect(result.event).toBe('result');
  const console = events.map((e) => (e.event === 'console' ? String(e.line ?? e.data) : '')).join('\n');
  return { ...result, console };
}

/**
 * How Linux's EFI stub got its initrds. From the `initrd=` files on its
 * command line, it joins them itself with no padding (iPXE before 1.21,
 * Debian 12's): the case that breaks on a misaligned initrd. Through the
 * LINUX_EFI_INITRD_MEDIA device path, iPXE 1.21 and later (Debian 13's) hand
 * it one initrd they joined, each part padded to 4 bytes.
 */
const STUB_JOINS = 'EFI stub: Loaded initrd from command line option';
const LOADER_JOINS = 'EFI stub: Loaded initrd from LINUX_EFI_INITRD_MEDIA_GUID device path';

describe('systems whose initrd has each length modulo 4', () => {
  it.each(CLASSES)('the system whose initrd is 4k+%i bytes gets a boot folder with a padded initrd', async (extra) => {
    const { toplevel, initrdBytes, dir } = system(extra);
    expect(initrdBytes % 4).toBe(extra);
    expect((await stat(join(toplevel, 'initrd'))).size).toBe(initrdBytes);
    const padded = (await stat(join(dir, 'initrd'))).size;
    expect(padded % 4).toBe(0);
    expect(padded - initrdBytes).toBe((4 - extra) % 4);
  });

  it.each(
    CLASSES.flatMap((extra) => [
      { extra, firmware: 'uefi' as const },
      { extra, firmware: 'bios' as const },
    ]),
  )(
    'netboots to the demo’s marker with an initrd of 4k+$extra bytes under $firmware',
    async ({ extra, firmware }) => {
      const { dir, initrdBytes, extraBytes } = system(extra);
      const result = await testBoot(dir, firmware);
      expect(result, JSON.stringify({ reason: result.reason, lastLines: result.lastLines })).toMatchObject({
        passed: true,
        firmware,
      });
      times.push(
        `4k+${extra} (${initrdBytes} bytes, initrdExtraBytes ${extraBytes}), ${firmware}: ${(result.seconds as number).toFixed(1)} s (${String(result.accel)})`,
      );
    },
    BOOT_TIMEOUT,
  );

  it(
    'control: the same UEFI netboot with the system’s unpadded initrd fails, and says after which byte',
    async () => {
      const extra = CLASSES.find((c) => c !== 0)!;
      const { dir, toplevel, initrdBytes } = system(extra);
      const unpadded = await tempDir();
      for (const name of ['bzImage', 'manifest', 'nix-store', 'netboot.ipxe', '.netboot-composer.json']) {
        await copyFile(join(dir, name), join(unpadded, name));
      }
      await copyFile(join(toplevel, 'initrd'), join(unpadded, 'initrd'));
      // The record names the initrd's new size, as an older build's did (test-boot refuses a record that lies).
      const record = JSON.parse(await readFile(join(unpadded, RECORD_NAME), 'utf8')) as {
        files: Record<string, { bytes: number }>;
      };
      record.files.initrd!.bytes = initrdBytes;
      await writeFile(join(unpadded, RECORD_NAME), JSON.stringify(record));
      const result = await testBoot(unpadded, 'uefi');
      const console = String(result.console);
      if (console.includes(LOADER_JOINS)) {
        // This iPXE pads what it joins, so even an unpadded folder boots here;
        // the folders above are padded for the loaders that do not.
        expect(result.passed, String(result.reason)).toBe(true);
      } else {
        expect(console).toContain(STUB_JOINS);
        expect(result.passed).toBe(false);
        expect(result.reason).toMatch(
          new RegExp(
            `^the kernel found no valid initramfs archive after byte ${initrdBytes}: an initrd that is misaligned or corrupt`,
          ),
        );
      }
      await rm(unpadded, { recursive: true, force: true });
    },
    BOOT_TIMEOUT,
  );
});

const problem = netnsProblem();

describe.skipIf(problem !== undefined)(
  `the TFTP export's snponly.efi chain under UEFI${problem ? ` (${problem})` : ''}`,
  () => {
    it.each([1, 2, 3])(
      'OVMF’s PXE chainloads snponly.efi, which boots the system whose initrd is 4k+%i bytes',
      async (extra) => {
        const started = performance.now();
        const result = await netbootTftpExportUnderUefi(system(extra).dir);
        expectDemoBooted(result);
        expect(result.console).toContain('NBP filename is snponly.efi');
        // Debian 12's snponly.efi leaves the join to the kernel's EFI stub; Debian 13's joins and pads itself.
        expect(result.console).toMatch(new RegExp(`${STUB_JOINS}|${LOADER_JOINS}`));
        times.push(`4k+${extra}, UEFI snponly.efi chain: ${((performance.now() - started) / 1000).toFixed(1)} s (TCG)`);
      },
      BOOT_TIMEOUT,
    );
  },
);
