/**
 * One squashfs image per store path, made as netboot.nix makes them
 * (`-keep-as-directory -all-root`), so that mounting it gives `HASH-NAME`
 * at its root whether the store path is a folder, a file or a symlink.
 */
import { open } from 'node:fs/promises';
import type { SquashfsCompression } from '../../shared/types.ts';
import { NetbootError, ToolFailedError } from '../base/errors.ts';
import { shellQuote } from '../base/quote.ts';
import { checkResult, findTool, requireTool, signalOfShellStatus, spawnProgram } from '../base/tools.ts';
import { mksquashfsCompressionArgs } from './compression.ts';
import type { ShellPool } from './shell.ts';

/** Memory each mksquashfs may use for its caches; its default is a quarter of RAM. */
const MKSQUASHFS_MEMORY_MIB = 128;

/** mksquashfs's arguments to pack `storePath` into `outFile`. Pure: tested on its own. */
export function mksquashfsArgs(
  storePath: string,
  outFile: string,
  compression: SquashfsCompression,
  processors: number,
): string[] {
  return [
    storePath,
    outFile,
    '-keep-as-directory',
    '-all-root',
    '-noappend',
    '-no-xattrs',
    // Fixed times: the same store path always gives the same bytes (Nix
    // already sets every mtime to 1; this also covers the image's own).
    '-mkfs-time',
    '0',
    '-all-time',
    '1',
    '-root-time',
    '1',
    ...mksquashfsCompressionArgs(compression),
    '-processors',
    String(Math.max(1, Math.floor(processors))),
    '-mem',
    `${MKSQUASHFS_MEMORY_MIB}M`,
    '-quiet',
  ];
}

/**
 * Reads mksquashfs's progress: the bar it redraws with `\r` on a terminal
 * (`[====|     ] 1000/10252   9%`), or the bare percentages that
 * `-percentage` (mksquashfs 4.6 and later) prints one per line. Feed it
 * output as it comes; it returns the latest percentage completed in this chunk.
 */
export class ProgressParser {
  private rest = '';

  push(chunk: string): number | undefined {
    const text = this.rest + chunk;
    const pieces = text.split(/[\r\n]/);
    // A line of progress is short: output that never ends a line (garbage) is not kept whole.
    this.rest = (pieces.pop() ?? '').slice(-MAX_PROGRESS_LINE);
    let percent: number | undefined;
    for (const piece of pieces) {
      if (piece.length > MAX_PROGRESS_LINE) continue;
      const match = /\]\s+\d+\/\d+\s+(\d{1,3})%\s*$/.exec(piece) ?? /^\s*(\d{1,3})\s*$/.exec(piece);
      const value = match?.[1] === undefined ? undefined : Number(match[1]);
      // More than 100% is not progress, whatever printed it.
      if (value !== undefined && value <= 100) percent = value;
    }
    return percent;
  }
}

/** The longest line read as progress: the bar on a 200-column terminal, with room to spare. */
const MAX_PROGRESS_LINE = 1024;

/**
 * How to learn a running mksquashfs's progress. 4.6 and later print
 * percentages when asked (`-percentage`). 4.5 redraws its bar only on a
 * terminal (on a pipe it prints almost nothing until the end), so it runs in
 * a pseudo-terminal made by util-linux's `script` when there is one.
 */
export type ProgressMode = 'percentage' | 'terminal' | 'none';

export function progressMode(mksquashfsVersion: string, haveScript: boolean): ProgressMode {
  const [major = 0, minor = 0] = mksquashfsVersion.split('.').map((part) => parseInt(part, 10));
  if (major > 4 || (major === 4 && minor >= 6)) return 'percentage';
  return haveScript ? 'terminal' : 'none';
}

