import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { stat, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  isCompleteSquashfs,
  mksquashfsArgs,
  mksquashfsCommand,
  ProgressParser,
  progressMode,
} from '../../../electron/pipeline/compose/squashfs.ts';
import { shellQuote } from '../../../electron/pipeline/base/quote.ts';
import { tempDir } from '../../helpers/fixtures.ts';

describe('mksquashfs', () => {
  it('is asked for the seed layout, fixed times, no xattrs and bounded memory', () => {
    const args = mksquashfsArgs('/nix/store/x-y', '/tmp/out.sqsh', { name: 'gzip', level: 9 }, 2);
    expect(args.slice(0, 2)).toEqual(['/nix/store/x-y', '/tmp/out.sqsh']);
    expect(args).toEqual(
      expect.arrayContaining(['-keep-as-directory', '-all-root', '-noappend', '-no-xattrs', '-quiet']),
    );
    expect(args.join(' ')).toContain('-mkfs-time 0 -all-time 1 -root-time 1');
    expect(args.join(' ')).toContain('-comp gzip -Xcompression-level 9 -processors 2 -mem 128M');
  });

  it('reads the progress bar it redraws with carriage returns, across chunk boundaries', () => {
    const parser = new ProgressParser();
    expect(parser.push('\r[=====|        ]  1000/10252   9%')).toBeUndefined();
    expect(parser.push('\r[=========\\     ]  5500/10252  53%\r[===')).toBe(53);
    expect(parser.push('==========-   ]  6300/10252  61%\r')).toBe(61);
    expect(parser.push('\n')).toBeUndefined();
  });

  it('reads no progress out of garbage: over 100%, endless lines, binary', () => {
    const parser = new ProgressParser();
    expect(parser.push('[====]  1/0  999%\r')).toBeUndefined();
    expect(parser.push('] 5/10 -3%\r\u0000\u00ff\r%%%\n')).toBeUndefined();
    // A line that never ends is not kept whole, and is not read as progress when it does end.
    for (let i = 0; i < 100; i++) expect(parser.push('='.repeat(100_000))).toBeUndefined();
    expect(parser.push(']  1/10  10%\r')).toBeUndefined();
    expect(parser.push('[=|  ] 2/10  20%\r')).toBe(20);
  });

  it('reads the bare percentages of mksquashfs -percentage (4.6 and later)', () => {
    const parser = new ProgressParser();
    expect(parser.push('0\n3\n1')).toBe(3);
    expect(parser.push('7\n')).toBe(17);
  });

  it('asks 4.6 for percentages, and runs 4.5 in a pseudo-terminal where its bar is drawn', () => {
    expect(progressMode('4.6.1', true)).toBe('percentage');
    expect(progressMode('4.5.1', true)).toBe('terminal');
    expect(progressMode('4.5', false)).toBe('none');
    expect(mksquashfsCommand('percentage', '/bin/mksquashfs', ['a', 'b'])).toEqual({
      file: '/bin/mksquashfs',
      args: ['a', 'b', '-percentage'],
    });
    const { file, args } = mksquashfsCommand(
      'terminal',
      '/bin/mksquashfs',
      ['/nix/store/x', "/my cache/it's"],
      '/usr/bin/script',
    );
    expect(file).toBe('/usr/bin/script');
    expect(args[args.length - 1]).toBe('/dev/null');
    expect(args[args.length - 2]).toBe(
      `stty cols 200 rows 24 && exec /bin/mksquashfs /nix/store/x '/my cache/it'\\''s'`,
    );
  });

  it('quotes words so that a real shell reads them back unchanged', () => {
    const words = ['plain', 'with space', "it's", '$HOME', 'a"b', 'back\\slash', 'ünï', ''];
    const out = execFileSync('sh', ['-c', `printf '%s\\n' ${words.map(shellQuote).join(' ')}`], { encoding: 'utf8' });
    expect(out.split('\n').slice(0, -1)).toEqual(words);
  });

  it('tells a whole image from a truncated or foreign file without reading it all', async () => {
    const dir = await tempDir();
    const source = join(dir, 'src');
    execFileSync('mkdir', ['-p', source]);
    await writeFile(join(source, 'file'), randomBytes(200_000));
    const image = join(dir, 'image.sqsh');
    execFileSync('mksquashfs', [source, image, '-quiet', '-no-progress']);
    expect(await isCompleteSquashfs(image)).toBe(true);
    await truncate(image, (await stat(image)).size - 4096);
    expect(await isCompleteSquashfs(image)).toBe(false);
    await writeFile(join(dir, 'text'), 'not a squashfs');
    expect(await isCompleteSquashfs(join(dir, 'text'))).toBe(false);
    expect(await isCompleteSquashfs(join(dir, 'missing'))).toBe(false);
  });
});
