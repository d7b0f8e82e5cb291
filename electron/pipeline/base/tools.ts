/**
 * Finding and running the programs the pipeline drives. Each tool is named
 * with the Debian package that brings it, so a missing one is reported as
 * "install X" rather than as a spawn error.
 */
import { accessSync, constants } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { delimiter, join } from 'node:path';
import { execa } from 'execa';
import { CanceledError, NetbootError, ToolFailedError, ToolMissingError } from './errors.ts';

/** Every program the pipeline may run, with the Debian package that has it. */
export const TOOL_PACKAGES = {
  'nix-store': 'nix-bin',
  'nix-build': 'nix-bin',
  nix: 'nix-bin',
  mksquashfs: 'squashfs-tools',
  'qemu-system-x86_64': 'qemu-system-x86',
  xz: 'xz-utils',
  // The demo's kernel modules when the kernel package compresses them with zstd (Ubuntu).
  zstd: 'zstd',
  // util-linux's script: a pseudo-terminal for tools that report progress only on one.
  script: 'bsdutils',
  // USB media: a partitioned FAT image made without root, syslinux (BIOS), GRUB (UEFI).
  sfdisk: 'fdisk',
  'mkfs.fat': 'dosfstools',
  mcopy: 'mtools',
  mmd: 'mtools',
  mtype: 'mtools',
  syslinux: 'syslinux',
  'grub-mkstandalone': 'grub-common',
  findmnt: 'util-linux',
  // aarch64: Debian's arm64 packages, fetched into a private apt state (debian-arm64.ts).
  'apt-get': 'apt',
  'apt-cache': 'apt',
  'dpkg-deb': 'dpkg',
  'qemu-system-aarch64': 'qemu-system-arm',
  // serve: DHCP (proxy or full) and TFTP for the iPXE loaders.
  dnsmasq: 'dnsmasq-base',
} as const;

export type ToolName = keyof typeof TOOL_PACKAGES;

/** Files (not programs) the pipeline reads, where Debian puts them, and the package that has them. */
export const FILE_PACKAGES = {
  /** syslinux's MBR boot code: starts the active partition's boot sector. */
  'syslinux-mbr': { paths: ['/usr/lib/syslinux/mbr/mbr.bin', '/usr/lib/SYSLINUX/mbr.bin'], package: 'syslinux-common' },
  /** GRUB's modules for x86_64 UEFI, which grub-mkstandalone packs. */
  'grub-x86_64-efi': { paths: ['/usr/lib/grub/x86_64-efi'], package: 'grub-efi-amd64-bin' },
} as const;

export type FileName = keyof typeof FILE_PACKAGES;

/** The path of `file`; throws a {@link ToolMissingError} naming its package when it is not installed. */
export function requireFile(file: FileName): string {
  const { paths, package: debianPackage } = FILE_PACKAGES[file];
  const path = paths.find((candidate) => {
    try {
      accessSync(candidate, constants.R_OK);
      return true;
    } catch {
      return false;
    }
  });
  if (path === undefined) throw new ToolMissingError(paths[0], debianPackage);
  return path;
}

/**
 * Folders searched after PATH: an app started from a desktop menu often has
 * a short PATH, and Nix's own installer puts its tools here. A user's PATH
 * on Debian has no sbin, where sfdisk and mkfs.fat are (they need no root
 * on an image file).
 */
const EXTRA_DIRS = [
  '/nix/var/nix/profiles/default/bin',
  `${process.env.HOME ?? '/root'}/.nix-profile/bin`,
  '/run/current-system/sw/bin',
  '/usr/sbin',
  '/sbin',
];

const found = new Map<string, string | undefined>();

/** The absolute path of `tool`, or undefined when it is not installed. */
export function findTool(tool: ToolName): string | undefined {
  if (found.has(tool)) return found.get(tool);
  const override = process.env[`NETBOOT_COMPOSER_${tool.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`];
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), ...EXTRA_DIRS];
  const candidates = override !== undefined ? [override] : dirs.map((dir) => join(dir, tool));
  let path: string | undefined;
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK);
      path = candidate;
      break;
    } catch {
      // not here
    }
  }
  found.set(tool, path);
  return path;
}

/** The absolute path of `tool`; throws a {@link ToolMissingError} naming its package. */
export function requireTool(tool: ToolName): string {
  const path = findTool(tool);
  if (path === undefined) throw new ToolMissingError(tool, TOOL_PACKAGES[tool]);
  return path;
}

export interface RunOptions {
  /** Says what the run is for, in the error: "nix-store --query (the closure)". */
  what: string;
  signal?: AbortSignal | undefined;
  /** Variables added to the environment. */
  env?: Record<string, string> | undefined;
  /** Text for the tool's standard input (sfdisk reads its script there). */
  input?: string | undefined;
  /** The folder the tool runs in. */
  cwd?: string | undefined;
}

/**
 * Call `onLine` with each line `stream` carries, the last one too when the
 * stream ends without a newline. Empty lines are skipped.
 */
