/**
 * Hostile export targets: folders someone else can write into before we do.
 * A link named like one of our files, a subfolder that is a link, a target
 * that is a link to / or /etc or /boot, a "stick" that is a device node or a
 * folder on the system's own disk. Nothing outside the target may be
 * written or removed: the bytes of what the links point to are compared
 * before and after; refusals are one sentence.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { exportTo } from '../../electron/pipeline/export/export.ts';
import { systemDiskHolding } from '../../electron/pipeline/export/usb-stick.ts';
import { OutDir } from '../../electron/pipeline/media/out-dir.ts';
import { RECORD_NAME } from '../../electron/pipeline/media/record.ts';
import { ipxeScript } from '../../electron/shared/ipxe.ts';
import type { ExportSpec } from '../../electron/shared/types.ts';
import { recordFigures } from '../helpers/figures.ts';
import { runCli, tempDir } from '../helpers/fixtures.ts';

const run = promisify(execFile);

/** The stick in these tests is a folder in /tmp, on the system's disk: the export is told it is not. */
const NOT_THE_SYSTEM_DISK = { systemDisk: async () => undefined };

const cases: { what: string; outcome: 'refused' | 'link replaced' | 'left alone' }[] = [];
afterAll(async () => {
  const count = (outcome: string) => cases.filter((c) => c.outcome === outcome).length;
  await recordFigures(
    'hostile-targets',
    [
      { what: 'hostile export targets tried', value: cases.length },
      { what: 'refused in one sentence, nothing outside written', value: count('refused') },
      { what: 'links of ours replaced by the file, what they pointed to untouched', value: count('link replaced') },
      { what: 'names below a linked subfolder left alone, not removed through the link', value: count('left alone') },
      ...cases.map((c) => ({ what: c.what, value: c.outcome })),
    ],
    [
      'A target is checked, then written by name: a link put in its place between the check and the rename is not caught (no openat/O_NOFOLLOW chain in Node).',
      'The system-disk check compares the file system of the target with / (and the whole disk of each, through /sys): a system on LVM, RAID or a network file system is only caught when the target shares its file system.',
    ],
  );
});

let from: string;

/** A small boot folder made the way a build makes one. */
beforeAll(async () => {
  from = await tempDir('nbc-from-');
  const out = await OutDir.open(from);
  for (const name of ['bzImage', 'initrd', 'manifest', 'nix-store']) {
    await out.write(name, name, (temp) => writeFile(temp, `${name} bytes\n`));
  }
  const script = ipxeScript({
    title: 'test',
    kernel: 'bzImage',
    initrds: ['initrd', 'manifest', 'nix-store'],
    init: '/nix/store/00000000000000000000000000000000-nixos-system-test/init',
    kernelParams: 'console=ttyS0',
  });
  await out.write('netboot.ipxe', 'script', (temp) => writeFile(temp, script));
  await out.commit({ ramBytes: 1 << 20, toplevel: '/nix/store/00000000000000000000000000000000-nixos-system-test' });
});

async function sha256(path: string): Promise<string> {
  return createHash('sha256')
    .update(await readFile(path))
    .digest('hex');
}

/** Every file under `dir` with its hash: what must not change. */
async function snapshot(dir: string): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  for (const name of (await readdir(dir, { recursive: true })).sort()) {
    const path = join(dir, name);
    if ((await lstat(path)).isFile()) files[name] = await sha256(path);
  }
  return files;
}

/** An outside folder with a file of someone else's, and its hash. */
async function outside(): Promise<{ dir: string; file: string; before: Record<string, string> }> {
  const dir = await tempDir('nbc-outside-');
  await mkdir(join(dir, 'BOOT'));
  await writeFile(join(dir, 'precious'), 'someone else’s bytes\n');
  await writeFile(join(dir, 'BOOT', 'grub.cfg'), 'someone else’s grub.cfg\n');
  await writeFile(join(dir, 'BOOT', 'BOOTX64.EFI'), 'someone else’s boot loader\n');
  return { dir, file: join(dir, 'precious'), before: await snapshot(dir) };
}

type Kind = 'folder' | 'tftp' | 'http' | 'usb';
const KINDS: Kind[] = ['folder', 'tftp', 'http', 'usb'];

function spec(kind: Kind, dir: string): ExportSpec {
  if (kind === 'http') return { kind, dir, baseUrl: 'http://10.0.0.2/nb' };
  return { kind, dir };
}

