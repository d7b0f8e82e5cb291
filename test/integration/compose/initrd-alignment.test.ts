/**
 * Every initrd file that a build, an export or a USB image writes ends on a
 * 4-byte boundary (README, "The boot contract"), whatever the length of the
 * system's own initrd (each class, 4k to 4k+3 bytes) and whatever the initrd
 * compression (the compressed manifest and nix-store have any length too).
 * No boot: test/e2e/initrd-alignment.test.ts boots the four classes.
 */
import { execFileSync } from 'node:child_process';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { build } from '../../../electron/pipeline/compose/build.ts';
import { exportTo } from '../../../electron/pipeline/export/export.ts';
import { readBootFolderFiles } from '../../../electron/pipeline/media/read-folder.ts';
import type { InitrdCompression } from '../../../electron/shared/types.ts';
import { buildFixture, tempDir } from '../../helpers/fixtures.ts';

/** The test's stick is a folder in /tmp, on the disk the system runs from: the export is told it is not (ExportHooks.systemDisk). */
const STICK = { systemDisk: async () => undefined };

const INITRDS = ['initrd', 'manifest', 'nix-store'];
const env = { ...process.env, MTOOLS_SKIP_CHECK: '1' };

let cache: string;
beforeAll(async () => {
  cache = await tempDir();
});

/** Build the fixture whose initrd is `initrdBytes` long into a new boot folder. */
async function bootFolder(initrdBytes: number, compression: InitrdCompression): Promise<string> {
  const toplevel = await buildFixture({ variant: 'aligned', initrdBytes });
  expect((await stat(join(toplevel, 'initrd'))).size).toBe(initrdBytes);
  const out = await tempDir();
  await build({
    source: { kind: 'toplevel', path: toplevel },
    outDir: out,
    cacheDir: cache,
    initrdCompression: compression,
  });
  return out;
}

/** The sizes of the initrds in a folder, each a multiple of 4, and what the record says of them. */
async function expectAligned(dir: string): Promise<void> {
  const record = (await readBootFolderFiles(dir))!;
  for (const name of INITRDS) {
    const { size } = await stat(join(dir, name));
    expect(size % 4, `${dir}/${name} is ${size} bytes`).toBe(0);
    expect(record.files.find((f) => f.name === name)?.bytes).toBe(size);
  }
}

const CASES: { extra: number; compression: InitrdCompression }[] = [
  ...[0, 1, 2, 3].map((extra) => ({ extra, compression: { name: 'none' } as InitrdCompression })),
  { extra: 1, compression: { name: 'gzip' } },
  { extra: 2, compression: { name: 'zstd' } },
  { extra: 3, compression: { name: 'xz' } },
];

describe.each(CASES)('a system whose initrd is 4k+$extra bytes, initrd compression $compression.name', (c) => {
  it('gets a boot folder, exports and a USB image whose initrds all end on a 4-byte boundary', async () => {
    const from = await bootFolder(4096 + c.extra, c.compression);
    await expectAligned(from);
    // The system's bytes first, then zeros.
    const toplevel = (await readBootFolderFiles(from))!.info.toplevel!;
    const original = await readFile(join(toplevel, 'initrd'));
    const copy = await readFile(join(from, 'initrd'));
    expect(copy.subarray(0, original.length).equals(original)).toBe(true);
    expect([...copy.subarray(original.length)].every((b) => b === 0)).toBe(true);

    const folder = await tempDir();
    await exportTo(from, { kind: 'folder', dir: folder });
    await expectAligned(folder);
    const tftp = await tempDir();
    await exportTo(from, { kind: 'tftp', dir: tftp, subdir: 'test' });
    await expectAligned(join(tftp, 'test'));
    const http = await tempDir();
    await exportTo(from, { kind: 'http', dir: http, baseUrl: 'http://10.0.0.2/nb' });
    await expectAligned(http);
    const stick = await tempDir();
    await exportTo(from, { kind: 'usb', dir: stick }, STICK);
    await expectAligned(stick);
    const image = join(await tempDir(), 'boot.img');
    await exportTo(from, { kind: 'usb-image', file: image });
    for (const name of INITRDS) {
      const bytes = execFileSync('mtype', ['-i', `${image}@@1M`, `::/${name}`], { env, maxBuffer: 64 * 1024 * 1024 });
      expect(bytes.length % 4, `${name} in the image is ${bytes.length} bytes`).toBe(0);
    }
  });
});