export function onLines(stream: NodeJS.ReadableStream | null | undefined, onLine: (line: string) => void): void {
  if (!stream) return;
  let rest = '';
  stream.on('data', (chunk: Buffer) => {
    const lines = (rest + chunk.toString('utf8')).split(/\r?\n/);
    rest = lines.pop() ?? '';
    for (const line of lines) if (line.trim()) onLine(line);
  });
  stream.on('end', () => {
    if (rest.trim()) onLine(rest);
    rest = '';
  });
}

/** Milliseconds between SIGTERM and SIGKILL when a run is canceled. */
export const KILL_GRACE_MS = 2000;

/**
 * Start `tool` with `args`. The returned subprocess is execa's, with stdout
 * and stderr piped; cancellation through `signal` kills it (SIGTERM, then
 * SIGKILL after {@link KILL_GRACE_MS}).
 */
export function spawnTool(tool: ToolName, args: readonly string[], options: RunOptions) {
  return spawnProgram(requireTool(tool), args, options);
}

/** {@link spawnTool} for a program already found (a path). */
export function spawnProgram(file: string, args: readonly string[], options: RunOptions) {
  return execa(file, args, {
    cancelSignal: options.signal,
    env: options.env,
    ...(options.cwd !== undefined ? { cwd: options.cwd } : {}),
    ...(options.input !== undefined ? { input: options.input } : {}),
    forceKillAfterDelay: KILL_GRACE_MS,
    reject: false,
    all: true,
    stripFinalNewline: false,
    maxBuffer: 1024 * 1024 * 1024,
  });
}

/** Run `tool` to the end and return its stdout; a failure becomes a {@link NetbootError}. */
export async function runTool(tool: ToolName, args: readonly string[], options: RunOptions): Promise<string> {
  const result = await spawnTool(tool, args, options);
  return checkResult(result, tool, args, options);
}

/** True when Nix says a user may not open its database or reach its daemon. */
function nixAccessDenied(output: string): boolean {
  return output.includes('/nix/var/nix') && /Permission denied|cannot connect to (socket|daemon)/.test(output);
}

/** Turn an execa result into stdout, or into the error a person can act on. */
export function checkResult(
  result: {
    failed: boolean;
    isCanceled: boolean;
    exitCode?: number | undefined;
    stdout: unknown;
    stderr?: unknown;
    all?: unknown;
    signal?: string | undefined;
    shortMessage?: string;
    code?: string;
  },
  tool: ToolName,
  args: readonly string[],
  options: RunOptions,
): string {
  if (result.isCanceled || options.signal?.aborted) throw new CanceledError();
  if (result.failed) {
    if (result.code === 'ENOENT') throw new ToolMissingError(tool, TOOL_PACKAGES[tool]);
    const output = typeof result.all === 'string' ? result.all : (result.shortMessage ?? '');
    if (TOOL_PACKAGES[tool] === 'nix-bin' && nixAccessDenied(output)) {
      throw new NetbootError(
        'Nix refused access to its store: for a user other than root it needs its daemon (sudo systemctl enable --now nix-daemon) and membership of the nix-users group.',
        { details: `$ ${[tool, ...args].join(' ')}\n${output}` },
      );
    }
    throw new ToolFailedError(options.what, {
      command: [tool, ...args].join(' '),
      exitCode: result.exitCode,
      signal: result.signal,
      output,
      stderr: typeof result.stderr === 'string' ? result.stderr : undefined,
    });
  }
  if (typeof result.stdout !== 'string') throw new NetbootError(`${options.what} printed no text.`);
  return result.stdout;
}

/**
 * The signal a shell's exit status stands for: a shell reports a command
 * killed by signal N as 128 + N (139: SIGSEGV), and so does `script -e`.
 */
export function signalOfShellStatus(status: number | undefined): string | undefined {
  if (status === undefined || status <= 128 || status > 128 + 64) return undefined;
  const number = status - 128;
  return Object.entries(osConstants.signals).find(([, value]) => value === number)?.[0];
}

const versions = new Map<string, Promise<string>>();

/** The version line a tool prints, e.g. "4.5.1" for mksquashfs; part of cache keys. */
export function toolVersion(tool: 'mksquashfs' | 'nix-store'): Promise<string> {
  let version = versions.get(tool);
  if (version === undefined) {
    const flag = tool === 'mksquashfs' ? '-version' : '--version';
    version = runTool(tool, [flag], { what: `${tool} ${flag}` }).then((out) => {
      // "nix-store (Nix) 2.8.0", "nix-store (Lix, like Nix) 2.91.1".
      const match = /version\s+([0-9][^\s]*)/i.exec(out) ?? /\)\s+([0-9][^\s]*)/.exec(out);
      if (!match?.[1]) throw new NetbootError(`Could not read the version of ${tool} from: ${out.trim()}`);
      return match[1];
    });
    version.catch(() => versions.delete(tool));
    versions.set(tool, version);
  }
  return version;
}
