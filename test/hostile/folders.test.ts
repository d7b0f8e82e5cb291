/**
 * Boot folders someone else wrote: `export` and `test-boot` read a folder
 * and its record, `.netboot-composer.json`, which may lie. Names outside the
 * folder, absolute names, sizes that do not match, a huge record, a record
 * that is a link, a FIFO or a folder, a boot file that is a link to outside:
 * each is refused in one sentence, before anything is written or booted,
 * and without reading outside the folder. The proof of the last: what the
 * links point to are FIFOs with no writer, which block forever whoever opens
 * them to read, and the bytes this process reads (/proc/self/io) stay far
 * below a huge record's size.
 */
import { execFile } from 'node:child_process';
import { mkdir, readdir, readFile, rm, symlink, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testBoot } from '../../electron/pipeline/boot/test-boot.ts';
import { exportTo } from '../../electron/pipeline/export/export.ts';
import { OutDir } from '../../electron/pipeline/media/out-dir.ts';
import { MAX_RECORD_BYTES, RECORD_NAME } from '../../electron/pipeline/media/record.ts';
import { ipxeScript } from '../../electron/shared/ipxe.ts';
import type { ExportSpec } from '../../electron/shared/types.ts';
import { recordFigures } from '../helpers/figures.ts';
import { runCli, tempDir } from '../helpers/fixtures.ts';

const run = promisify(execFile);
const TOPLEVEL = '/nix/store/00000000000000000000000000000000-nixos-system-test';
const FILES = ['bzImage', 'initrd', 'manifest', 'nix-store', 'netboot.ipxe'];
const SCRIPT = ipxeScript({
  title: 'test',
  kernel: 'bzImage',
  initrds: ['initrd', 'manifest', 'nix-store'],
  init: `${TOPLEVEL}/init`,
  kernelParams: 'console=ttyS0',
});

const refused: string[] = [];
let readerRuns = 0;
afterAll(async () => {
  await recordFigures(
    'hostile-folders',
    [
      { what: 'lying boot folders tried', value: refused.length },
      { what: 'readers run on them (export kinds, test-boot, CLI)', value: readerRuns },
      { what: 'refused in one sentence, nothing written, nothing outside read', value: refused.length },
      ...refused.map((what) => ({ what, value: 'refused' })),
    ],
    [
      'Files are checked (lstat, size) and then copied by name: a file swapped for a link between the check and the copy is not caught.',
      'A boot folder without a record (made by hand) is taken as it is, apart from links among the files its netboot.ipxe loads.',
      'What a record says the RAM is only has to be a sane number: a lie there sizes the test VM wrongly, nothing else.',
    ],
  );
});

/** A boot folder made the way a build makes one: every file written through OutDir, with a record. */
async function bootFolder(): Promise<string> {
  const dir = await tempDir('nbc-folder-');
  const out = await OutDir.open(dir);
  for (const name of FILES) {
    await out.write(name, name, (temp) => writeFile(temp, name === 'netboot.ipxe' ? SCRIPT : `${name} bytes\n`));
  }
  await out.commit({ ramBytes: 1 << 20, toplevel: TOPLEVEL });
  return dir;
}

interface RecordShape {
  tool: string;
  version: number;
  info: Record<string, unknown>;
  files: Record<string, { fingerprint: string; bytes: number; mtimeMs: number }>;
}

async function readRecordOf(dir: string): Promise<RecordShape> {
  return JSON.parse(await readFile(join(dir, RECORD_NAME), 'utf8')) as RecordShape;
}

async function writeRecord(dir: string, record: unknown): Promise<void> {
  await writeFile(join(dir, RECORD_NAME), JSON.stringify(record));
}

/** A FIFO outside every folder: opening it to read waits for a writer that never comes. */
let fifo: string;
/** A readable file outside, whose contents must not be copied anywhere. */
let secret: string;

beforeAll(async () => {
  const outside = await tempDir('nbc-outside-');
  fifo = join(outside, 'fifo');
  await run('mkfifo', [fifo]);
  secret = join(outside, 'secret');
  await writeFile(secret, 'SECRET-BYTES\n');
});

/** The bytes this process has read so far (read(2) and the like). */
async function bytesRead(): Promise<number> {
  const io = await readFile('/proc/self/io', 'utf8');
  return Number(/^rchar: (\d+)$/m.exec(io)![1]);
}

const KINDS = ['folder', 'tftp', 'http', 'usb', 'usb-image'] as const;

function spec(kind: (typeof KINDS)[number], target: string): ExportSpec {
  switch (kind) {
    case 'usb-image':
      return { kind, file: join(target, 'x.img') };
    case 'http':
      return { kind, dir: target, baseUrl: 'http://10.0.0.2/nb' };
    default:
      return { kind, dir: target };
  }
}