/** Where a kind of export puts the kernel, and a file only it writes in a subfolder (the stick's loader). */
const KERNEL = 'bzImage';

/** One sentence: one line, a full stop at the end. */
function expectOneSentence(error: unknown, pattern: RegExp): void {
  const message = (error as Error).message;
  expect(message).toMatch(pattern);
  expect(message).not.toContain('\n');
  expect(message).toMatch(/\.$/);
}

describe('a link named like one of our files', () => {
  it.each(KINDS)('that we did not write is left alone, and %s export refuses in one sentence', async (kind) => {
    const target = await tempDir();
    const { dir, file, before } = await outside();
    await symlink(file, join(target, KERNEL));
    const error = await exportTo(from, spec(kind, target), NOT_THE_SYSTEM_DISK).catch((e: unknown) => e);
    expectOneSentence(error, new RegExp(`${target}/bzImage was not written by Netboot Composer, so it is left alone`));
    expect(await readlink(join(target, KERNEL))).toBe(file);
    expect(await snapshot(dir)).toEqual(before);
    cases.push({ what: `${kind} export: an unrecorded link named bzImage`, outcome: 'refused' });
  });

  it.each(KINDS)(
    'that replaced a file of ours is replaced by the file in a %s export, and what it points to is not written',
    async (kind) => {
      const target = await tempDir();
      await exportTo(from, spec(kind, target), NOT_THE_SYSTEM_DISK);
      const exported = await snapshot(target);
      delete exported[RECORD_NAME];
      const { dir, file, before } = await outside();
      for (const name of [KERNEL, 'initrd']) {
        await rm(join(target, name));
        await symlink(file, join(target, name));
      }
      await exportTo(from, spec(kind, target), NOT_THE_SYSTEM_DISK);
      for (const name of [KERNEL, 'initrd']) expect((await lstat(join(target, name))).isFile()).toBe(true);
      // The same bytes as the export wrote (the record apart, whose times changed).
      expect(await snapshot(target)).toMatchObject(exported);
      expect(await snapshot(dir)).toEqual(before);
      cases.push({ what: `${kind} export: recorded files swapped for links to outside`, outcome: 'link replaced' });
    },
  );
});

describe('a subfolder on the way that is a link', () => {
  it('is not written through, whatever the target’s record says, and the stick export refuses in one sentence', async () => {
    const stick = await tempDir();
    await exportTo(from, { kind: 'usb', dir: stick }, NOT_THE_SYSTEM_DISK);
    const { dir, before } = await outside();
    // EFI replaced by a link to a folder of someone else's, which has a BOOT/BOOTX64.EFI too.
    await rm(join(stick, 'EFI'), { recursive: true });
    await symlink(dir, join(stick, 'EFI'));
    const error = await exportTo(from, { kind: 'usb', dir: stick }, NOT_THE_SYSTEM_DISK).catch((e: unknown) => e);
    expectOneSentence(error, new RegExp(`^${stick}/EFI is a link, so EFI/BOOT/\\S+ would be written outside ${stick}`));
    expect(await snapshot(dir)).toEqual(before);
    cases.push({ what: 'stick export: EFI/ a link to another folder (recorded names below it)', outcome: 'refused' });
  });

  it('is not removed through when a later export no longer writes the names below it', async () => {
    const target = await tempDir();
    await exportTo(from, { kind: 'usb', dir: target }, NOT_THE_SYSTEM_DISK);
    const { dir, before } = await outside();
    await rm(join(target, 'EFI'), { recursive: true });
    await symlink(dir, join(target, 'EFI'));
    // A plain folder export drops the stick's loader files from the record: they are not deleted through the link.
    await exportTo(from, { kind: 'folder', dir: target });
    expect(await snapshot(dir)).toEqual(before);
    const record = JSON.parse(await readFile(join(target, RECORD_NAME), 'utf8')) as { files: object };
    expect(Object.keys(record.files).some((name) => name.startsWith('EFI/'))).toBe(false);
    cases.push({ what: 'folder export over a stick whose EFI/ became a link', outcome: 'left alone' });
  });
});

