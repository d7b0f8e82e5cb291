import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { exportBootFolder } from '../../../electron/pipeline/export/folder.ts';
import { OutDir } from '../../../electron/pipeline/media/out-dir.ts';
import { tempDir } from '../../helpers/fixtures.ts';

async function bootFolder(contents: Record<string, string>): Promise<string> {
  const dir = await tempDir();
  const out = await OutDir.open(dir);
  for (const [name, text] of Object.entries(contents))
    await out.write(name, `fp-${text}`, (temp) => writeFile(temp, text));
  await out.commit({ ramBytes: 123 });
  return dir;
}

async function snapshot(dir: string): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  for (const name of (await readdir(dir)).sort()) files[name] = await readFile(join(dir, name), 'utf8');
  return files;
}

describe('exportBootFolder', () => {
  it('copies the boot files next to files of others, which stay byte-identical, and replaces only its own on the next export', async () => {
    const from = await bootFolder({ bzImage: 'kernel v1', 'netboot.ipxe': '#!ipxe v1' });
    const to = await tempDir();
    await writeFile(join(to, 'undionly.kpxe'), 'someone else');
    const first = await exportBootFolder(from, to);
    expect(first.files).toEqual([
      { name: 'bzImage', bytes: 9 },
      { name: 'netboot.ipxe', bytes: 9 },
    ]);
    expect(await snapshot(to)).toMatchObject({
      bzImage: 'kernel v1',
      'netboot.ipxe': '#!ipxe v1',
      'undionly.kpxe': 'someone else',
    });

    const next = await bootFolder({ bzImage: 'kernel v1', 'netboot.ipxe': '#!ipxe v2' });
    const events: Array<{ name: string; reused: boolean }> = [];
    await exportBootFolder(next, to, {
      onEvent: (e) => e.event === 'file' && events.push({ name: e.name, reused: e.reused }),
    });
    expect(events).toEqual([
      { name: 'bzImage', reused: true },
      { name: 'netboot.ipxe', reused: false },
    ]);
    expect(await snapshot(to)).toMatchObject({ 'netboot.ipxe': '#!ipxe v2', 'undionly.kpxe': 'someone else' });
  });

  it('refuses to overwrite a file of the same name it did not write', async () => {
    const from = await bootFolder({ 'netboot.ipxe': '#!ipxe' });
    const to = await tempDir();
    await writeFile(join(to, 'netboot.ipxe'), 'hand-written');
    await expect(exportBootFolder(from, to)).rejects.toThrow(
      /was not written by Netboot Composer, so it is left alone/,
    );
    expect(await snapshot(to)).toEqual({ 'netboot.ipxe': 'hand-written' });
  });

  it('leaves the previous export whole when a copy fails mid-way', async () => {
    const to = await tempDir();
    await exportBootFolder(await bootFolder({ a: 'one', b: 'two' }), to);
    const before = await snapshot(to);
    const broken = await bootFolder({ a: 'ONE', b: 'TWO' });
    // The second file vanished since the build: its copy fails after the first was copied.
    await rm(join(broken, 'b'));
    await expect(exportBootFolder(broken, to)).rejects.toThrow();
    expect(await snapshot(to)).toEqual(before);
  });

  it('says what to do when the source is not a boot folder', async () => {
    await expect(exportBootFolder(await tempDir(), await tempDir())).rejects.toThrow(
      /holds no boot folder made by Netboot Composer; build the system first/,
    );
  });
});