/**
 * Every reader refuses the folder `from`, in one sentence matching
 * `sentence`: each export kind (its target left empty) and a test boot
 * (which starts no VM).
 */
async function expectRefusedByEveryReader(what: string, from: string, sentence: RegExp): Promise<void> {
  for (const kind of KINDS) {
    const target = await tempDir();
    const error = await exportTo(from, spec(kind, target), { systemDisk: async () => undefined }).catch(
      (e: unknown) => e,
    );
    readerRuns++;
    expect(error, `${what}: ${kind} export`).toBeInstanceOf(Error);
    const message = (error as Error).message;
    expect(message, `${what}: ${kind} export`).toMatch(sentence);
    expect(message).not.toContain('\n');
    expect(message).not.toContain('SECRET-BYTES');
    expect(await readdir(target), `${what}: ${kind} export wrote`).toEqual([]);
  }
  const boot = await testBoot({ dir: from, expect: /never/, timeoutSeconds: 5, memoryMiB: 256 }).catch(
    (e: unknown) => e,
  );
  readerRuns++;
  expect((boot as Error).message, `${what}: test-boot`).toMatch(sentence);
  refused.push(what);
}

describe('a boot folder whose record lies', () => {
  it('about a name outside the folder, or an absolute one, is refused before anything is read or written', async () => {
    for (const name of ['../secret', '/etc/passwd', 'a/../../secret', 'EFI//x', 'x\nkernel evil']) {
      const from = await bootFolder();
      const record = await readRecordOf(from);
      record.files[name] = { fingerprint: 'x', bytes: 13, mtimeMs: 0 };
      await writeRecord(from, record);
      await expectRefusedByEveryReader(
        `a record naming ${JSON.stringify(name)}`,
        from,
        /\.netboot-composer\.json names ".*", which is not a file inside the folder, so it is not a record Netboot Composer wrote and nothing it names is touched; remove it or choose another folder\.$/,
      );
    }
  });

  it('about a file’s size is refused (netboot.ipxe excepted: the README lets people edit it)', async () => {
    const from = await bootFolder();
    const record = await readRecordOf(from);
    record.files.initrd!.bytes = 4096;
    await writeRecord(from, record);
    await expectRefusedByEveryReader(
      'a record whose initrd size is not the file’s',
      from,
      /initrd is 13 bytes, but the folder's record says 4096: it changed after Netboot Composer wrote it; build the system again\.$/,
    );
    // A file the record lists that is gone: the export says which (a test boot lets iPXE say it).
    const gone = await bootFolder();
    await rm(join(gone, 'manifest'));
    const target0 = await tempDir();
    await expect(exportTo(gone, { kind: 'folder', dir: target0 })).rejects.toThrow(
      /manifest is missing from the boot folder; build the system again\.$/,
    );
    expect(await readdir(target0)).toEqual([]);
    refused.push('a recorded file that is gone (export)');
    // An edited netboot.ipxe is what the person wants booted: the export takes it, as edited.
    const edited = await bootFolder();
    await writeFile(join(edited, 'netboot.ipxe'), SCRIPT.replace('console=ttyS0', 'console=ttyS0 quiet'));
    const target = await tempDir();
    await exportTo(edited, { kind: 'folder', dir: target });
    expect(await readFile(join(target, 'netboot.ipxe'), 'utf8')).toContain('console=ttyS0 quiet');
  });

  it('about the system (a toplevel that is no store path, an impossible RAM) or an unfinished build is refused', async () => {
    const lies: [string, (r: RecordShape) => void, RegExp][] = [
      [
        'a toplevel that is not a store path',
        (r) => (r.info.toplevel = '/etc/passwd\n# dhcp-script=/tmp/evil'),
        /names ".*" as the system, which is not a Nix store path/,
      ],
      [
        'an impossible RAM figure',
        (r) => (r.info.ramBytes = 1e30),
        /says the system needs an impossible amount of RAM/,
      ],
      [
        'a file without fingerprint',
        (r) => (r.files.bzImage = { bytes: 1 } as never),
        /has no fingerprint, size and time for "bzImage"/,
      ],
      [
        'an unfinished build',
        (r) => (r.files.bzImage!.bytes = -1),
        /holds a build that did not finish \(bzImage was being written\)/,
      ],
    ];
    for (const [what, lie, sentence] of lies) {
      const from = await bootFolder();
      const record = await readRecordOf(from);
      lie(record);
      await writeRecord(from, record);
      await expectRefusedByEveryReader(`a record with ${what}`, from, sentence);
    }
  });
});

