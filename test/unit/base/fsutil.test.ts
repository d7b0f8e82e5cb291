import { stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeFolder, whyNotWritable } from '../../../electron/pipeline/base/fsutil.ts';
import { tempDir } from '../../helpers/fixtures.ts';

describe('makeFolder', () => {
  it('makes every missing level and returns the first one it made, like mkdir -p', async () => {
    const dir = await tempDir();
    expect(await makeFolder(join(dir, 'a', 'b', 'c'))).toBe(join(dir, 'a'));
    expect((await stat(join(dir, 'a', 'b', 'c'))).isDirectory()).toBe(true);
    expect(await makeFolder(join(dir, 'a', 'b'))).toBeUndefined();
  });

  it('fails at once where the system refuses a folder with ENOENT (/proc), where Node’s recursive mkdir loops forever', async () => {
    const error = await makeFolder('/proc/netboot-composer-test/x').catch((e: unknown) => e);
    expect((error as NodeJS.ErrnoException).code).toBe('ENOENT');
    expect(await whyNotWritable('/proc/netboot-composer-test/x', error)).toBe('no folder can be made there');
  });

  it('says when part of the path is a file', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'f'), '');
    const error = await makeFolder(join(dir, 'f', 'sub')).catch((e: unknown) => e);
    expect((error as NodeJS.ErrnoException).code).toBe('ENOTDIR');
  });
});
