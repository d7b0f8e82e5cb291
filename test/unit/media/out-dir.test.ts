import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { OutDir } from '../../../electron/pipeline/media/out-dir.ts';
import { isSafeName, readBootFolderInfo, RECORD_NAME } from '../../../electron/pipeline/media/record.ts';
import { tempDir } from '../../helpers/fixtures.ts';

describe('the boot folder', () => {
  it('puts files in place only on commit, and keeps a record of them', async () => {
    const dir = await tempDir();
    const out = await OutDir.open(dir);
    await out.claim(['a', 'b']);
    await out.write('a', 'fp-a', (temp) => writeFile(temp, 'A'));
    await out.write('b', 'fp-b', (temp) => writeFile(temp, 'BB'));
    // Before commit, only temporary files exist.
    expect((await readdir(dir)).filter((n) => !n.startsWith('.'))).toEqual([]);
    await out.commit({ ramBytes: 42 });
    expect((await readdir(dir)).sort()).toEqual([RECORD_NAME, 'a', 'b']);
    expect(await readFile(join(dir, 'b'), 'utf8')).toBe('BB');
    expect(await readBootFolderInfo(dir)).toEqual({ ramBytes: 42 });
  });

  it('keeps a file whose inputs did not change, and replaces only what it wrote', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'notes.txt'), 'mine');
    let out = await OutDir.open(dir);
    await out.write('kernel-x', 'k1', (temp) => writeFile(temp, 'K'));
    await out.write('script', 's1', (temp) => writeFile(temp, 'S'));
    await out.commit();

    out = await OutDir.open(dir);
    expect(await out.isCurrent('script', 's1')).toBe(true);
    expect(await out.isCurrent('script', 's2')).toBe(false);
    out.keep('script');
    await out.write('kernel-y', 'k2', (temp) => writeFile(temp, 'K2'));
    await out.commit();
    // kernel-x was ours and is not part of this build: gone. notes.txt was never ours: kept.
    expect((await readdir(dir)).sort()).toEqual([RECORD_NAME, 'kernel-y', 'notes.txt', 'script']);
    expect(await readFile(join(dir, 'notes.txt'), 'utf8')).toBe('mine');
  });

  it('refuses to replace a file it did not write', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'bzImage'), 'somebody else’s kernel');
    const out = await OutDir.open(dir);
    await expect(out.claim(['bzImage'])).rejects.toThrow(/was not written by Netboot Composer, so it is left alone/);
    expect(await readFile(join(dir, 'bzImage'), 'utf8')).toBe('somebody else’s kernel');
  });

  it('leaves the previous build whole when a build is discarded', async () => {
    const dir = await tempDir();
    let out = await OutDir.open(dir);
    await out.write('f', '1', (temp) => writeFile(temp, 'old'));
    await out.commit();
    out = await OutDir.open(dir);
    await out.write('f', '2', (temp) => writeFile(temp, 'new'));
    await out.discard();
    expect(await readdir(dir)).toEqual(expect.arrayContaining(['f', RECORD_NAME]));
    expect((await readdir(dir)).some((n) => n.includes('partial'))).toBe(false);
    expect(await readFile(join(dir, 'f'), 'utf8')).toBe('old');
  });

  it('says what is wrong with an out folder that is a file, or cannot be made', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'file'), '');
    await expect(OutDir.open(join(dir, 'file'))).rejects.toThrow(/is a file, not a folder/);
    await expect(OutDir.open(join(dir, 'file', 'sub'))).rejects.toThrow(
      /cannot be written \(part of the path is a file\)/,
    );
    await mkdir(join(dir, 'ok'));
    await writeFile(join(dir, 'ok', RECORD_NAME), '{ broken');
    await expect(OutDir.open(join(dir, 'ok'))).rejects.toThrow(/is damaged/);
  });

  it('writes files in subfolders (a stick’s EFI/BOOT) beside files of others there, and replaces and removes only its own', async () => {
    const dir = await tempDir();
    await mkdir(join(dir, 'EFI', 'vendor'), { recursive: true });
    await writeFile(join(dir, 'EFI', 'vendor', 'grubx64.efi'), 'theirs');
    let out = await OutDir.open(dir);
    await out.claim(['EFI/BOOT/BOOTX64.EFI', 'EFI/BOOT/grub.cfg']);
    await out.write('EFI/BOOT/BOOTX64.EFI', 'e1', (temp) => writeFile(temp, 'efi v1'));
    await out.write('EFI/BOOT/grub.cfg', 'g1', (temp) => writeFile(temp, 'cfg v1'));
    expect(await readdir(join(dir, 'EFI', 'BOOT'))).toHaveLength(2);
    expect((await readdir(join(dir, 'EFI', 'BOOT'))).every((n) => n.includes('.partial-'))).toBe(true);
    await out.commit();
    expect((await readdir(join(dir, 'EFI', 'BOOT'))).sort()).toEqual(['BOOTX64.EFI', 'grub.cfg']);

    // The next export replaces one, keeps none of the other (no longer written), and leaves theirs.
    await writeFile(join(dir, 'EFI', 'BOOT', 'notes.txt'), 'mine');
    out = await OutDir.open(dir);
    await out.write('EFI/BOOT/BOOTX64.EFI', 'e2', (temp) => writeFile(temp, 'efi v2'));
    await out.commit();
    await out.release();
    expect((await readdir(join(dir, 'EFI', 'BOOT'))).sort()).toEqual(['BOOTX64.EFI', 'notes.txt']);
    expect(await readFile(join(dir, 'EFI', 'BOOT', 'BOOTX64.EFI'), 'utf8')).toBe('efi v2');
    expect(await readFile(join(dir, 'EFI', 'vendor', 'grubx64.efi'), 'utf8')).toBe('theirs');

    // A file of theirs where ours would go is refused.
    out = await OutDir.open(dir);
    await expect(out.claim(['EFI/BOOT/notes.txt'])).rejects.toThrow(/was not written by Netboot Composer/);
  });

  it('removes the subfolders a discarded export made, and none that were there before', async () => {
    const dir = await tempDir();
    await mkdir(join(dir, 'EFI'));
    const out = await OutDir.open(dir);
    await out.write('EFI/BOOT/BOOTX64.EFI', 'e1', (temp) => writeFile(temp, 'efi'));
    await out.write('boot/grub/grub.cfg', 'g1', (temp) => writeFile(temp, 'cfg'));
    await out.discard();
    expect((await readdir(dir)).sort()).toEqual(['EFI']);
    expect(await readdir(join(dir, 'EFI'))).toEqual([]);
    expect((await stat(join(dir, 'EFI'))).isDirectory()).toBe(true);
  });

  it('never writes or removes a name that leaves the folder: a record that lists one is refused', async () => {
    expect(['bzImage', 'EFI/BOOT/BOOTX64.EFI', '.netboot-composer.json'].every(isSafeName)).toBe(true);
    expect(['', '../x', 'a/../../x', '/etc/passwd', 'a//b', './a', 'a\\b'].some(isSafeName)).toBe(false);
    const parent = await tempDir();
    const dir = join(parent, 'out');
    await mkdir(dir);
    await writeFile(join(parent, 'victim'), 'keep me');
    const record = {
      tool: 'netboot-composer',
      version: 1,
      files: { '../victim': { fingerprint: 'x', bytes: 7, mtimeMs: 0 } },
    };
    await writeFile(join(dir, RECORD_NAME), JSON.stringify(record));
    await expect(OutDir.open(dir)).rejects.toThrow(
      /names "\.\.\/victim", which is not a file inside the folder, so it is not a record Netboot Composer wrote/,
    );
    await writeFile(join(dir, RECORD_NAME), JSON.stringify({ ...record, files: {} }));
    const out = await OutDir.open(dir);
    await expect(out.write('../victim', 'y', (temp) => writeFile(temp, 'gotcha'))).rejects.toThrow(/not a file name/);
    await out.write('f', 'f1', (temp) => writeFile(temp, 'F'));
    await out.commit();
    expect(await readFile(join(parent, 'victim'), 'utf8')).toBe('keep me');
  });
});