describe('a boot folder whose record is not a plain file of a record’s size', () => {
  it('that is huge is refused without reading it', async () => {
    const from = await bootFolder();
    await truncate(join(from, RECORD_NAME), 64 * MAX_RECORD_BYTES);
    const before = await bytesRead();
    await expectRefusedByEveryReader(
      'a 64 MiB record',
      from,
      /\.netboot-composer\.json is 67108864 bytes long, far more than a record of Netboot Composer's, so it was not read/,
    );
    // Five exports and a test boot, each opening the record: far less than one read of it.
    expect((await bytesRead()) - before).toBeLessThan(4 * MAX_RECORD_BYTES);
  });

  it('that is a link, to a FIFO or to a file outside, is refused without following it', async () => {
    for (const [what, target] of [
      ['a FIFO outside', () => fifo],
      ['a record outside', () => secret],
    ] as const) {
      const from = await bootFolder();
      await writeFile(secret, JSON.stringify({ tool: 'netboot-composer', version: 1, files: {} }));
      await rm(join(from, RECORD_NAME));
      await symlink(target(), join(from, RECORD_NAME));
      await expectRefusedByEveryReader(
        `a record that is a link to ${what}`,
        from,
        /\.netboot-composer\.json is a link, and Netboot Composer writes its record as a plain file, so it is not one of ours and was not followed/,
      );
      await writeFile(secret, 'SECRET-BYTES\n');
    }
  });

  it('that is a FIFO or a folder is refused without waiting on it', async () => {
    for (const what of ['FIFO', 'folder']) {
      const from = await bootFolder();
      await rm(join(from, RECORD_NAME));
      if (what === 'FIFO') await run('mkfifo', [join(from, RECORD_NAME)]);
      else await mkdir(join(from, RECORD_NAME));
      await expectRefusedByEveryReader(
        `a record that is a ${what}`,
        from,
        /\.netboot-composer\.json is not a plain file, so it is not a record of Netboot Composer's/,
      );
    }
  });
});

describe('a boot folder holding links', () => {
  it('a boot file that is a link to outside (a FIFO, a secret) is refused without following it', async () => {
    for (const [name, target] of [
      ['bzImage', () => fifo],
      ['nix-store', () => secret],
      ['netboot.ipxe', () => secret],
    ] as const) {
      const from = await bootFolder();
      await rm(join(from, name));
      await symlink(target(), join(from, name));
      await expectRefusedByEveryReader(
        `${name} a link to outside`,
        from,
        new RegExp(`${name} is a link, and a boot folder Netboot Composer made holds none, so it is not followed`),
      );
    }
  });

  it('a subfolder on the way to a recorded file that is a link is refused', async () => {
    const from = await bootFolder();
    const outside = await tempDir('nbc-outside-');
    await mkdir(join(outside, 'BOOT'));
    await writeFile(join(outside, 'BOOT', 'x'), 'SECRET-BYTES\n');
    await symlink(outside, join(from, 'EFI'));
    const record = await readRecordOf(from);
    record.files['EFI/BOOT/x'] = { fingerprint: 'x', bytes: 13, mtimeMs: 0 };
    await writeRecord(from, record);
    await expectRefusedByEveryReader(
      'a recorded file below a subfolder that is a link',
      from,
      /\/EFI is a link, and a boot folder Netboot Composer made holds none, so it is not followed/,
    );
  });

  it('a folder with no record whose netboot.ipxe loads a link is not test-booted, and the CLI says so in one sentence', async () => {
    const from = await tempDir('nbc-handmade-');
    await writeFile(join(from, 'netboot.ipxe'), '#!ipxe\nkernel bzImage\ninitrd secret\nboot\n');
    await writeFile(join(from, 'bzImage'), 'kernel');
    await symlink(secret, join(from, 'secret'));
    const { code, stderr } = await runCli(['test-boot', '--dir', from, '--timeout', '5']);
    readerRuns++;
    expect(code).toBe(1);
    expect(stderr.trim()).toMatch(
      /^error: \S+\/secret is a link, and a test boot serves only the boot folder's own files, so it is not followed; build the system again into a new folder\.$/,
    );
    refused.push('a hand-made folder whose netboot.ipxe loads a link (test-boot, CLI)');
    const lying = await bootFolder();
    const record = await readRecordOf(lying);
    record.files['../secret'] = { fingerprint: 'x', bytes: 13, mtimeMs: 0 };
    await writeRecord(lying, record);
    const target = await tempDir();
    const exported = await runCli(['export', '--from', lying, '--folder', target]);
    readerRuns++;
    expect(exported.code).toBe(1);
    expect(exported.stderr.trim().split('\n')).toHaveLength(1);
    expect(await readdir(target)).toEqual([]);
    refused.push('a record naming ../secret (export, CLI)');
  });
});