/** The program and arguments that run mksquashfs with `args` in `mode`. Pure: tested on its own. */
export function mksquashfsCommand(
  mode: ProgressMode,
  mksquashfs: string,
  args: readonly string[],
  script = 'script',
): { file: string; args: string[] } {
  switch (mode) {
    case 'percentage':
      return { file: mksquashfs, args: [...args, '-percentage'] };
    case 'terminal':
      // A terminal with no size makes mksquashfs draw nothing: give it one.
      // `script -e` exits with mksquashfs's code, and kills it when killed.
      return {
        file: script,
        args: [
          '-q',
          '-f',
          '-e',
          '-c',
          `stty cols 200 rows 24 && exec ${[mksquashfs, ...args].map(shellQuote).join(' ')}`,
          '/dev/null',
        ],
      };
    case 'none':
      return { file: mksquashfs, args: [...args] };
  }
}

export interface PackOptions {
  compression: SquashfsCompression;
  processors: number;
  progress: ProgressMode;
  signal?: AbortSignal | undefined;
  onProgress?: (percent: number) => void;
  /** Runs the command when there is no progress to read: no Node spawn per small path. */
  shells?: ShellPool | undefined;
}

/** Pack `storePath` into `outFile` with mksquashfs. */
export async function packStorePath(storePath: string, outFile: string, options: PackOptions): Promise<void> {
  const args = mksquashfsArgs(storePath, outFile, options.compression, options.processors);
  const what = `mksquashfs of ${storePath}`;
  if (options.progress === 'none' && options.shells) {
    const mksquashfs = requireTool('mksquashfs');
    const { exitCode, stderr } = await options.shells.run([mksquashfs, ...args], options.signal);
    if (exitCode !== 0) {
      const signal = signalOfShellStatus(exitCode);
      throw new ToolFailedError(what, {
        command: [mksquashfs, ...args].join(' '),
        ...(signal !== undefined ? { signal } : { exitCode }),
        output: stderr,
      });
    }
    return;
  }
  const command = mksquashfsCommand(options.progress, requireTool('mksquashfs'), args, findTool('script'));
  const subprocess = spawnProgram(command.file, command.args, { what, signal: options.signal });
  const parser = new ProgressParser();
  subprocess.stdout?.on('data', (chunk: Buffer) => {
    const percent = parser.push(chunk.toString('latin1'));
    if (percent !== undefined) options.onProgress?.(percent);
  });
  const result = await subprocess;
  // In a pseudo-terminal, `script -e` reports mksquashfs killed by a signal as 128 + its number.
  const killedBy = options.progress === 'terminal' ? signalOfShellStatus(result.exitCode) : undefined;
  checkResult(killedBy !== undefined ? { ...result, signal: killedBy } : result, 'mksquashfs', args, {
    what,
    signal: options.signal,
  });
}

const SQUASHFS_MAGIC = 0x73717368;
/** mksquashfs pads images to 4 KiB unless told not to. */
const SQUASHFS_PADDING = 4096;

/**
 * True when `file` is a whole squashfs image: its superblock has the magic
 * and says how many bytes the image uses, and the file is exactly that,
 * padded to 4 KiB. A truncated or foreign file fails this without reading it.
 */
export async function isCompleteSquashfs(file: string): Promise<boolean> {
  let handle;
  try {
    handle = await open(file, 'r');
    const { size } = await handle.stat();
    const superblock = Buffer.alloc(96);
    const { bytesRead } = await handle.read(superblock, 0, 96, 0);
    if (bytesRead < 96 || superblock.readUInt32LE(0) !== SQUASHFS_MAGIC) return false;
    const bytesUsed = Number(superblock.readBigUInt64LE(40));
    const padded = Math.ceil(bytesUsed / SQUASHFS_PADDING) * SQUASHFS_PADDING;
    return size === padded;
  } catch {
    return false;
  } finally {
    await handle?.close();
  }
}

/** Check that the file mksquashfs just wrote is whole, or say what went wrong. */
export async function assertCompleteSquashfs(file: string, storePath: string): Promise<void> {
  if (!(await isCompleteSquashfs(file))) {
    throw new NetbootError(
      `mksquashfs wrote an incomplete image for ${storePath}; check the free space of the cache folder.`,
    );
  }
}
