/**
 * USB media from the demo boot folder, with the real tools (sfdisk,
 * mkfs.fat, mtools, syslinux, grub-mkstandalone): what is inside the image,
 * and that exports replace only what they made, whole or not at all.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { BuildEvent } from '../../../electron/shared/types.ts';
import { CanceledError } from '../../../electron/pipeline/base/errors.ts';
import { OutDir } from '../../../electron/pipeline/media/out-dir.ts';
import { RECORD_NAME } from '../../../electron/pipeline/media/record.ts';
import { ipxeScript } from '../../../electron/shared/ipxe.ts';
import { makeUsbImage } from '../../../electron/pipeline/export/usb.ts';
import { writeUsbStick } from '../../../electron/pipeline/export/usb-stick.ts';
import { readUsbImageInfo } from '../../../electron/pipeline/media/usb-image.ts';
import { ROOT, runCli, tempDir } from '../../helpers/fixtures.ts';

/** The test's stick is a folder in /tmp, on the disk the system runs from: the export is told it is not (ExportHooks.systemDisk). */
const STICK = { systemDisk: async () => undefined };

const BOOT_FILES = ['bzImage', 'initrd', 'manifest', 'nix-store'];
const env = { ...process.env, MTOOLS_SKIP_CHECK: '1' };

let from: string;
let ramBytes: number;

/** The demo boot folder, built by the CLI as a user does (with extra kernel parameters when asked). */
async function buildDemo(out: string, kernelParams?: string): Promise<void> {
  const args = ['build', '--demo', '--out', out, '--cache', await tempDir(), '--json'];
  const built = await runCli(kernelParams ? [...args, '--kernel-params', kernelParams] : args);
  expect(built.stderr).toBe('');
  expect(built.code).toBe(0);
}

beforeAll(async () => {
  from = await tempDir();
  await buildDemo(from);
  ramBytes = (JSON.parse(await readFile(join(from, RECORD_NAME), 'utf8')) as { info: { ramBytes: number } }).info
    .ramBytes;
});

/** A file inside the image's partition (1 MiB in), read with mtools. */
function inImage(image: string, name: string): Buffer {
  return execFileSync('mtype', ['-i', `${image}@@1M`, `::/${name}`], { env, maxBuffer: 256 * 1024 * 1024 });
}

function listing(image: string, folder = '/'): string {
  return execFileSync('mdir', ['-a', '-i', `${image}@@1M`, `::${folder}`], { env, encoding: 'utf8' });
}

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Every file under `dir` with its bytes, to prove a folder was left alone. */
async function snapshot(dir: string): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    files[path.slice(dir.length)] = sha256(await readFile(path));
  }
  return files;
}

/** A boot folder of small fake files and a nix-store of `bytes` (sparse: zeros cost no disk). */
async function bootFolderWith(bytes: number): Promise<string> {
  const dir = await tempDir();
  const out = await OutDir.open(dir);
  for (const name of ['bzImage', 'initrd', 'manifest']) await out.write(name, name, (temp) => writeFile(temp, name));
  await out.write('nix-store', `zeros-${bytes}`, async (temp) => {
    await writeFile(temp, '');
    await truncate(temp, bytes);
  });
  const script = ipxeScript({
    title: 't',
    kernel: 'bzImage',
    initrds: ['initrd', 'manifest', 'nix-store'],
    init: '/x/init',
    kernelParams: '',
  });
  await out.write('netboot.ipxe', 'script', (temp) => writeFile(temp, script));
  await out.commit({ ramBytes: 1 });
  return dir;
}