describe('a target that is a link to a folder of the system', () => {
  it.each(['/', '/etc', '/boot'])(
    'to %s is refused by every export and by the build, in one sentence',
    async (system) => {
      const parent = await tempDir();
      const link = join(parent, `looks-harmless${system.replace(/\//g, '-')}`);
      await symlink(system, link);
      const before = await readdir(system);
      for (const kind of KINDS) {
        const error = await exportTo(from, spec(kind, link), NOT_THE_SYSTEM_DISK).catch((e: unknown) => e);
        expectOneSentence(error, new RegExp(`^${link} \\(which leads to ${system}\\) is `));
        cases.push({ what: `${kind} export to a link to ${system}`, outcome: 'refused' });
      }
      const image = await exportTo(from, { kind: 'usb-image', file: join(link, 'x.img') }).catch((e: unknown) => e);
      expectOneSentence(image, /, so nothing is written there; choose a folder of your own\.$/);
      cases.push({ what: `USB image into a link to ${system}`, outcome: 'refused' });
      // A build's --out too: one sentence, exit 1, before anything is built.
      const built = await runCli(['build', '--demo', '--out', join(link, 'boot')]);
      expect(built.code).toBe(1);
      expect(built.stderr.trim()).toMatch(
        /^error: .* is (inside )?\S+, .*so nothing is written there; choose a folder of your own with --out\.$/,
      );
      cases.push({ what: `build --out inside a link to ${system}`, outcome: 'refused' });
      expect(await readdir(system)).toEqual(before);
    },
  );
});

describe('the USB stick export', () => {
  it('refuses a device node, or a link to one, and a /dev path, in one sentence: a stick is written through its folder', async () => {
    const parent = await tempDir();
    const node = join(parent, 'sdb');
    await run('mknod', [node, 'b', '7', '99']);
    const link = join(parent, 'stick');
    await symlink(node, link);
    for (const dir of [node, link]) {
      const error = await exportTo(from, { kind: 'usb', dir }, NOT_THE_SYSTEM_DISK).catch((e: unknown) => e);
      expectOneSentence(error, new RegExp(`^${dir} is a device, and a stick export never writes to a device`));
      cases.push({
        what: `stick export to ${dir === node ? 'a block device node' : 'a link to a block device node'}`,
        outcome: 'refused',
      });
    }
    const dev = await exportTo(from, { kind: 'usb', dir: '/dev/sdz' }, NOT_THE_SYSTEM_DISK).catch((e: unknown) => e);
    expectOneSentence(dev, /^\/dev\/sdz is inside \/dev, a folder of the system itself/);
    cases.push({ what: 'stick export to /dev/sdz (no such device)', outcome: 'refused' });
    const cli = await runCli(['export', '--from', from, '--usb', node]);
    expect(cli.code).toBe(1);
    expect(cli.stderr.trim().split('\n')).toHaveLength(1);
    expect((await lstat(node)).isBlockDevice()).toBe(true);
  });

  it('refuses a folder on the disk the system runs from, in one sentence, and writes a folder that is not on it', async () => {
    // A folder on the file system of / (the temporary folder may be a tmpfs of its own, as in the fresh-machine check).
    const root = (await stat('/')).dev;
    let on: string | undefined;
    for (const candidate of [tmpdir(), '/var/tmp', '/root', '/']) {
      if ((await stat(candidate).catch(() => undefined))?.dev === root) {
        on = candidate;
        break;
      }
    }
    const folder = await mkdtemp(join(on!, 'nbc-system-disk-'));
    onTestFinished(() => rm(folder, { recursive: true, force: true }));
    // The real check says it is on the system's disk, and that /proc (no disk at all) is not.
    expect(await systemDiskHolding(folder)).toBeDefined();
    expect(await systemDiskHolding('/proc')).toBeUndefined();
    const error = await exportTo(from, { kind: 'usb', dir: folder }).catch((e: unknown) => e);
    expectOneSentence(
      error,
      new RegExp(`^${folder} is on (/dev/\\w+, )?the disk this system runs from, not on a USB stick`),
    );
    expect(await readdir(folder)).toEqual([]);
    cases.push({ what: 'stick export to a folder on the system’s disk', outcome: 'refused' });
    // Told it is not the system's disk (a mounted stick), the same folder gets the stick's files.
    await exportTo(from, { kind: 'usb', dir: folder }, NOT_THE_SYSTEM_DISK);
    expect(await readdir(folder)).toContain('syslinux.cfg');
  });
});
