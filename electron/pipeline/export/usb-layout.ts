/**
 * USB media without the tools: what the kernel gets (read from the boot
 * folder's netboot.ipxe, which the user may have edited), the boot loaders'
 * configurations, the size of a disk image, what an image's first sector
 * says, and the notes a person gets afterwards. Pure: tested on its own.
 */
import { GRUB_ESCAPED } from '../../shared/kernel-params.ts';
import { formatBytes } from '../../shared/progress.ts';
import type { ExportNote } from '../../shared/types.ts';
import { NetbootError } from '../base/errors.ts';
import { commandLine, shellQuote } from '../base/quote.ts';
import { RECORD_NAME } from '../media/record.ts';

const MIB = 1024 * 1024;

/** Where the FAT partition starts in an image: 1 MiB, aligned for flash memory. */
export const PARTITION_START = MIB;

/** The largest file FAT can hold: 4 GiB less one byte. */
export const FAT_MAX_FILE = 2 ** 32 - 1;

/** Where the boot loaders' files go on the stick. */
export const USB_FILES = {
  syslinuxConfig: 'syslinux.cfg',
  /** The path UEFI firmware boots from removable media on x86_64. */
  efiLoader: 'EFI/BOOT/BOOTX64.EFI',
  /** The same on 64-bit ARM. */
  efiLoaderArm64: 'EFI/BOOT/BOOTAA64.EFI',
  grubConfig: 'EFI/BOOT/grub.cfg',
} as const;

/** What a USB boot loads, read from netboot.ipxe. */
export interface UsbBoot {
  /** What the boot loaders call the system. */
  title: string;
  /** The machines it boots: aarch64 when the kernel is `Image` (GRUB for arm64 UEFI, no syslinux). */
  arch: 'x86_64-linux' | 'aarch64-linux';
  /** File names in the boot folder. */
  kernel: string;
  initrds: string[];
  /** The kernel's parameters, without the `initrd=` names (see {@link parseBootScript}). */
  params: string[];
  /** iPXE settings in the kernel line (`${name}`) that have no value off the network, left out. */
  dropped: string[];
}

/** iPXE options of `kernel`, `chain` and `initrd` that take a value. */
const OPTIONS_WITH_VALUE = new Set(['--name', '-n', '--timeout', '-t']);

/** The image name and its arguments in the words of an iPXE image command, options skipped. */
function imageAndArgs(words: string[]): { image: string | undefined; args: string[] } {
  let i = 1;
  while (i < words.length && words[i]!.startsWith('-')) i += OPTIONS_WITH_VALUE.has(words[i]!) ? 2 : 1;
  return { image: words[i], args: words.slice(i + 1) };
}

function bootFolderFile(name: string | undefined, what: string): string {
  if (name === undefined) throw new NetbootError(`netboot.ipxe has a ${what} line without a file name.`);
  // Not starting with "-": the names are arguments of mtools and syslinux reads them as paths.
  if (!/^[A-Za-z0-9._+][A-Za-z0-9._+-]*$/.test(name) || name === '.' || name === '..') {
    throw new NetbootError(
      `netboot.ipxe loads ${name} as the ${what}; a USB stick carries only files of the boot folder, named without a path or URL.`,
    );
  }
  return name;
}

/**
 * The kernel, the initrds and the kernel's parameters that netboot.ipxe
 * boots. The parameters lose the `initrd=NAME` words (UEFI's netboot needs
 * them, but syslinux would read them as its own list of initrds, and the
 * kernel's EFI stub would look for files by those names) and the iPXE
 * settings such as `${cmdline}`.
 */
export function parseBootScript(script: string, title: string): UsbBoot {
  let kernel: string | undefined;
  let params: string[] = [];
  const dropped: string[] = [];
  const initrds: string[] = [];
  for (const line of script.split(/\r?\n/)) {
    // The first command's words as iPXE reads them (src/core/exec.c): split on ASCII white
    // space, up to a word that ends the command (;, &&, ||) or starts a comment (#).
    const all = line.split(/[ \t\v\f\r]+/).filter((word) => word.length > 0);
    const end = all.findIndex((word) => word.startsWith('#') || word === ';' || word === '&&' || word === '||');
    const words = end < 0 ? all : all.slice(0, end);
    const command = words[0];
    if (command === 'kernel' || command === 'chain') {
      if (kernel !== undefined) continue;
      const { image, args } = imageAndArgs(words);
      kernel = bootFolderFile(image, 'kernel');
      params = args.filter((word) => {
        if (word.startsWith('initrd=')) return false;
        if (!word.includes('${')) return true;
        if (word !== '${cmdline}') dropped.push(word);
        return false;
      });
    } else if (command === 'initrd' || command === 'module') {
      initrds.push(bootFolderFile(imageAndArgs(words).image, 'initrd'));
    }
  }
  if (kernel === undefined) {
    throw new NetbootError(
      'netboot.ipxe has no kernel line, so there is no kernel or command line to put on the stick.',
    );
  }
  const arch = kernel === 'Image' ? 'aarch64-linux' : 'x86_64-linux';
  // The title goes into comment and SAY lines: no line break or other control character may end one.
  // eslint-disable-next-line no-control-regex
  return { title: title.replace(/[\0-\x1f\x7f]/g, ' '), arch, kernel, initrds, params, dropped };
}

