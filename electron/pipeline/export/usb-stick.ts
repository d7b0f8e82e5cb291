/**
 * A mounted USB stick (or any folder that will be one): the same files as
 * the image (usb.ts), copied in through an OutDir, and the commands that make
 * it bootable printed for the person (installing syslinux needs root). Never
 * a device node, never a folder on the disk the system runs from.
 */
import { readFile, realpath, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { ExportSummary, OutputFile } from '../../shared/types.ts';
import { CanceledError, isAbort, NetbootError } from '../base/errors.ts';
import { makeScratch, realLocation, systemFolderProblem } from '../base/fsutil.ts';
import { FILE_PACKAGES, findTool, requireFile, runTool } from '../base/tools.ts';
import { type StickFacts, stickNotes } from './usb-layout.ts';
import { alignInitrds, makeLoaderFiles, readSource } from './usb.ts';
import type { ExportHooks } from './writer.ts';
import { copyBytes, exportCanceled, openExportDir, putFile, writeWhole } from './writer.ts';

/** Where `dir` is mounted and from which device (findmnt, /sys); what is not known is left out. */
async function stickFacts(dir: string): Promise<StickFacts> {
  const facts: StickFacts = { dir, mbrFile: findMbrFile() ?? FILE_PACKAGES['syslinux-mbr'].paths[0] };
  if (!findTool('findmnt')) return facts;
  let found: { target?: string; source?: string; fstype?: string } | undefined;
  try {
    const out = await runTool('findmnt', ['--json', '--output', 'TARGET,SOURCE,FSTYPE', '--target', dir], {
      what: 'findmnt (the stick)',
    });
    found = (JSON.parse(out) as { filesystems?: (typeof found)[] }).filesystems?.[0];
  } catch {
    return facts;
  }
  facts.mountPoint = found?.target;
  facts.fsType = found?.fstype;
  const source = found?.source;
  if (source?.startsWith('/dev/')) {
    const device = await realpath(source).catch(() => source);
    facts.device = device;
    const sys = join('/sys/class/block', basename(device));
    const number = await readFile(join(sys, 'partition'), 'utf8').catch(() => undefined);
    if (number !== undefined) {
      facts.partitionNumber = Number(number.trim());
      facts.disk = `/dev/${basename(dirname(await realpath(sys)))}`;
    }
  }
  return facts;
}

function findMbrFile(): string | undefined {
  try {
    return requireFile('syslinux-mbr');
  } catch {
    return undefined;
  }
}

/** The major and minor numbers of a device number (glibc's gnu_dev_major and gnu_dev_minor). */
function majorMinor(dev: bigint): string {
  const major = ((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn);
  const minor = (dev & 0xffn) | ((dev >> 12n) & ~0xffn);
  return `${major}:${minor}`;
}

/** The whole disk (vda, sdb, nvme0n1) that holds the file system of device number `dev`, if it is on one. */
async function diskOfDevice(dev: bigint): Promise<string | undefined> {
  const sys = await realpath(join('/sys/dev/block', majorMinor(dev))).catch(() => undefined);
  if (sys === undefined) return undefined;
  const partition = await stat(join(sys, 'partition')).catch(() => undefined);
  return basename(partition ? dirname(sys) : sys);
}

/**
 * The disk the system runs from, when `dir` is on it (the same file system
 * as `/`, or another partition of the same disk), else undefined: a stick
 * export never writes there.
 */
export async function systemDiskHolding(dir: string): Promise<string | undefined> {
  // The nearest folder that exists: the stick's folder may be made by the export.
  let at = await realLocation(dir);
  let info = await stat(at, { bigint: true }).catch(() => undefined);
  while (!info && dirname(at) !== at) {
    at = dirname(at);
    info = await stat(at, { bigint: true }).catch(() => undefined);
  }
  const root = await stat('/', { bigint: true });
  if (!info) return undefined;
  const rootDisk = await diskOfDevice(root.dev);
  if (info.dev === root.dev) return rootDisk ?? 'the system’s own';
  const disk = await diskOfDevice(info.dev);
  return disk !== undefined && disk === rootDisk ? disk : undefined;
}

/**
 * Refuse a stick's folder that is no stick: a device node (a stick is
 * written through its mounted file system, never as a device), a folder of
 * the system, or a folder on the disk the system runs from.
 */
async function checkStickFolder(dir: string, hooks: ExportHooks): Promise<void> {
  const info = await stat(dir).catch(() => undefined);
  if (info && (info.isBlockDevice() || info.isCharacterDevice())) {
    throw new NetbootError(
      `${dir} is a device, and a stick export never writes to a device: mount the stick and give the folder it is mounted at (lsblk shows it), or make a USB image and write that with dd.`,
    );
  }
  const system = await systemFolderProblem(dir, '');
  if (system) throw new NetbootError(system);
  const disk = await (hooks.systemDisk ?? systemDiskHolding)(dir);
  if (disk !== undefined) {
    throw new NetbootError(
      `${dir} is on ${/^[a-z]/.test(disk) ? `/dev/${disk}, ` : ''}the disk this system runs from, not on a USB stick: mount the stick and give the folder it is mounted at (lsblk shows it).`,
    );
  }
}

/** Write the same layout onto the mounted stick at `dir`. */
export async function writeUsbStick(from: string, dir: string, hooks: ExportHooks = {}): Promise<ExportSummary> {
  const { signal } = hooks;
  if (resolve(from) === resolve(dir)) {
    throw new NetbootError(`${dir} is the boot folder itself; choose the folder of the USB stick.`);
  }
  await checkStickFolder(dir, hooks);
  const source = await readSource(from);
  const scratch = await makeScratch('netboot-composer-usb-');
  const written: OutputFile[] = [];
  try {
    const aligned = await alignInitrds(source, scratch, signal);
    const files = [...aligned.files, ...(await makeLoaderFiles(scratch, source.boot, signal))];
    const out = await openExportDir(dir, hooks);
    await writeWhole(out, aligned.info, signal, async () => {
      await out.claim(files.map((f) => f.name));
      for (const f of files) {
        await putFile(out, f.name, f.fingerprint, (temp) => copyBytes(f.path, temp, signal), {
          hooks,
          files: written,
        });
      }
    });
  } catch (error) {
    if (error instanceof CanceledError) throw error;
    if (isAbort(error, signal)) throw exportCanceled();
    throw error;
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
  return {
    kind: 'usb',
    dir,
    files: written,
    notes: stickNotes(await stickFacts(resolve(dir)), source.boot, source.info.ramBytes),
  };
}
