/**
 * A store of more than 4 GiB on a USB image: FAT32 holds files under 4 GiB,
 * so one `nix-store` of that size cannot go on a stick, but the store split
 * into several files (store-split.ts: none over 3.5 GiB) can. The boot
 * folder is made as a build makes one (through its OutDir, a record and a
 * script listing every initrd), its store files sparse, so that zeros cost no
 * disk until mcopy writes them into the image; everything is removed after.
 */
import { execFileSync } from 'node:child_process';
import { rm, stat, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeUsbImage } from '../../../electron/pipeline/export/usb.ts';
import { USB_FILES } from '../../../electron/pipeline/export/usb-layout.ts';
import { OutDir } from '../../../electron/pipeline/media/out-dir.ts';
import { storeFileName } from '../../../electron/shared/boot-folder.ts';
import { ipxeScript } from '../../../electron/shared/ipxe.ts';
import { tempDir } from '../../helpers/fixtures.ts';

const GiB = 1024 ** 3;
const env = { ...process.env, MTOOLS_SKIP_CHECK: '1' };
const made: string[] = [];

/** A boot folder whose store is `sizes.length` sparse files of these sizes. */
async function splitBootFolder(sizes: readonly number[]): Promise<{ dir: string; names: string[] }> {
  const dir = await tempDir();
  made.push(dir);
  const out = await OutDir.open(dir);
  for (const name of ['bzImage', 'initrd', 'manifest']) await out.write(name, name, (temp) => writeFile(temp, name));
  const names = sizes.map((_, i) => storeFileName(i));
  for (const [i, name] of names.entries()) {
    await out.write(name, `zeros-${sizes[i]}`, async (temp) => {
      await writeFile(temp, '');
      await truncate(temp, sizes[i]!);
    });
  }
  const script = ipxeScript({
    title: 't',
    kernel: 'bzImage',
    initrds: ['initrd', 'manifest', ...names],
    init: '/x/init',
    kernelParams: '',
  });
  await out.write('netboot.ipxe', 'script', (temp) => writeFile(temp, script));
  await out.commit({ ramBytes: 1 });
  return { dir, names };
}

afterAll(async () => {
  for (const dir of made) await rm(dir, { recursive: true, force: true });
});

describe('a store over 4 GiB on a USB image', () => {
  it('goes on the image as several files, each under FAT’s 4 GiB, all loaded by both boot loaders', async () => {
    const sizes = [1.5 * GiB, 1.5 * GiB, 1.25 * GiB];
    const { dir, names } = await splitBootFolder(sizes);
    const imageDir = await tempDir();
    made.push(imageDir);
    const image = join(imageDir, 'big.img');
    await makeUsbImage(dir, image);
    expect((await stat(image)).size).toBeGreaterThan(4.25 * GiB);
    const listing = execFileSync('mdir', ['-a', '-i', `${image}@@1M`, '::/'], { env, encoding: 'utf8' });
    for (const [i, name] of names.entries()) {
      // mdir prints the size with thousands separators or not, by version: digits only.
      const line = listing.split('\n').find((l) => new RegExp(`^${name}\\s`).test(l) || l.endsWith(` ${name}`));
      expect(line, name).toBeDefined();
      expect(line!.replace(/[\s,]/g, '')).toContain(String(sizes[i]));
    }
    const syslinux = execFileSync('mtype', ['-i', `${image}@@1M`, `::/${USB_FILES.syslinuxConfig}`], {
      env,
      encoding: 'utf8',
    });
    expect(syslinux).toContain(`INITRD /initrd,/manifest,${names.map((n) => `/${n}`).join(',')}`);
    const grub = execFileSync('mtype', ['-i', `${image}@@1M`, `::/${USB_FILES.grubConfig}`], { env, encoding: 'utf8' });
    expect(grub).toContain(`initrd /initrd /manifest ${names.map((n) => `/${n}`).join(' ')}`);
    await rm(imageDir, { recursive: true, force: true });
  }, 600_000);
});
