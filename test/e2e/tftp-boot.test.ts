/**
 * The TFTP export boots: the demo system, built once and exported by the CLI
 * into a subfolder of a TFTP root, netboots from that subfolder under BIOS
 * (SeaBIOS) and UEFI (OVMF), iPXE fetching every file over QEMU's TFTP. The
 * demo is built with a small store file target, so its store is several
 * initrd files (store-split.ts): under UEFI the kernel's EFI stub loads each
 * by its `initrd=` name.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { DEMO_MARKER } from '../../electron/pipeline/media/markers.ts';
import { jsonEvents, qemuProcessesFor, runCli, tempDir } from '../helpers/fixtures.ts';

const BOOT_TIMEOUT = 300_000;

let root: string;

beforeAll(async () => {
  const built = await tempDir();
  const build = await runCli(['build', '--demo', '--out', built, '--cache', await tempDir(), '--json'], {
    NETBOOT_COMPOSER_STORE_FILE_TARGET: String(3 * 1024 * 1024),
  });
  expect(build.code).toBe(0);
  const storeFiles = (await readdir(built)).filter((name) => /^nix-store/.test(name));
  expect(storeFiles.length).toBeGreaterThanOrEqual(4);
  root = await tempDir();
  const exported = await runCli(['export', '--from', built, '--tftp', root, '--subdir', 'demo', '--json']);
  expect(exported.stderr).toBe('');
  expect(exported.code).toBe(0);
  expect(jsonEvents(exported.stdout).at(-1)).toMatchObject({ event: 'exported', kind: 'tftp', dir: root });
  expect((await readdir(root)).sort()).toEqual(
    ['.netboot-composer.json', 'demo', 'ipxe.efi', 'snponly.efi', 'undionly.kpxe'].sort(),
  );
}, BOOT_TIMEOUT);

describe('the demo, exported for TFTP', () => {
  it.each(['bios', 'uefi'])(
    'netboots from the export’s subfolder under %s',
    async (firmware) => {
      const dir = join(root, 'demo');
      const { code, stdout } = await runCli(['test-boot', '--dir', dir, '--firmware', firmware, '--json']);
      const result = jsonEvents(stdout).at(-1);
      expect(result, JSON.stringify({ reason: result?.reason, lastLines: result?.lastLines })).toMatchObject({
        event: 'result',
        passed: true,
        firmware,
      });
      expect(String(result?.reason)).toContain(DEMO_MARKER);
      expect(code).toBe(0);
      expect(qemuProcessesFor(dir)).toEqual([]);
    },
    BOOT_TIMEOUT,
  );
});
