/**
 * The types both sides of the app share: what a build is asked to do, and the
 * events it reports while it runs. The CLI prints the same events as JSON
 * lines (`--json`), so this file is also the CLI's machine-readable contract.
 */

/** The target architectures a netboot image can be made for. */
export const ARCHES = ['x86_64-linux', 'aarch64-linux'] as const;
export type Arch = (typeof ARCHES)[number];

/** Compressors mksquashfs knows. */
export const SQUASHFS_COMPRESSORS = ['gzip', 'xz', 'zstd', 'lz4', 'lzo'] as const;
export type SquashfsCompressorName = (typeof SQUASHFS_COMPRESSORS)[number];

/** Compressors an initrd can use that every Linux kernel we target unpacks. */
export const INITRD_COMPRESSORS = ['none', 'gzip', 'zstd', 'xz'] as const;
export type InitrdCompressorName = (typeof INITRD_COMPRESSORS)[number];

export interface SquashfsCompression {
  name: SquashfsCompressorName;
  /** Undefined means the compressor's own default. */
  level?: number;
}

export interface InitrdCompression {
  name: InitrdCompressorName;
  level?: number;
}

/**
 * Which stage 1 the demo system boots through: netboot.nix's postMountCommands
 * verbatim ("seed", the default), or the loading script the netboot module's
 * systemd-stage-1 path runs, run as its initrd service runs it.
 */
export type DemoStage1 = 'seed' | 'systemd-script';

/** Where the system to pack comes from. */
export type SystemSource =
  | { kind: 'toplevel'; path: string }
  | { kind: 'flake'; ref: string; name: string }
  | { kind: 'demo'; stage1?: DemoStage1; arch?: Arch };

/** What the pipeline read from a NixOS system's toplevel. */
export interface NixosSystem {
  toplevel: string;
  /** The toplevel's name without its hash, e.g. nixos-system-demo-25.11. */
  name: string;
  nixosVersion: string;
  /** The `system` file: the architecture it was built for. */
  system: string;
  kernel: string;
  initrd: string;
  init: string;
  kernelParams: string;
}

export interface StorePathInfo {
  path: string;
  /** Uncompressed size in bytes (the NAR size). */
  narSize: number;
}

export type PathStatus = 'queued' | 'packing' | 'packed' | 'reused';

export interface OutputFile {
  name: string;
  bytes: number;
}

/** What a finished build made: the CLI's `done` event, the app's Result step. */
export interface BuildSummary {
  outDir: string;
  files: OutputFile[];
  paths: number;
  packed: number;
  reused: number;
  seconds: number;
  /** RAM a machine needs to boot the image: the unpacked store plus the initrds. */
  ramBytes: number;
  /** What iPXE downloads: the kernel and the initrds. */
  downloadBytes: number;
}

/** Events a build reports, in order: one system, one closure, path events, files, done. */
export type BuildEvent =
  | { event: 'stage'; stage: BuildStage; message: string }
  | { event: 'log'; message: string }
  /** Something that will likely stop the image from booting, though the build goes on. */
  | { event: 'warning'; message: string }
  | { event: 'system'; system: NixosSystem }
  | { event: 'closure'; paths: StorePathInfo[]; totalBytes: number }
  | { event: 'path-start'; path: string }
  | { event: 'path-progress'; path: string; percent: number }
  | {
      event: 'path-done';
      path: string;
      status: 'packed' | 'reused';
      narSize: number;
      packedBytes: number;
      seconds: number;
    }
  | { event: 'file'; name: string; bytes: number; reused: boolean }
  | ({ event: 'done' } & BuildSummary);

export type BuildStage = 'resolve' | 'closure' | 'pack' | 'assemble' | 'write';

/** The firmware a test boot runs under; a USB image boots on both. */
export const FIRMWARES = ['bios', 'uefi'] as const;
export type Firmware = (typeof FIRMWARES)[number];

/** Where an export goes, and what it makes there. */
export type ExportSpec =
  /** The boot folder's files, as they are. */
  | { kind: 'folder'; dir: string }
  /** The boot files (in `subdir` if given), the iPXE loaders to chainload, and a dnsmasq snippet. */
  | { kind: 'tftp'; dir: string; subdir?: string | undefined }
  /** The boot files and a netboot.ipxe that fetches them from `baseUrl` by absolute URL. */
  | { kind: 'http'; dir: string; baseUrl: string }
  /** A mounted USB stick: the kernel, the initrds and the boot loaders' files. */
  | { kind: 'usb'; dir: string }
  /** A disk image (MBR, one FAT partition) that boots on BIOS (syslinux) and UEFI (GRUB). */
  | { kind: 'usb-image'; file: string };
export type ExportKind = ExportSpec['kind'];

/** Something an export wants the user to know or do next, in one sentence. */
export interface ExportNote {
  level: 'info' | 'warning';
  message: string;
}

/** What an export made. */
export interface ExportSummary {
  kind: ExportKind;
  /** The folder written; for usb-image, the folder that holds the image. */
  dir: string;
  /** For usb-image: the image file. */
  file?: string | undefined;
  /** What was written (for usb-image: the files inside the image). */
  files: OutputFile[];
  notes: ExportNote[];
}

export type Accel = 'kvm' | 'tcg';

/** How a test boot ended. */
export interface TestBootResult {
  passed: boolean;
  /** Why it failed, in one sentence; the matched line when it passed. */
  reason: string;
  /** The accelerator that ran the boot to its end (TCG after a KVM failure). */
  accel: Accel;
  /** QEMU's words when KVM failed mid-boot and the boot started again under TCG. */
  kvmFailure?: string | undefined;
  firmware: Firmware;
  memoryMiB: number;
  /** The whole time, a failed KVM start included. */
  seconds: number;
  /** The last console lines, for the report. */
  lastLines: string[];
}

/**
 * Events of a test boot, in order: boot-start, accel, console output, then
 * the result. A second accel event, with `kvmFailure`, says that KVM failed
 * mid-boot and the boot started again under TCG.
 */
export type BootEvent =
  | { event: 'boot-start'; firmware: Firmware; medium: 'network' | 'usb'; memoryMiB: number }
  | { event: 'accel'; accel: Accel; why: string; kvmFailure?: string | undefined }
  /** Raw serial console output, escape sequences and all (for a terminal). */
  | { event: 'console'; data: string }
  | ({ event: 'boot-result' } & TestBootResult);