/** The serial console the kernel writes to (`console=ttyS0,115200`), for the boot loaders to use too. */
export function serialConsole(params: readonly string[]): { port: number; baud: number } | undefined {
  for (const param of params) {
    const match = /^console=ttyS(\d+)(?:,(\d+))?/.exec(param);
    if (match) return { port: Number(match[1]), baud: match[2] ? Number(match[2]) : 9600 };
  }
  return undefined;
}

/** syslinux.cfg (BIOS): boot at once, no menu; the initrds on the INITRD line, never in APPEND. */
export function syslinuxConfig(boot: UsbBoot): string {
  const serial = serialConsole(boot.params);
  return [
    // SERIAL must come first.
    ...(serial ? [`SERIAL ${serial.port} ${serial.baud}`] : []),
    `# ${boot.title}, made by Netboot Composer from its netboot.ipxe.`,
    '# Boots at once; hold Shift while it starts for a boot: prompt.',
    'DEFAULT nixos',
    'PROMPT 0',
    'TIMEOUT 0',
    `SAY Booting ${boot.title}: loading the kernel and ${boot.initrds.length} initrds.`,
    'LABEL nixos',
    `  LINUX /${boot.kernel}`,
    ...(boot.initrds.length > 0 ? [`  INITRD ${boot.initrds.map((name) => `/${name}`).join(',')}`] : []),
    ...(boot.params.length > 0 ? [`  APPEND ${boot.params.join(' ')}`] : []),
    '',
  ].join('\n');
}

/**
 * GRUB lines that make the stick GRUB's root: first the device GRUB was
 * loaded from (`$cmdpath`, "(hd0,msdos1)/EFI/BOOT"), else the first disk with
 * our record at its top. A standalone GRUB starts with its root on its own
 * memdisk, where none of the stick's files are.
 */
const FIND_THE_STICK = [
  'insmod part_msdos',
  'insmod part_gpt',
  'insmod fat',
  `if [ ! -f /${RECORD_NAME} ]; then regexp --set 1:root '^\\((.+)\\)' "$cmdpath"; fi`,
  `if [ ! -f /${RECORD_NAME} ]; then search --no-floppy --file --set=root /${RECORD_NAME}; fi`,
];

/**
 * The stick's grub.cfg (UEFI): find the stick, then boot at once. It finds
 * its own root because it is not always read through BOOTX64.EFI's embedded
 * config: Debian 13's GRUB (2.12) reads `EFI/BOOT/grub.cfg` next to itself
 * directly, with its root still on the memdisk, and the embedded config never
 * runs. Read either way, the same lines choose the stick.
 */
export function grubConfig(boot: UsbBoot): string {
  return [
    `# ${boot.title}, made by Netboot Composer from its netboot.ipxe.`,
    '# Find the stick (GRUB may read this file before anything chose its root).',
    ...FIND_THE_STICK,
    'set timeout=0',
    `menuentry ${shellQuote(boot.title)} {`,
    "  echo 'Loading the kernel...'",
    `  linux /${boot.kernel} ${boot.params.map(shellQuote).join(' ')}`.trimEnd(),
    ...(boot.initrds.length > 0
      ? [
          `  echo 'Loading ${boot.initrds.length} initrds...'`,
          `  initrd ${boot.initrds.map((name) => `/${name}`).join(' ')}`,
        ]
      : []),
    '}',
    '',
  ].join('\n');
}

/** The GRUB modules BOOTX64.EFI carries (with what they need): enough to find the stick and boot Linux. */
export const GRUB_MODULES = [
  'part_msdos',
  'part_gpt',
  'fat',
  'normal',
  'configfile',
  'search',
  'search_fs_file',
  'regexp',
  'test',
  'echo',
  'linux',
  'all_video',
] as const;

