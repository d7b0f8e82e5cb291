import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { OutDir, readBootFolderInfo, RECORD_NAME } from '../../electron/pipeline/output.ts';
import { tempDir } from '../helpers/fixtures.ts';

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
});
