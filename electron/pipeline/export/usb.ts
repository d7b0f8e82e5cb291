/**
 * USB media: a disk image, or a mounted stick, that boots the system with no
 * network: syslinux for BIOS, a standalone GRUB for UEFI, and the kernel and
 * all three initrds on the stick.
 *
 * The image is made without root: a sparse file, an MBR partition table
 * (sfdisk on the file), one FAT32 partition at 1 MiB (`mkfs.fat --offset`),
 * the files put in with mtools (`IMAGE@@OFFSET`), syslinux installed into the
 * partition's boot sector and its MBR code into the image's first 440 bytes.
 * It is built under a temporary name beside the target and renamed into place
 * at the end, so a failure or a cancel leaves the previous image as it was.
 * (An unpartitioned FAT image did not boot on OVMF; this one boots on both.)
 *
 * The layout, the boot loaders' configurations and the notes are decided in
 * usb-layout.ts; this module runs the tools, and prepares the files a
 * mounted stick gets too (usb-stick.ts).
 */
import { createHash, randomBytes } from 'node:crypto';
import { lstat, open, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { SCRIPT_NAME } from '../../shared/boot-folder.ts';
import type { ExportSummary, OutputFile } from '../../shared/types.ts';
import { arm64Packages } from '../base/debian-arm64.ts';
import { defaultCacheDir } from '../base/dirs.ts';
import { CanceledError, isAbort, NetbootError, ToolMissingError } from '../base/errors.ts';
import { diskIsFull, makeFolder, makeScratch, systemFolderProblem, whyNotWritable } from '../base/fsutil.ts';
import { requireFile, requireTool, runTool } from '../base/tools.ts';
import { alignmentPadding, padInitrd } from '../media/initrd-padding.ts';
import { lockFor } from '../media/out-dir.ts';
import { readBootFolderFiles } from '../media/read-folder.ts';
import { type BootFolderInfo, RECORD_NAME, recordText } from '../media/record.ts';
import { MTOOLS_ENV, readImageRecord } from '../media/usb-image.ts';
import {
  GRUB_EMBEDDED_CONFIG,
  GRUB_MODULES,
  grubConfig,
  grubStandaloneArgs,
  imageLayout,
  imageNotes,
  parseBootScript,
  sfdiskScript,
  syslinuxConfig,
  tooBigForFat,
  USB_FILES,
  type UsbBoot,
} from './usb-layout.ts';
import type { ExportHooks } from './writer.ts';
import { copyBytes, exportCanceled, paddedFingerprint, withPadding } from './writer.ts';

/** A file that goes onto the stick: where it comes from, and what it was made from. */
export interface StickFile {
  /** Its path on the stick. */
  name: string;
  /** Where it is now. */
  path: string;
  bytes: number;
  fingerprint: string;
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** The boot folder's kernel and initrds, as its netboot.ipxe loads them. */
export async function readSource(given: string): Promise<{ boot: UsbBoot; info: BootFolderInfo; files: StickFile[] }> {
  // Absolute: its files are arguments of mcopy.
  const from = resolve(given);
  const source = await readBootFolderFiles(from);
  if (!source || source.files.length === 0) {
    throw new NetbootError(`${from} holds no boot folder made by Netboot Composer; build the system first.`);
  }
  const script = source.files.some((f) => f.name === SCRIPT_NAME)
    ? await readFile(join(from, SCRIPT_NAME), 'utf8').catch(() => undefined)
    : undefined;
  if (script === undefined) {
    throw new NetbootError(`${from} has no ${SCRIPT_NAME}, which says what to boot; build the system again.`);
  }
  const toplevel = source.info.toplevel;
  const title = toplevel ? basename(toplevel).replace(/^[0-9a-z]{32}-/, '') : 'NixOS';
  const boot = parseBootScript(script, title);
  const files: StickFile[] = [];
  for (const name of [boot.kernel, ...boot.initrds]) {
    const path = join(from, name);
    // Not followed if it is a link: the stick gets the folder's files, nothing from elsewhere.
    const info = await lstat(path).catch(() => undefined);
    if (info?.isSymbolicLink()) {
      throw new NetbootError(
        `${path}, which its ${SCRIPT_NAME} loads, is a link, and a boot folder Netboot Composer made holds none, so it is not followed; build the system again.`,
      );
    }
    if (!info?.isFile()) {
      throw new NetbootError(`${from} has no ${name}, which its ${SCRIPT_NAME} loads; build the system again.`);
    }
    const tooBig = tooBigForFat(name, info.size);
    if (tooBig) throw new NetbootError(tooBig);
    const recorded = source.files.find((f) => f.name === name);
    const fingerprint =
      recorded && recorded.bytes === info.size ? recorded.fingerprint : `stat:${info.size}:${info.mtimeMs}`;
    files.push({ name, path, bytes: info.size, fingerprint });
  }
  return { boot, info: source.info, files };
}

/**
 * The stick's files with every initrd ending on a 4-byte boundary: one that
 * does not (a boot folder made before every initrd did) is copied into
 * `scratch` and zero-padded there, as a build now writes it; the record's RAM
 * grows by the bytes added, so it stays true of the stick.
 */
export async function alignInitrds(
  source: { boot: UsbBoot; info: BootFolderInfo; files: StickFile[] },
  scratch: string,
  signal: AbortSignal | undefined,
): Promise<{ info: BootFolderInfo; files: StickFile[] }> {
  let added = 0;
  const files: StickFile[] = [];
  for (const file of source.files) {
    if (!source.boot.initrds.includes(file.name) || alignmentPadding(file.bytes) === 0) {
      files.push(file);
      continue;
    }
    const path = join(scratch, `padded-${files.length}`);
    await copyBytes(file.path, path, signal);
    const padding = await padInitrd(path);
    added += padding;
    files.push({
      ...file,
      path,
      bytes: file.bytes + padding,
      fingerprint: paddedFingerprint(file.fingerprint),
    });
  }
  return { info: withPadding(source.info, added), files };
}

/**
 * The boot loaders' files, made in `scratch`: syslinux.cfg, GRUB's config,
 * and GRUB itself as one EFI program (grub-mkstandalone: its modules and
 * its first config on a memdisk inside; under 0.1 s here, so it is not cached).
 */
export async function makeLoaderFiles(
  scratch: string,
  boot: UsbBoot,
  signal: AbortSignal | undefined,
): Promise<StickFile[]> {
  const aarch64 = boot.arch === 'aarch64-linux';
  const configs: StickFile[] = [];
  for (const [name, text] of [
    // aarch64: UEFI only, no syslinux.
    ...(aarch64 ? [] : [[USB_FILES.syslinuxConfig, syslinuxConfig(boot)] as const]),
    [USB_FILES.grubConfig, grubConfig(boot)] as const,
  ]) {
    const path = join(scratch, basename(name));
    await writeFile(path, text);
    configs.push({ name, path, bytes: Buffer.byteLength(text), fingerprint: sha256(text) });
  }
  // aarch64: GRUB's arm64 modules from Debian's grub-efi-arm64-bin, fetched once (debian-arm64.ts),
  // packed by this machine's grub-mkstandalone.
  const modules = aarch64
    ? join(await arm64Packages(defaultCacheDir(), 'grub', signal), 'usr', 'lib', 'grub', 'arm64-efi')
    : requireFile('grub-x86_64-efi');
  const embedded = join(scratch, 'embedded-grub.cfg');
  await writeFile(embedded, GRUB_EMBEDDED_CONFIG);
  const loader = aarch64 ? USB_FILES.efiLoaderArm64 : USB_FILES.efiLoader;
  const efi = join(scratch, basename(loader));
  const args = grubStandaloneArgs(efi, embedded, modules, aarch64 ? 'arm64-efi' : 'x86_64-efi');
  const what = `grub-mkstandalone (GRUB for ${aarch64 ? 'arm64 ' : ''}UEFI)`;
  const version = (await runTool('grub-mkstandalone', ['--version'], { what, signal })).trim();
  await runTool('grub-mkstandalone', args, { what, signal });
  // Its bytes differ from run to run (file times): fingerprint what it is made of.
  const fingerprint = sha256(
    JSON.stringify([version, GRUB_MODULES, GRUB_EMBEDDED_CONFIG, ...(aarch64 ? [modules] : [])]),
  );
  return [...configs, { name: loader, path: efi, bytes: (await stat(efi)).size, fingerprint }];
}

/** Refuse to replace `file` unless it is an image we made (or not there), and to write one among the system's files. */
async function checkImageTarget(file: string): Promise<void> {
  const system = await systemFolderProblem(dirname(file), '');
  if (system) throw new NetbootError(system);
  const info = await stat(file).catch(() => undefined);
  if (!info) return;
  if (info.isDirectory()) throw new NetbootError(`${file} is a folder; give the name of the image file to make.`);
  if (!info.isFile()) {
    throw new NetbootError(
      `${file} is not a plain file (a disk?), so it is left alone; make the image in a file, then write it to the stick with dd.`,
    );
  }
  // One that cannot be read is not known to be ours either.
  const record = await readImageRecord(file).catch((error: unknown) => {
    if (error instanceof ToolMissingError) throw error;
    return undefined;
  });
  if (!record) {
    throw new NetbootError(
      `${file} is not a USB image made by Netboot Composer, so it is left alone; move it away or choose another file name.`,
    );
  }
}

const IMAGE_TOOLS = ['sfdisk', 'mkfs.fat', 'syslinux', 'mmd', 'mcopy', 'mtype', 'grub-mkstandalone'] as const;

/** Write a bootable disk image of the boot folder `from` to `file` (atomically). */
export async function makeUsbImage(from: string, file: string, hooks: ExportHooks = {}): Promise<ExportSummary> {
  const { signal } = hooks;
  const target = resolve(file);
  // Every tool first: a missing one is reported before anything is made.
  for (const tool of IMAGE_TOOLS) requireTool(tool);
  requireFile('grub-x86_64-efi');
  const mbr = await readFile(requireFile('syslinux-mbr'));
  await checkImageTarget(target);
  const source = await readSource(from);
  try {
    await makeFolder(dirname(target));
  } catch (error) {
    throw new NetbootError(
      `The folder ${dirname(target)} cannot be made (${await whyNotWritable(dirname(target), error)}); choose another place for the image.`,
      { cause: error },
    );
  }
  // One writer of the image at a time (a lock file beside it), so that the
  // partial images beside it are those of killed writers, and removed.
  let unlock: () => Promise<void>;
  try {
    unlock = await lockFor(join(dirname(target), `.${basename(target)}.lock`), target, {
      how: 'file name for the image',
      signal,
      onWait: (message) => hooks.onEvent?.({ event: 'log', message }),
    });
  } catch (error) {
    if (isAbort(error, signal)) throw exportCanceled();
    if (error instanceof NetbootError) throw error;
    throw new NetbootError(
      `The image cannot be written in ${dirname(target)} (${await whyNotWritable(dirname(target), error)}); choose another place for it.`,
      { cause: error },
    );
  }
  try {
    const partial = `.${basename(target)}.partial-`;
    for (const name of await readdir(dirname(target))) {
      if (name.startsWith(partial) && /^[0-9a-f]{8}$/.test(name.slice(partial.length))) {
        await rm(join(dirname(target), name), { force: true });
      }
    }
    // Another writer may have replaced it while this one waited.
    await checkImageTarget(target);
    return await writeImage(target, source, mbr, hooks);
  } finally {
    await unlock();
  }
}

/** The image itself, under a temporary name beside `target`, renamed into place at the end. */
async function writeImage(
  target: string,
  source: Awaited<ReturnType<typeof readSource>>,
  mbr: Buffer,
  hooks: ExportHooks,
): Promise<ExportSummary> {
  const { signal } = hooks;
  const scratch = await makeScratch('netboot-composer-usb-');
  const temp = join(dirname(target), `.${basename(target)}.partial-${randomBytes(4).toString('hex')}`);
  const written: OutputFile[] = [];
  try {
    const aligned = await alignInitrds(source, scratch, signal);
    const files = [...aligned.files, ...(await makeLoaderFiles(scratch, source.boot, signal))];
    const layout = imageLayout(files.map((f) => f.bytes));
    const handle = await open(temp, 'wx').catch(async (error: unknown) => {
      throw new NetbootError(
        `The image cannot be written in ${dirname(target)} (${await whyNotWritable(dirname(target), error)}); choose another place for it.`,
        { cause: error },
      );
    });
    try {
      await handle.truncate(layout.imageBytes);
    } finally {
      await handle.close();
    }
    const start = layout.partitionStart;
    await runTool('sfdisk', ['--quiet', '--no-reread', '--no-tell-kernel', temp], {
      what: `sfdisk (the partition table of ${target})`,
      input: sfdiskScript(layout),
      signal,
    });
    await runTool(
      'mkfs.fat',
      [
        '-F',
        '32',
        '-n',
        'NETBOOT',
        `--offset=${start / 512}`,
        '-h',
        String(start / 512),
        temp,
        String(layout.partitionBytes / 1024),
      ],
      { what: `mkfs.fat (the FAT partition of ${target})`, signal },
    );
    // aarch64 has no BIOS: no syslinux, no MBR boot code.
    if (source.boot.arch === 'x86_64-linux') {
      // syslinux puts ldlinux.sys and ldlinux.c32 in and points the partition's boot sector at them.
      await runTool('syslinux', ['--offset', String(start), '--install', temp], {
        what: `syslinux --install (BIOS boot of ${target})`,
        env: MTOOLS_ENV,
        signal,
      });
      // The MBR's boot code (its first 440 bytes, before the disk id and the partitions) starts the active partition.
      const image = await open(temp, 'r+');
      try {
        await image.write(mbr, 0, Math.min(mbr.length, 440), 0);
      } finally {
        await image.close();
      }
    }
    const drive = `${temp}@@${start}`;
    const mtools = { env: MTOOLS_ENV, signal };
    const folders = [...new Set(files.map((f) => dirname(f.name)).filter((d) => d !== '.'))];
    for (const folder of folders) {
      const parts = folder.split('/');
      const steps = parts.map((_, i) => `::/${parts.slice(0, i + 1).join('/')}`);
      await runTool('mmd', ['-D', 's', '-i', drive, ...steps], { what: `mmd of ${folder} in ${target}`, ...mtools });
    }
    for (const f of files) {
      if (signal?.aborted) throw new CanceledError();
      await runTool('mcopy', ['-o', '-i', drive, f.path, `::/${f.name}`], {
        what: `mcopy of ${f.name} into ${target}`,
        ...mtools,
      });
      written.push({ name: f.name, bytes: f.bytes });
      hooks.onEvent?.({ event: 'file', name: f.name, bytes: f.bytes, reused: false });
    }
    // The record last: it makes the file one of our images, which a later export may replace.
    const record = join(scratch, 'record.json');
    await writeFile(record, recordText(files, aligned.info));
    await runTool('mcopy', ['-o', '-i', drive, record, `::/${RECORD_NAME}`], {
      what: `mcopy of the record into ${target}`,
      ...mtools,
    });
    if (signal?.aborted) throw new CanceledError();
    await rename(temp, target);
  } catch (error) {
    // Asked before the partial image, which holds the room, is removed.
    const full = !isAbort(error, signal) && (await diskIsFull(dirname(target), error));
    await rm(temp, { force: true });
    if (isAbort(error, signal)) throw new CanceledError();
    if (full) {
      // The scratch folder (the padded initrds, GRUB) is on the system's temporary folder's disk.
      const path = (error as NodeJS.ErrnoException).path;
      const where = path?.startsWith(scratch) ? dirname(scratch) : dirname(target);
      throw new NetbootError(`The disk of ${where} is full; free some space and try again.`, { cause: error });
    }
    throw error;
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
  return {
    kind: 'usb-image',
    dir: dirname(target),
    file: target,
    files: written,
    notes: imageNotes(target, source.boot, source.info.ramBytes),
  };
}
