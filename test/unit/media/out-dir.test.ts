import { spawnSync } from 'node:child_process';
import { mkdir, readdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { OutDir } from '../../../electron/pipeline/media/out-dir.ts';
import {
  folderRecordText,
  isSafeName,
  JOURNAL_NAME,
  LOCK_NAME,
  RECORD_NAME,
  TEMPS_NAME,
} from '../../../electron/pipeline/media/record.ts';
import { readBootFolderFiles, readBootFolderInfo } from '../../../electron/pipeline/media/read-folder.ts';
import { type CommitJournal } from '../../../electron/pipeline/media/journal.ts';
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

describe('a writer that was killed, and two writers at once', () => {
  /** The pid of a process that has ended. */
  const deadPid = (): number => spawnSync('true').pid!;

  it('finishes a commit its writer did not end, from the journal, before a reader reads the folder', async () => {
    const dir = await tempDir();
    const out = await OutDir.open(dir);
    for (const name of ['a', 'b', 'gone']) await out.write(name, `${name}1`, (temp) => writeFile(temp, `old ${name}`));
    await out.commit();
    // A writer killed after its first rename: `a` is the new one, `b` still
    // the old one with the new one beside it, the new record not yet in place.
    await writeFile(join(dir, '.a.partial-aaaaaaaa'), 'new a');
    await writeFile(join(dir, '.b.partial-bbbbbbbb'), 'new b');
    const files = {
      a: await entry(dir, '.a.partial-aaaaaaaa', 'a2'),
      b: await entry(dir, '.b.partial-bbbbbbbb', 'b2'),
    };
    await writeFile(join(dir, '.netboot-composer.json.partial-cccccccc'), folderRecordText(files, { ramBytes: 2 }));
    const journal: CommitJournal = {
      tool: 'netboot-composer-commit',
      version: 1,
      renames: [
        { temp: '.a.partial-aaaaaaaa', name: 'a' },
        { temp: '.b.partial-bbbbbbbb', name: 'b' },
      ],
      remove: ['gone'],
      record: '.netboot-composer.json.partial-cccccccc',
    };
    await rename(join(dir, '.a.partial-aaaaaaaa'), join(dir, 'a'));
    await writeFile(join(dir, JOURNAL_NAME), JSON.stringify(journal));
    await writeFile(join(dir, LOCK_NAME), String(deadPid()));

    const read = await readBootFolderFiles(dir);
    expect(read?.files.map((f) => [f.name, f.fingerprint])).toEqual([
      ['a', 'a2'],
      ['b', 'b2'],
    ]);
    expect(read?.info).toEqual({ ramBytes: 2 });
    expect(await readFile(join(dir, 'b'), 'utf8')).toBe('new b');
    expect((await readdir(dir)).sort()).toEqual([RECORD_NAME, 'a', 'b']);
    // The next writer finds both current.
    const next = await OutDir.open(dir);
    expect(await next.isCurrent('a', 'a2')).toBe(true);
    expect(await next.isCurrent('b', 'b2')).toBe(true);
    await next.discard();
  });

  it('removes the temporary files and folders a killed writer listed, and nothing it did not list', async () => {
    const dir = await tempDir();
    await mkdir(join(dir, 'EFI', 'BOOT'), { recursive: true });
    await writeFile(join(dir, 'EFI', 'BOOT', '.BOOTX64.EFI.partial-12345678'), 'half');
    await writeFile(join(dir, '.nix-store.partial-12345678'), 'half');
    await writeFile(join(dir, '.mine.partial-87654321'), 'not ours');
    await writeFile(
      join(dir, TEMPS_NAME),
      JSON.stringify({
        temps: ['.nix-store.partial-12345678', 'EFI/BOOT/.BOOTX64.EFI.partial-12345678', '../escape.partial-12345678'],
        folders: ['EFI', 'EFI/BOOT'],
      }),
    );
    await writeFile(join(dir, LOCK_NAME), String(deadPid()));
    const out = await OutDir.open(dir);
    expect((await readdir(dir)).sort()).toEqual(['.mine.partial-87654321', LOCK_NAME]);
    await out.discard();
    expect(await readdir(dir)).toEqual(['.mine.partial-87654321']);
  });

  it('lets one writer at a time into a folder: the second waits, saying so, and gives up after its wait in one sentence', async () => {
    const dir = await tempDir();
    const first = await OutDir.open(dir);
    const said: string[] = [];
    const second = OutDir.open(dir, { onWait: (message) => said.push(message), waitMs: 30_000 });
    await first.write('f', 'f1', (temp) => writeFile(temp, 'F'));
    await expect(OutDir.open(dir, { waitMs: 1000 })).rejects.toThrow(
      `Another Netboot Composer process (pid ${process.pid}) is still writing ${dir} after 1 s; wait for it to finish, or choose another folder with --out.`,
    );
    await first.commit();
    const out = await second;
    expect(said).toEqual([
      `Another Netboot Composer process (pid ${process.pid}) is writing ${dir}: waiting for it to finish.`,
    ]);
    expect(await out.isCurrent('f', 'f1')).toBe(true);
    await out.discard();
    expect((await readdir(dir)).sort()).toEqual([RECORD_NAME, 'f']);
  });
});

/** A record entry for the file `temp` in `dir`, as a commit writes it before renaming. */
async function entry(dir: string, temp: string, fingerprint: string) {
  const info = await stat(join(dir, temp));
  return { fingerprint, bytes: info.size, mtimeMs: info.mtimeMs };
}
