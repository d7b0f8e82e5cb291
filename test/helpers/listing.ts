/**
 * Listings to compare a squashfs image with the store path it was made from:
 * one line per entry, "TYPE MODE SIZE-or-TARGET NAME".
 */
import { execFileSync } from 'node:child_process';
import { lstat, readdir, readlink } from 'node:fs/promises';
import { basename, join } from 'node:path';

function line(type: string, mode: number, what: string, name: string): string {
  return `${type} ${(mode & 0o7777).toString(8)} ${what} ${name}`;
}

/** Walk a store path (a folder, a file or a symlink) without following links. */
export async function listStorePath(storePath: string): Promise<string[]> {
  const lines: string[] = [];
  const walk = async (path: string, name: string): Promise<void> => {
    const info = await lstat(path);
    if (info.isSymbolicLink()) lines.push(line('l', 0o777, `-> ${await readlink(path)}`, name));
    else if (info.isDirectory()) {
      lines.push(line('d', info.mode, '-', name));
      for (const child of (await readdir(path)).sort()) await walk(join(path, child), `${name}/${child}`);
    } else lines.push(line('f', info.mode, String(info.size), name));
  };
  await walk(storePath, basename(storePath));
  return lines.sort();
}

const MODE_BITS: Record<number, [string, number]> = {
  1: ['r', 0o400],
  2: ['w', 0o200],
  3: ['x', 0o100],
  4: ['r', 0o40],
  5: ['w', 0o20],
  6: ['x', 0o10],
  7: ['r', 0o4],
  8: ['w', 0o2],
  9: ['x', 0o1],
};

function parseMode(text: string): number {
  let mode = 0;
  for (let i = 1; i <= 9; i++) if (text[i] === MODE_BITS[i]![0]) mode |= MODE_BITS[i]![1];
  return mode;
}

/** `unsquashfs -lls` of an image, in the same form, without the image's own root. */
export function listSquashfs(image: string): { lines: string[]; owners: Set<string> } {
  const out = execFileSync('unsquashfs', ['-lls', image], { encoding: 'utf8' });
  const lines: string[] = [];
  const owners = new Set<string>();
  for (const raw of out.split('\n')) {
    const match = /^([dlcbps-][rwxsStT-]{9}) (\S+)\s+(\d+) \d{4}-\d\d-\d\d \d\d:\d\d squashfs-root\/(.*)$/.exec(raw);
    if (!match) continue;
    const [, modeText, owner, size, rest] = match as unknown as [string, string, string, string, string];
    owners.add(owner);
    const type = modeText[0] === '-' ? 'f' : modeText[0]!;
    if (type === 'l') {
      const arrow = rest.indexOf(' -> ');
      lines.push(line('l', 0o777, `-> ${rest.slice(arrow + 4)}`, rest.slice(0, arrow)));
    } else lines.push(line(type, parseMode(modeText), type === 'd' ? '-' : size, rest));
  }
  return { lines: lines.sort(), owners };
}