describe('makeUsbImage', () => {
  it('makes an MBR image with one bootable FAT partition at 1 MiB holding the boot files byte for byte, syslinux and GRUB', async () => {
    const image = join(await tempDir(), 'demo.img');
    const events: BuildEvent[] = [];
    const summary = await makeUsbImage(from, image, { onEvent: (e) => events.push(e) });

    const table = JSON.parse(execFileSync('sfdisk', ['--json', image], { encoding: 'utf8' })) as {
      partitiontable: {
        label: string;
        partitions: { start: number; size: number; type: string; bootable?: boolean }[];
      };
    };
    expect(table.partitiontable.label).toBe('dos');
    expect(table.partitiontable.partitions).toEqual([
      { node: expect.any(String), start: 2048, size: expect.any(Number), type: 'c', bootable: true },
    ]);
    // syslinux's MBR code is in the first 440 bytes.
    const mbr = (await readFile('/usr/lib/syslinux/mbr/mbr.bin')).subarray(0, 440);
    expect((await readFile(image)).subarray(0, 440).equals(mbr)).toBe(true);

    for (const name of BOOT_FILES) expect(sha256(inImage(image, name))).toBe(sha256(await readFile(join(from, name))));
    const syslinux = inImage(image, 'syslinux.cfg').toString('utf8');
    expect(syslinux).toContain('INITRD /initrd,/manifest,/nix-store');
    const append = /^\s*APPEND (.*)$/m.exec(syslinux)![1]!;
    expect(append).toMatch(/^init=\/nix\/store\/\S+-nixos-system-demo-[^/]+\/init console=ttyS0,115200/);
    expect(append).not.toContain('initrd=');
    expect(append).not.toContain('${cmdline}');
    expect(listing(image)).toMatch(/^ldlinux\s+sys\s/m);
    expect(inImage(image, 'EFI/BOOT/BOOTX64.EFI').subarray(0, 2).toString('latin1')).toBe('MZ');
    expect(inImage(image, 'EFI/BOOT/grub.cfg').toString('utf8')).toMatch(
      /^\s*initrd \/initrd \/manifest \/nix-store$/m,
    );

    expect(await readUsbImageInfo(image)).toMatchObject({ ramBytes });
    expect(summary).toMatchObject({ kind: 'usb-image', file: image });
    const names = [...BOOT_FILES, 'syslinux.cfg', 'EFI/BOOT/grub.cfg', 'EFI/BOOT/BOOTX64.EFI'];
    expect(summary.files.map((f) => f.name)).toEqual(names);
    expect(events.filter((e) => e.event === 'file').map((e) => e.event === 'file' && e.name)).toEqual(names);
    expect(summary.notes[0]!.message).toContain(`sudo dd if=${image} of=/dev/sdX bs=4M conv=fsync`);
  });

  it('replaces an image it made with the next export, and leaves no temporary file', async () => {
    const dir = await tempDir();
    const image = join(dir, 'demo.img');
    await makeUsbImage(from, image);
    const next = await tempDir();
    await buildDemo(next, 'usbtest=2');
    await makeUsbImage(next, image);
    expect(inImage(image, 'syslinux.cfg').toString('utf8')).toMatch(/APPEND .* usbtest=2$/m);
    expect(await readdir(dir)).toEqual(['demo.img']);
  });

  it('keeps the previous image byte-identical, and no temporary file, when canceled midway', async () => {
    const dir = await tempDir();
    const image = join(dir, 'demo.img');
    await makeUsbImage(from, image);
    const before = sha256(await readFile(image));
    const stop = new AbortController();
    const copied: string[] = [];
    const export_ = makeUsbImage(from, image, {
      signal: stop.signal,
      onEvent: (e) => {
        if (e.event !== 'file') return;
        copied.push(e.name);
        if (e.name === 'initrd') stop.abort();
      },
    });
    await expect(export_).rejects.toBeInstanceOf(CanceledError);
    expect(copied).toEqual(['bzImage', 'initrd']);
    expect(sha256(await readFile(image))).toBe(before);
    expect(await readdir(dir)).toEqual(['demo.img']);
  });

  it('kills the tool that is copying when canceled, and leaves nothing behind', async () => {
    // A big nix-store, so that mcopy runs for a while (about 3 s here).
    const big = await bootFolderWith(768 * 1024 * 1024);

    const dir = await tempDir();
    const stop = new AbortController();
    const copied: string[] = [];
    let abortedAt = 0;
    const export_ = makeUsbImage(big, join(dir, 'big.img'), {
      signal: stop.signal,
      onEvent: (e) => {
        if (e.event !== 'file') return;
        copied.push(e.name);
        // The next file is nix-store: stop while mcopy copies it.
        if (e.name === 'manifest') {
          setTimeout(() => {
            abortedAt = Date.now();
            stop.abort();
          }, 300);
        }
      },
    });
    await expect(export_).rejects.toBeInstanceOf(CanceledError);
    expect(Date.now() - abortedAt).toBeLessThan(1000);
    expect(copied).toEqual(['bzImage', 'initrd', 'manifest']);
    expect(await readdir(dir)).toEqual([]);
    const left = execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' })
      .split('\n')
      .filter((l) => l.includes(dir));
    expect(left).toEqual([]);
  });

  it('refuses a file over FAT’s 4 GiB in one sentence, before making anything', async () => {
    const big = await bootFolderWith(4 * 1024 ** 3);
    const dir = await tempDir();
    await expect(makeUsbImage(big, join(dir, 'big.img'))).rejects.toThrow(
      /^nix-store is 4\.0 GiB, more than the 4 GiB a file can have on FAT, the file system a USB stick boots from; [^.]+\.$/,
    );
    await expect(writeUsbStick(big, dir, STICK)).rejects.toThrow(/^nix-store is 4\.0 GiB, more than the 4 GiB/);
    expect(await readdir(dir)).toEqual([]);
  });

  it('refuses to replace a file it did not make, even a FAT disk image, and leaves it untouched', async () => {
    const dir = await tempDir();
    const precious = join(dir, 'precious.img');
    await writeFile(precious, 'my holiday photos');
    await expect(makeUsbImage(from, precious)).rejects.toThrow(
      `${precious} is not a USB image made by Netboot Composer, so it is left alone; move it away or choose another file name.`,
    );
    expect(await readFile(precious, 'utf8')).toBe('my holiday photos');

    // A partitioned FAT image of someone else's.
    const disk = join(dir, 'other.img');
    execFileSync('truncate', ['-s', '40M', disk]);
    execFileSync('sfdisk', ['--quiet', disk], { input: 'label: dos\nstart=2048, type=c\n' });
    execFileSync('mkfs.fat', ['--offset=2048', disk, String(39 * 1024)], { stdio: 'ignore' });
    const before = sha256(await readFile(disk));
    await expect(makeUsbImage(from, disk)).rejects.toThrow(/is not a USB image made by Netboot Composer/);
    expect(sha256(await readFile(disk))).toBe(before);
    expect(await readUsbImageInfo(disk)).toBeUndefined();

    await expect(makeUsbImage(from, dir)).rejects.toThrow(
      `${dir} is a folder; give the name of the image file to make.`,
    );
    expect((await readdir(dir)).sort()).toEqual(['other.img', 'precious.img']);
  });
});