/**
 * grub-mkstandalone's arguments for BOOTX64.EFI: GRUB_MODULES, no locales,
 * themes or fonts (0.8 MB), and `config` (a file) as its built-in grub.cfg.
 * `modulesDir`: GRUB's x86_64-efi modules, when not in GRUB's default place.
 * Pure.
 */
export function grubStandaloneArgs(
  output: string,
  config: string,
  modulesDir?: string,
  format: 'x86_64-efi' | 'arm64-efi' = 'x86_64-efi',
): string[] {
  return [
    `--format=${format}`,
    ...(modulesDir ? [`--directory=${modulesDir}`] : []),
    `--output=${output}`,
    `--install-modules=${GRUB_MODULES.join(' ')}`,
    '--modules=part_msdos part_gpt fat',
    '--locales=',
    '--themes=',
    '--fonts=',
    `boot/grub/grub.cfg=${config}`,
  ];
}

/**
 * The configuration inside BOOTX64.EFI, for a GRUB that runs it (Debian 12's
 * 2.06): find the stick, then read its grub.cfg. The same binary serves every
 * stick and image.
 */
export const GRUB_EMBEDDED_CONFIG = [
  '# Netboot Composer: find the stick this GRUB was loaded from, then read its grub.cfg.',
  ...FIND_THE_STICK,
  'insmod all_video',
  `configfile /${USB_FILES.grubConfig}`,
  `echo 'Netboot Composer: /${USB_FILES.grubConfig} was not found on this stick.'`,
  '',
].join('\n');

/** Where things go in a disk image: one FAT32 partition from {@link PARTITION_START}. */
export interface ImageLayout {
  partitionStart: number;
  partitionBytes: number;
  imageBytes: number;
}

/** The smallest partition: FAT32 needs 65525 clusters, 32 MiB with the smallest clusters; with room to spare. */
const MIN_PARTITION = 64 * MIB;

/** Per file: the largest cluster mkfs.fat picks for these sizes, and its directory entries. */
const PER_FILE = 64 * 1024;

/** What syslinux adds (ldlinux.sys and ldlinux.c32, 180 KiB in 6.04). */
const SYSLINUX_BYTES = 512 * 1024;

/**
 * The image's size for files of `fileBytes`: the files rounded up to
 * clusters, the two FATs (4 bytes per cluster, 1.6 % of the partition with
 * the 512-byte clusters of small partitions), reserved sectors and 2 MiB of
 * slack, in whole MiB.
 */
export function imageLayout(fileBytes: readonly number[]): ImageLayout {
  const payload = fileBytes.reduce((sum, bytes) => sum + Math.ceil(bytes / PER_FILE) * PER_FILE + PER_FILE, 0);
  const needed = (payload + SYSLINUX_BYTES + 3 * MIB) / (1 - 8 / 512);
  const partitionBytes = Math.max(MIN_PARTITION, Math.ceil(needed / MIB) * MIB);
  return { partitionStart: PARTITION_START, partitionBytes, imageBytes: PARTITION_START + partitionBytes };
}

/** The sfdisk script of an image: MBR, one bootable FAT32 (LBA) partition. */
export function sfdiskScript(layout: ImageLayout): string {
  return [
    'label: dos',
    'unit: sectors',
    '',
    `start=${layout.partitionStart / 512}, size=${layout.partitionBytes / 512}, type=c, bootable`,
    '',
  ].join('\n');
}

/** One sentence when a file is too big for FAT, else undefined. */
export function tooBigForFat(name: string, bytes: number): string | undefined {
  if (bytes <= FAT_MAX_FILE) return undefined;
  return `${name} is ${formatBytes(bytes)}, more than the 4 GiB a file can have on FAT, the file system a USB stick boots from; make the system smaller or its squashfs images smaller (a stronger --squashfs-compression).`;
}

function ramNote(ramBytes: number | undefined): ExportNote[] {
  return ramBytes === undefined
    ? []
    : [{ level: 'info', message: `A machine needs about ${formatBytes(ramBytes)} of RAM to boot it.` }];
}

function droppedNote(dropped: readonly string[]): ExportNote[] {
  return dropped.length === 0
    ? []
    : [
        {
          level: 'warning',
          message: `netboot.ipxe's kernel line has iPXE settings (${dropped.join(' ')}) that have no value off the network, so the USB boot leaves them out.`,
        },
      ];
}

/** A warning when GRUB would not pass the kernel parameters as they are (the system's own may hold quotes). */
function grubEscapeNote(params: readonly string[]): ExportNote[] {
  const escaped = params.filter((param) => GRUB_ESCAPED.test(param));
  return escaped.length === 0
    ? []
    : [
        {
          level: 'warning',
          message: `GRUB, which boots the stick under UEFI, hands ${escaped.join(' ')} to the kernel with a backslash before each ', " and \\; BIOS machines (syslinux) and netboot get them as they are.`,
        },
      ];
}

