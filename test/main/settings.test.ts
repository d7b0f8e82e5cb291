import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MAX_RECENT, SettingsStore } from '../../electron/main/settings.ts';
import { tempDir } from '../helpers/fixtures.ts';

describe('SettingsStore', () => {
  it('falls back to the defaults, field by field, when the file is damaged or from elsewhere', async () => {
    const dir = await tempDir();
    await writeFile(
      join(dir, 'settings.json'),
      '{"options": {"arch": "mips"}, "exportFolder": "/srv/tftp", "recent": 3}',
    );
    const store = new SettingsStore(join(dir, 'settings.json'), 'aarch64-linux');
    expect(await store.get()).toEqual({
      recent: [],
      options: {
        arch: 'aarch64-linux',
        squashfs: { name: 'zstd', level: 6 },
        initrd: { name: 'none' },
        kernelParams: '',
      },
      // What an older version kept, the folder of the last export, is read as a folder export.
      lastExport: { kind: 'folder', dir: '/srv/tftp' },
      cacheLimitBytes: undefined,
    });
    await writeFile(
      join(dir, 'settings.json'),
      '{"lastExport": {"kind": "http", "dir": "/srv/www", "baseUrl": "http://10.0.0.1/nb/"}, "exportFolder": "/old"}',
    );
    expect((await new SettingsStore(join(dir, 'settings.json'), undefined).get()).lastExport).toEqual({
      kind: 'http',
      dir: '/srv/www',
      baseUrl: 'http://10.0.0.1/nb/',
    });
    await writeFile(join(dir, 'settings.json'), '{"lastExport": {"kind": "http", "dir": "/srv/www", "baseUrl": "x"}}');
    expect((await new SettingsStore(join(dir, 'settings.json'), undefined).get()).lastExport).toBeUndefined();
    await writeFile(join(dir, 'settings.json'), 'not json');
    expect((await new SettingsStore(join(dir, 'settings.json'), undefined).get()).options.arch).toBe('x86_64-linux');
  });

  it('keeps the recent systems newest first, once each, at most eight, and saves them whole', async () => {
    const dir = await tempDir();
    const file = join(dir, 'settings.json');
    const store = new SettingsStore(file, 'x86_64-linux');
    for (let i = 0; i < 10; i++) await store.addRecent({ kind: 'toplevel', path: `/nix/store/s${i}` }, `s${i}`);
    await store.addRecent({ kind: 'toplevel', path: '/nix/store/s5' }, 's5');
    const labels = (await new SettingsStore(file, undefined).get()).recent.map((r) => r.label);
    expect(labels).toEqual(['s5', 's9', 's8', 's7', 's6', 's4', 's3', 's2']);
    expect(labels).toHaveLength(MAX_RECENT);
    expect(JSON.parse(await readFile(file, 'utf8')).recent[0].source).toEqual({
      kind: 'toplevel',
      path: '/nix/store/s5',
    });
    expect(await readdir(dir)).toEqual(['settings.json']);
  });
});