describe('a missing tool', () => {
  it('is named with its Debian package, before anything is made', async () => {
    const dir = join(await tempDir(), 'not-yet');
    const usb = join(ROOT, 'electron', 'pipeline', 'export', 'usb.ts');
    const code = `import { makeUsbImage } from ${JSON.stringify(usb)};
      await makeUsbImage(${JSON.stringify(from)}, ${JSON.stringify(join(dir, 'x.img'))}).catch((e) => console.log(e.message));`;
    // Its own process: tools.ts remembers where it found each tool.
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', code], {
      encoding: 'utf8',
      env: { ...process.env, NETBOOT_COMPOSER_MKFS_FAT: '/nonexistent/mkfs.fat' },
    });
    expect(out.trim()).toBe(
      'mkfs.fat was not found: install the dosfstools package (on Debian or Ubuntu: sudo apt-get install dosfstools).',
    );
    await expect(readdir(dir)).rejects.toThrow(/ENOENT/);
  });
});

describe('writeUsbStick', () => {
  it('writes the stick’s files beside files of others, which stay byte-identical, and reuses what did not change', async () => {
    const stick = await tempDir();
    await mkdir(join(stick, 'EFI', 'Microsoft'), { recursive: true });
    await writeFile(join(stick, 'EFI', 'Microsoft', 'bootmgfw.efi'), 'not ours');
    await writeFile(join(stick, 'photo.jpg'), 'a photo');
    const theirs = await snapshot(stick);

    const summary = await writeUsbStick(from, stick, STICK);
    const names = [...BOOT_FILES, 'syslinux.cfg', 'EFI/BOOT/grub.cfg', 'EFI/BOOT/BOOTX64.EFI'];
    expect(summary.files.map((f) => f.name)).toEqual(names);
    expect(await snapshot(stick)).toMatchObject(theirs);
    for (const name of BOOT_FILES) {
      expect(sha256(await readFile(join(stick, name)))).toBe(sha256(await readFile(join(from, name))));
    }
    expect(await readFile(join(stick, 'syslinux.cfg'), 'utf8')).not.toContain('initrd=');
    expect((await readFile(join(stick, 'EFI', 'BOOT', 'BOOTX64.EFI'))).subarray(0, 2).toString('latin1')).toBe('MZ');
    expect(JSON.parse(await readFile(join(stick, RECORD_NAME), 'utf8'))).toMatchObject({ info: { ramBytes } });
    // This folder is no FAT stick: the notes say so, and name no device.
    const notes = summary.notes.map((n) => `${n.level}: ${n.message}`).join('\n');
    expect(notes).toMatch(/^warning: The file system at .* is \w+, not FAT/m);
    expect(notes).not.toMatch(/\/dev\/(?!sdX)/);

    const events: Array<{ name: string; reused: boolean }> = [];
    await writeUsbStick(from, stick, {
      ...STICK,
      onEvent: (e) => e.event === 'file' && events.push({ name: e.name, reused: e.reused }),
    });
    expect(events).toEqual(names.map((name) => ({ name, reused: true })));
    expect(await snapshot(stick)).toMatchObject(theirs);
    expect((await readdir(join(stick, 'EFI'))).sort()).toEqual(['BOOT', 'Microsoft']);
  });

  it('refuses a stick whose boot loader files are someone else’s, and changes nothing', async () => {
    const stick = await tempDir();
    await mkdir(join(stick, 'EFI', 'BOOT'), { recursive: true });
    await writeFile(join(stick, 'EFI', 'BOOT', 'BOOTX64.EFI'), 'another boot loader');
    const before = await snapshot(stick);
    await expect(writeUsbStick(from, stick, STICK)).rejects.toThrow(
      /EFI\/BOOT\/BOOTX64\.EFI was not written by Netboot Composer, so it is left alone/,
    );
    expect(await snapshot(stick)).toEqual(before);
    expect((await readdir(stick, { recursive: true })).sort()).toEqual(['EFI', 'EFI/BOOT', 'EFI/BOOT/BOOTX64.EFI']);
  });
});
