import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  buildDemo,
  demoModules,
  findDemoInputs,
  isStaticElf,
  moduleCompression,
} from '../../../electron/pipeline/compose/demo.ts';
import { tempDir } from '../../helpers/fixtures.ts';
import { kernelRoot, LOOP, SQUASHFS } from '../../helpers/kernel-root.ts';

afterEach(() => {
  delete process.env.NETBOOT_COMPOSER_DEMO_ROOT;
});

describe('what the demo is made of', () => {
  it('tells a statically linked program from a dynamically linked one', async () => {
    expect(await isStaticElf('/bin/busybox')).toBe(true);
    expect(await isStaticElf('/bin/ls')).toBe(false);
    expect(await isStaticElf('/etc/hostname')).toBe(false);
  });

  it("finds this machine's static busybox, newest kernel and the modules stage 1 loads", async () => {
    const inputs = await findDemoInputs();
    expect(inputs.busybox).toMatch(/busybox$/);
    expect(inputs.kernel).toBe(`/boot/vmlinuz-${inputs.kernelVersion}`);
    expect(inputs.modules.map((m) => basename(m).replace(/\.(xz|zst|gz)$/, ''))).toEqual(['loop.ko', 'squashfs.ko']);
  });

  it('reads how a module is compressed from its name', () => {
    expect(moduleCompression('/lib/modules/6.1.0/kernel/drivers/block/loop.ko')).toBe('none');
    expect(moduleCompression('loop.ko.xz')).toBe('xz');
    expect(moduleCompression('loop.ko.zst')).toBe('zstd');
    expect(moduleCompression('loop.ko.gz')).toBe('gzip');
    expect(moduleCompression('loop.ko.bz2')).toBeUndefined();
    expect(moduleCompression('modules.builtin')).toBeUndefined();
  });

  it('finds modules compressed with xz (Debian 13), zstd (Ubuntu) or gzip, under lib/modules or usr/lib/modules', async () => {
    const debian = await kernelRoot({ [LOOP]: '.xz', [SQUASHFS]: '.xz' }, { modulesDir: 'usr/lib/modules' });
    const found = await findDemoInputs(debian.root);
    expect(found.kernel).toBe(join(debian.root, 'boot', `vmlinuz-${debian.release}`));
    expect(found.modules).toEqual([
      join(debian.root, 'usr/lib/modules', debian.release, `${LOOP}.xz`),
      join(debian.root, 'usr/lib/modules', debian.release, `${SQUASHFS}.xz`),
    ]);

    const mixed = await kernelRoot({ [LOOP]: '.zst', [SQUASHFS]: '.gz' });
    expect((await findDemoInputs(mixed.root)).modules.map((m) => basename(m))).toEqual([
      'loop.ko.zst',
      'squashfs.ko.gz',
    ]);

    // Built in: nothing to load, nothing to find.
    const builtIn = await kernelRoot({ [LOOP]: '.xz' }, { builtin: [SQUASHFS] });
    expect((await findDemoInputs(builtIn.root)).modules.map((m) => basename(m))).toEqual(['loop.ko.xz']);
  });

  it('names the package to install when a module is neither there (in any compression) nor built in', async () => {
    const { root } = await kernelRoot({ [LOOP]: '.xz' });
    await expect(findDemoInputs(root)).rejects.toThrow(
      `No Linux kernel with its loop and squashfs modules was found in ${root}/boot and ${root}/lib/modules: install the linux-image-amd64 package (on Debian: sudo apt-get install linux-image-amd64).`,
    );
    // A module compressed in a way no distribution uses is not a module.
    const { root: odd } = await kernelRoot({ [LOOP]: '.xz', [SQUASHFS]: '.bz2' });
    await expect(findDemoInputs(odd)).rejects.toThrow(/install the linux-image-amd64 package/);
  });

  it('unpacks zstd modules (busybox has no zstd) into the work folder, byte for byte, and passes the others on', async () => {
    const { root, original } = await kernelRoot({ [LOOP]: '.zst', [SQUASHFS]: '.xz' });
    const inputs = await findDemoInputs(root);
    const work = await tempDir();
    const modules = await demoModules(work, inputs);
    expect(modules[0]).toBe(join(work, 'demo-modules', inputs.kernelVersion, 'loop.ko'));
    expect((await readFile(modules[0]!)).equals(original['loop.ko']!)).toBe(true);
    expect(modules[1]).toBe(inputs.modules[1]);
    // Made once: the same file the next time.
    expect(await demoModules(work, inputs)).toEqual(modules);
  });

  it("builds the demo from xz and gzip modules: its kernel-modules hold them unpacked, byte for byte (busybox's unxz and gunzip)", async () => {
    const { root, release, original } = await kernelRoot({ [LOOP]: '.xz', [SQUASHFS]: '.gz' });
    process.env.NETBOOT_COMPOSER_DEMO_ROOT = root;
    const toplevel = await buildDemo(await tempDir());
    const dir = join(toplevel, 'kernel-modules', 'lib', 'modules', release, 'kernel');
    expect((await readFile(join(dir, 'loop.ko'))).equals(original['loop.ko']!)).toBe(true);
    expect((await readFile(join(dir, 'squashfs.ko'))).equals(original['squashfs.ko']!)).toBe(true);
  }, 120_000);
});