const SECURE_BOOT = 'with Secure Boot off, as its GRUB is not signed';

/** What to do with a disk image. */
export function imageNotes(file: string, boot: UsbBoot, ramBytes: number | undefined): ExportNote[] {
  return [
    {
      level: 'info',
      message: `Write it to a whole USB stick, not a partition (everything on the stick is lost; lsblk lists them): ${commandLine(['sudo', 'dd', `if=${file}`, 'of=/dev/sdX', 'bs=4M', 'conv=fsync', 'status=progress'])}, or use balenaEtcher.`,
    },
    {
      level: 'info',
      message:
        boot.arch === 'aarch64-linux'
          ? `It boots 64-bit ARM machines with UEFI (GRUB for arm64, ${SECURE_BOOT}).`
          : `It boots on BIOS (syslinux) and on UEFI (GRUB, ${SECURE_BOOT}).`,
    },
    ...ramNote(ramBytes),
    ...droppedNote(boot.dropped),
    ...grubEscapeNote(boot.params),
  ];
}

/** What the system says about the folder a stick export went to (findmnt, /sys). */
export interface StickFacts {
  dir: string;
  /** The top folder of the file system that holds `dir`. */
  mountPoint?: string | undefined;
  /** findmnt's FSTYPE: vfat for FAT. */
  fsType?: string | undefined;
  /** The block device mounted there: a partition (/dev/sdb1), or a whole disk formatted without partitions. */
  device?: string | undefined;
  /** When `device` is a partition: its disk (/dev/sdb) and number. */
  disk?: string | undefined;
  partitionNumber?: number | undefined;
  /** syslinux's MBR code (its path here, or where Debian puts it). */
  mbrFile: string;
}

/**
 * What to do after a stick export, and what is wrong with the stick for
 * booting. Commands name the device only when `dir` is the top folder of a
 * FAT file system on a block device: never a system disk by mistake.
 */
export function stickNotes(facts: StickFacts, boot: UsbBoot, ramBytes: number | undefined): ExportNote[] {
  const notes: ExportNote[] = [];
  const top = facts.mountPoint === undefined || facts.mountPoint === facts.dir;
  if (!top) {
    notes.push({
      level: 'warning',
      message: `${facts.dir} is a folder inside the file system mounted at ${facts.mountPoint}, and firmware boots only from the top folder: export to ${facts.mountPoint} to boot from it.`,
    });
  }
  const fat = facts.fsType === undefined || facts.fsType === 'vfat';
  if (!fat) {
    notes.push({
      level: 'warning',
      message: `The file system at ${facts.dir} is ${facts.fsType}, not FAT, and firmware and syslinux boot only from FAT: format the stick as FAT32 (mkfs.fat -F 32) and export again.`,
    });
  }
  if (fat) {
    notes.push({ level: 'info', message: `UEFI machines boot the stick as it is (${SECURE_BOOT}).` });
    const known = top && facts.fsType === 'vfat' && facts.device !== undefined && boot.arch === 'x86_64-linux';
    const partition = known ? facts.device! : '/dev/sdX1';
    const disk = known ? facts.disk : '/dev/sdX';
    const number = known ? facts.partitionNumber : 1;
    const steps = [
      commandLine(['sudo', 'umount', partition]),
      commandLine(['sudo', 'syslinux', '--install', partition]),
      ...(disk !== undefined && number !== undefined
        ? [
            commandLine(['sudo', 'dd', `if=${facts.mbrFile}`, `of=${disk}`, 'bs=440', 'count=1', 'conv=notrunc']),
            commandLine(['sudo', 'sfdisk', '--activate', disk, String(number)]),
          ]
        : []),
    ];
    if (boot.arch === 'x86_64-linux')
      notes.push({
        level: 'info',
        message: `For BIOS machines, install syslinux on the stick once, as root and with the stick unmounted${known ? '' : ' (lsblk shows its partition)'}: ${steps.join(' && ')}.`,
      });
    if (known && facts.disk === undefined) {
      notes.push({
        level: 'warning',
        message: `${facts.device} has no partition table, and some UEFI firmware (OVMF) does not boot such a stick; the image export (an MBR with one FAT partition) boots everywhere.`,
      });
    }
  }
  notes.push({ level: 'info', message: 'Eject the stick (or run sync) before you pull it out.' });
  return [...notes, ...ramNote(ramBytes), ...droppedNote(boot.dropped), ...grubEscapeNote(boot.params)];
}
