import { execFileSync } from 'node:child_process';
import { lstat, mkdir, readFile, readlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  cpioBytes,
  cpioHeader,
  cpioParts,
  partsSize,
  type CpioEntry,
} from '../../../electron/pipeline/compose/cpio.ts';
import { writeArchive } from '../../../electron/pipeline/compose/initrd.ts';
import { readCpio } from '../../helpers/cpio-reader.ts';
import { tempDir } from '../../helpers/fixtures.ts';

async function bytesOf(entries: CpioEntry[]): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of cpioBytes(cpioParts(entries))) chunks.push(chunk);
  return Buffer.concat(chunks);
}

describe('cpio newc writer', () => {
  it('writes an archive GNU cpio extracts to the same files, modes and link targets', async () => {
    const dir = await tempDir();
    const source = join(dir, 'big.bin');
    const big = Buffer.alloc(3 * 1024 * 1024 + 3, 7);
    await writeFile(source, big);
    const entries: CpioEntry[] = [
      { kind: 'dir', name: 'nix-store-squashes', mode: 0o755 },
      { kind: 'dir', name: 'nix-store-squashes/abcdefgh', mode: 0o700 },
      { kind: 'file', name: 'nix-store-squashes/abcdefgh/from disk', mode: 0o444, path: source, size: big.length },
      { kind: 'file', name: 'nix-store-squashes/ünïcödé ✓.txt', mode: 0o644, data: Buffer.from('grüße\n') },
      { kind: 'file', name: 'nix-store-squashes/empty', mode: 0o600, data: Buffer.alloc(0) },
      { kind: 'file', name: 'nix-store-squashes/run.sh', mode: 0o755, data: Buffer.from('#!/bin/sh\n') },
      { kind: 'symlink', name: 'nix-store-squashes/link', target: 'abcdefgh/from disk' },
    ];
    const archive = join(dir, 'archive.cpio');
    await writeArchive(cpioParts(entries), { name: 'none' }, archive);
    const out = join(dir, 'extracted');
    await mkdir(out);
    execFileSync('cpio', ['-i', '--make-directories', '--no-absolute-filenames', '--quiet', '-F', archive], {
      cwd: out,
    });

    const root = join(out, 'nix-store-squashes');
    expect((await readFile(join(root, 'abcdefgh', 'from disk'))).equals(big)).toBe(true);
    expect(await readFile(join(root, 'ünïcödé ✓.txt'), 'utf8')).toBe('grüße\n');
    expect((await readFile(join(root, 'empty'))).length).toBe(0);
    expect(await readlink(join(root, 'link'))).toBe('abcdefgh/from disk');
    expect((await lstat(join(root, 'abcdefgh', 'from disk'))).mode & 0o777).toBe(0o444);
    expect((await lstat(join(root, 'run.sh'))).mode & 0o777).toBe(0o755);
    expect((await lstat(join(root, 'abcdefgh'))).mode & 0o777).toBe(0o700);

    // GNU cpio's own listing: owners are root, times are Nix's 1970-01-01.
    const listing = execFileSync('cpio', ['-itv', '--quiet', '-F', archive], { encoding: 'utf8' });
    for (const line of listing.trim().split('\n')) expect(line).toMatch(/^\S+\s+\d+\s+root\s+root\s+.*1970/);
    expect(listing.trim().split('\n')).toHaveLength(entries.length);
  });

  it('gives the same bytes for the same entries, whatever the time or user', async () => {
    const entries: CpioEntry[] = [
      { kind: 'dir', name: 'a' },
      { kind: 'file', name: 'a/b', data: Buffer.from('x') },
    ];
    const first = await bytesOf(entries);
    const second = await bytesOf(entries);
    expect(first.equals(second)).toBe(true);
    const [dir, file] = readCpio(first);
    expect(dir).toMatchObject({ name: 'a', uid: 0, gid: 0, mtime: 1, mode: 0o040755 });
    expect(file).toMatchObject({ name: 'a/b', uid: 0, gid: 0, mtime: 1, mode: 0o100444, nlink: 1 });
  });

  it('pads every header, name and file to 4 bytes and ends with a trailer, so archives concatenate', async () => {
    const one = await bytesOf([{ kind: 'file', name: 'x', data: Buffer.from('12345') }]);
    const two = await bytesOf([{ kind: 'symlink', name: 'yy', target: 'abc' }]);
    expect(one.length % 4).toBe(0);
    expect(two.length % 4).toBe(0);
    const joined = readCpio(Buffer.concat([one, two]));
    expect(joined.map((e) => [e.name, e.archive, e.data.toString()])).toEqual([
      ['x', 0, '12345'],
      ['yy', 1, 'abc'],
    ]);
    expect(partsSize(cpioParts([{ kind: 'file', name: 'x', data: Buffer.from('12345') }]))).toBe(one.length);
  });

  it('refuses a file larger than newc can describe, with a sentence that says so', () => {
    expect(() => cpioHeader({ name: 'huge', mode: 0o100444, size: 2 ** 32, ino: 1, nlink: 1, mtime: 1 })).toThrow(
      /more than the 4 GiB an initrd \(cpio newc\) entry can hold/,
    );
  });

  it('notices a file that changed size while it was being archived', async () => {
    const dir = await tempDir();
    const file = join(dir, 'f');
    await writeFile(file, 'short');
    const parts = cpioParts([{ kind: 'file', name: 'f', path: file, size: 100 }]);
    await expect(writeArchive(parts, { name: 'none' }, join(dir, 'out.cpio'))).rejects.toThrow(/changed size/);
  });
});
