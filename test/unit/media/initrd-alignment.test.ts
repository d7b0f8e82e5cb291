/**
 * Every initrd file ends on a 4-byte boundary (README, "The boot contract"):
 * the padding itself, the failure a misaligned initrd causes under UEFI, and
 * exports of a boot folder an older version made, whose `initrd` has any
 * length: each of the four length classes.
 */
import { chmod, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { failureIn } from '../../../electron/pipeline/boot/diagnosis.ts';
import { exportTo } from '../../../electron/pipeline/export/export.ts';
import { exportBootFolder } from '../../../electron/pipeline/export/folder.ts';
import {
  alignmentPadding,
  copyInitrd,
  firstMisalignedStart,
  padInitrd,
} from '../../../electron/pipeline/media/initrd-padding.ts';
import { OutDir } from '../../../electron/pipeline/media/out-dir.ts';
import { RECORD_NAME } from '../../../electron/pipeline/media/record.ts';
import { readBootFolderFiles } from '../../../electron/pipeline/media/read-folder.ts';
import { exportTftp } from '../../../electron/pipeline/export/tftp.ts';
import { writeUsbStick } from '../../../electron/pipeline/export/usb-stick.ts';
import { ipxeScript } from '../../../electron/shared/ipxe.ts';
import type { BuildEvent } from '../../../electron/shared/types.ts';
import { tempDir } from '../../helpers/fixtures.ts';

/** The test's stick is a folder in /tmp, on the disk the system runs from: the export is told it is not (ExportHooks.systemDisk). */
const STICK = { systemDisk: async () => undefined };

const CLASSES = [0, 1, 2, 3] as const;
const INITRDS = ['initrd', 'manifest', 'nix-store'];
const RAM = 50_000_000;

describe('padding an initrd to 4 bytes', () => {
  it('counts the zero bytes to the next boundary', () => {
    expect([0, 1, 2, 3, 4, 1_096_638].map(alignmentPadding)).toEqual([0, 3, 2, 1, 0, 2]);
  });

  it('finds where the first initrd starts off a boundary when they are joined without padding', () => {
    // The demo's initrd on the machine where UEFI netboot failed.
    expect(firstMisalignedStart([1_096_638, 6908, 11_440_348])).toBe(1_096_638);
    expect(firstMisalignedStart([1_096_640, 6908, 11_440_348])).toBeUndefined();
    // Two odd lengths that sum to a boundary: the second initrd already starts off one.
    expect(firstMisalignedStart([4097, 4099, 8])).toBe(4097);
    expect(firstMisalignedStart([4096, 4098, 8])).toBe(8194);
    // The last one's end is where nothing starts.
    expect(firstMisalignedStart([4096, 4096, 4099])).toBeUndefined();
    expect(firstMisalignedStart([])).toBeUndefined();
  });

  it.each(CLASSES)('copies an initrd of 4k+%i bytes with zero padding, keeping a read-only mode', async (extra) => {
    const dir = await tempDir();
    const original = Buffer.alloc(4096 + extra, 0x5a);
    await writeFile(join(dir, 'store-initrd'), original);
    await chmod(join(dir, 'store-initrd'), 0o444);
    await copyInitrd(join(dir, 'store-initrd'), join(dir, 'copy'));
    const copy = await readFile(join(dir, 'copy'));
    expect(copy.length % 4).toBe(0);
    expect(copy.length - original.length).toBe(alignmentPadding(original.length));
    expect(copy.subarray(0, original.length).equals(original)).toBe(true);
    expect([...copy.subarray(original.length)].every((b) => b === 0)).toBe(true);
    expect((await stat(join(dir, 'copy'))).mode & 0o777).toBe(0o444);
    // Padding what is aligned already changes nothing.
    expect(await padInitrd(join(dir, 'copy'))).toBe(0);
  });
});

describe('the failure a misaligned initrd causes', () => {
  const line = '[    1.443575] Initramfs unpacking failed: invalid magic at start of compressed archive';

  it('says what it is, and where when the initrds’ sizes tell', () => {
    expect(failureIn(line, { misalignedAt: 1_096_638 })).toMatch(
      /^the kernel found no valid initramfs archive after byte 1096638: an initrd that is misaligned or corrupt/,
    );
    expect(failureIn(line)).toBe(
      'the kernel found no valid initramfs archive: an initrd that is misaligned or corrupt',
    );
    expect(failureIn('Initramfs unpacking failed: junk within compressed archive')).toMatch(/misaligned or corrupt/);
    expect(failureIn(line)).not.toMatch(/memory/);
  });

  it('still blames memory where the kernel ran out of it while unpacking', () => {
    expect(failureIn('Initramfs unpacking failed: write error')).toMatch(/too little memory/);
    expect(failureIn("Initramfs unpacking failed: can't allocate buffers")).toMatch(/too little memory/);
  });
});

/**
 * A boot folder as a version before the padding wrote it: an `initrd` of
 * 4096 + `extra` bytes, recorded as it is, and a manifest and nix-store of
 * lengths that are not multiples of 4 either (compressed ones could be).
 */
async function olderBootFolder(extra: number): Promise<string> {
  const dir = await tempDir();
  const out = await OutDir.open(dir);
  const script = ipxeScript({
    title: 'test',
    kernel: 'bzImage',
    initrds: INITRDS,
    init: '/nix/store/x-nixos-system/init',
    kernelParams: 'console=ttyS0',
  });
  const contents: Record<string, Buffer> = {
    bzImage: Buffer.from('not a kernel'),
    initrd: Buffer.alloc(4096 + extra, 0x5a),
    manifest: Buffer.alloc(301, 0x4d),
    'nix-store': Buffer.alloc(1026, 0x4e),
    'netboot.ipxe': Buffer.from(script),
  };
  for (const [name, bytes] of Object.entries(contents)) {
    await out.write(name, `old-${name}`, (temp) => writeFile(temp, bytes));
  }
  await out.commit({ ramBytes: RAM, toplevel: '/nix/store/00000000000000000000000000000000-nixos-system-test' });
  return dir;
}

/** Every initrd in `dir` is its source's bytes and then zeros to a 4-byte boundary; returns the zeros added. */
async function expectPadded(from: string, dir: string): Promise<number> {
  let added = 0;
  for (const name of INITRDS) {
    const source = await readFile(join(from, name));
    const copy = await readFile(join(dir, name));
    expect(copy.length % 4, `${dir}/${name} is ${copy.length} bytes`).toBe(0);
    expect(copy.subarray(0, source.length).equals(source)).toBe(true);
    expect([...copy.subarray(source.length)].every((b) => b === 0)).toBe(true);
    added += copy.length - source.length;
  }
  // The record names the bytes on disk, and the RAM grew by what was added.
  const record = (await readBootFolderFiles(dir))!;
  for (const name of INITRDS) {
    expect(record.files.find((f) => f.name === name)?.bytes).toBe((await stat(join(dir, name))).size);
  }
  expect(record.info.ramBytes).toBe(RAM + added);
  return added;
}

describe.each(CLASSES)('exporting an older boot folder whose initrd is 4k+%i bytes', (extra) => {
  // initrd 4k+extra, manifest 4k+1, nix-store 4k+2.
  const padding = alignmentPadding(extra) + 3 + 2;

  it('pads every initrd in a folder export, and a second export reuses them', async () => {
    const from = await olderBootFolder(extra);
    const to = await tempDir();
    await exportBootFolder(from, to);
    expect(await expectPadded(from, to)).toBe(padding);
    const events: BuildEvent[] = [];
    await exportBootFolder(from, to, { onEvent: (e) => events.push(e) });
    expect(events.filter((e) => e.event === 'file' && !e.reused)).toEqual([]);
  });

  it('pads every initrd in a TFTP export', async () => {
    const from = await olderBootFolder(extra);
    const root = await tempDir();
    await exportTftp(from, { dir: root, subdir: 'test' }, {}, () => undefined);
    expect(await expectPadded(from, join(root, 'test'))).toBe(padding);
  });

  it('pads every initrd in an HTTP export', async () => {
    const from = await olderBootFolder(extra);
    const web = await tempDir();
    await exportTo(from, { kind: 'http', dir: web, baseUrl: 'http://10.0.0.2/nb' });
    expect(await expectPadded(from, web)).toBe(padding);
  });

  it('pads every initrd on a USB stick', async () => {
    const from = await olderBootFolder(extra);
    const stick = await tempDir();
    await writeUsbStick(from, stick, STICK);
    expect(await expectPadded(from, stick)).toBe(padding);
    expect(JSON.parse(await readFile(join(stick, RECORD_NAME), 'utf8'))).toMatchObject({
      info: { ramBytes: RAM + padding },
    });
  });
});
