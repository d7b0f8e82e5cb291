/**
 * netboot-composer: the headless driver of the pipeline.
 *
 *   build      pack a system into a boot folder
 *   export     copy a boot folder for a TFTP or HTTP server, or a USB stick
 *   test-boot  netboot a boot folder in QEMU and wait for a pattern
 *   demo       build the bundled demo system and boot it
 *   cache      show the cache's size and hit rate, or prune it
 *
 * Exit codes: 0 done, 1 failed, 2 bad usage, 130 interrupted (Ctrl-C),
 * 143 stopped by SIGTERM, 129 by SIGHUP.
 */
import { constants as osConstants } from 'node:os';
import { parseArgs } from 'node:util';
import { baseUrlProblem, subdirProblem } from '../shared/export-spec.ts';
import {
  ARCHES,
  FIRMWARES,
  type Arch,
  type DemoStage1,
  type BuildEvent,
  type ExportSpec,
  type ExportSummary,
  type Firmware,
  type SystemSource,
} from '../shared/types.ts';
import { DEFAULT_EXPECT, testBoot } from '../pipeline/boot/test-boot.ts';
import { testBootMemoryMiB } from '../pipeline/boot/memory.ts';
import { build, type BuildRequest } from '../pipeline/compose/build.ts';
import { cacheStats, pruneCache } from '../pipeline/compose/cache.ts';
import { defaultCacheLimit, parseSize } from '../pipeline/compose/cache-limit.ts';
import { defaultCacheDir } from '../pipeline/base/dirs.ts';
import { formatBytes } from '../shared/progress.ts';
import { parseInitrdCompression, parseSquashfsCompression } from '../pipeline/compose/compression.ts';
import { DEMO_STAGE1 } from '../pipeline/compose/demo.ts';
import { DEMO_MARKER } from '../pipeline/media/markers.ts';
import { CanceledError, NetbootError } from '../pipeline/base/errors.ts';
import { exportTo } from '../pipeline/export/export.ts';
import { parseFlakeArg } from '../pipeline/compose/nix.ts';
import { checkNix } from '../pipeline/compose/nix-env.ts';
import { KILL_GRACE_MS } from '../pipeline/base/tools.ts';
import { TerminalRenderer } from './render.ts';

const USAGE = `Usage:
  netboot-composer build (--toplevel PATH | --flake REF#NAME | --demo) --out DIR
        [--arch x86_64-linux|aarch64-linux] [--squashfs-compression NAME[:LEVEL]]
        [--initrd-compression NAME[:LEVEL]|none] [--cache DIR] [--cache-limit SIZE]
        [--kernel-params "..."] [--jobs N] [--json] [--debug]
  netboot-composer export --from BOOT_FOLDER (--folder DIR | --tftp DIR [--subdir NAME]
        | --http DIR --base-url URL | --usb-image FILE | --usb DIR) [--json] [--debug]
  netboot-composer test-boot (--dir BOOT_FOLDER | --usb-image FILE) [--firmware bios|uefi]
        [--expect REGEX] [--timeout SECONDS] [--memory MIB] [--quiet] [--json] [--debug]
  netboot-composer demo [--out DIR] [--cache DIR] [--no-boot] [--json] [--debug]
  netboot-composer cache stats [--cache DIR] [--json]
  netboot-composer cache prune [--max-size SIZE] [--cache DIR] [--json]

  build      Pack a NixOS system into a boot folder: kernel, initrd, manifest,
             nix-store and netboot.ipxe. Store paths packed before are reused
             from the cache (default ${defaultCacheDir()}).
  export     Copy a boot folder where machines boot it from. --folder: the
             files as they are. --tftp: a TFTP root with the boot files (in
             --subdir NAME, so several systems can share the root), the iPXE
             loaders that chainload them (undionly.kpxe for BIOS, snponly.efi
             and ipxe.efi for UEFI) and dnsmasq snippets (proxy DHCP, full
             DHCP). --http: the boot files and a netboot.ipxe fetching them
             from --base-url. --usb-image: a disk image for BIOS and UEFI;
             --usb: a mounted stick. Files it did not write are never touched.
  test-boot  Boot in QEMU and wait for REGEX on the serial console (default:
             the demo's marker or a NixOS login prompt). --dir netboots a boot
             folder (iPXE over QEMU's own TFTP); --usb-image boots a USB image
             as a stick, with no network. Firmware: bios (SeaBIOS, default)
             or uefi (OVMF). Memory: what the image needs, with headroom.
  demo       Build the bundled demo system into out/demo and boot it.
  cache      stats: the cache's size, entries, limit and the last build's hits.
             prune: remove the least recently used entries until the cache
             holds at most SIZE (default: the limit). Builds prune to the limit
             themselves: --cache-limit, else NETBOOT_COMPOSER_CACHE_LIMIT, else 5G.
             Sizes: 5G, 500M, 2048K (powers of 1024).

Squashfs compressors: gzip[:1-9], zstd[:1-22] (default zstd:6), xz, lz4, lzo[:1-9].
Initrd compressors: none (default), gzip[:1-9], zstd[:1-19], xz[:0-9].
`;

/** The command line is wrong: exit code 2. */
class UsageError extends NetbootError {}

/** What every command gets: how to print, and the signal Ctrl-C aborts. */
interface Context {
  json: boolean;
  signal: AbortSignal;
}

function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

function positiveNumber(text: string | undefined, option: string): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) throw new UsageError(`${option} takes a positive number, not "${text}".`);
  return value;
}

function sizeOption(text: string | undefined, option: string): number | undefined {
  if (text === undefined) return undefined;
  try {
    return parseSize(text);
  } catch (error) {
    throw new UsageError(`${option}: ${(error as Error).message}`);
  }
}

async function runCache(args: string[], context: Context): Promise<number> {
  const [action, ...rest] = args;
  if (action !== 'stats' && action !== 'prune') {
    throw new UsageError(
      `cache takes "stats" or "prune"${action === undefined ? '' : `, not "${action}"`}; see netboot-composer help.`,
    );
  }
  const { values } = parseArgs({
    args: rest,
    strict: true,
    options: {
      cache: { type: 'string' },
      'max-size': { type: 'string' },
      json: { type: 'boolean' },
      debug: { type: 'boolean' },
    },
  });
  const dir = values.cache ?? defaultCacheDir();
  const say = (text: string): void => {
    if (!context.json) process.stdout.write(`${text}\n`);
  };
  if (action === 'stats') {
    if (values['max-size'] !== undefined) throw new UsageError('--max-size goes with cache prune, not cache stats.');
    const stats = await cacheStats(dir, defaultCacheLimit());
    if (context.json) printJson({ event: 'cache-stats', ...stats });
    say(`Cache: ${stats.dir}`);
    say(`  ${formatBytes(stats.bytes)} in ${stats.entries} squashfs images (limit ${formatBytes(stats.limitBytes)})`);
    const last = stats.lastBuild;
    if (last) {
      const total = last.hits + last.misses;
      const rate = total === 0 ? 0 : Math.round((100 * last.hits) / total);
      say(`  last build (${last.at}): ${last.hits} reused, ${last.misses} packed, ${rate}% hit rate`);
    } else say('  no build has used it yet');
    return 0;
  }
  const maxBytes = sizeOption(values['max-size'], '--max-size') ?? defaultCacheLimit();
  const pruned = await pruneCache(dir, maxBytes);
  if (context.json) printJson({ event: 'cache-pruned', ...pruned });
  say(
    `Removed ${pruned.removedEntries} entries (${formatBytes(pruned.freedBytes)}); ${pruned.stats.dir} now holds ${formatBytes(pruned.stats.bytes)} in ${pruned.stats.entries} squashfs images.`,
  );
  if (pruned.stats.bytes > maxBytes) {
    say(`It is still over ${formatBytes(maxBytes)}: a running build is using the rest.`);
  }
  return 0;
}

async function runBuild(args: string[], context: Context): Promise<number> {
  const { values } = parseArgs({
    args,
    strict: true,
    options: {
      toplevel: { type: 'string' },
      flake: { type: 'string' },
      demo: { type: 'boolean' },
      // Not in the usage: which stage 1 the demo boots through (the tests' and README's).
      'demo-stage1': { type: 'string' },
      out: { type: 'string' },
      arch: { type: 'string' },
      'squashfs-compression': { type: 'string' },
      'initrd-compression': { type: 'string' },
      cache: { type: 'string' },
      'cache-limit': { type: 'string' },
      'kernel-params': { type: 'string' },
      jobs: { type: 'string' },
      json: { type: 'boolean' },
      debug: { type: 'boolean' },
    },
  });
  const sources = [values.toplevel !== undefined, values.flake !== undefined, values.demo === true].filter(Boolean);
  if (sources.length !== 1) throw new UsageError('Give exactly one of --toplevel PATH, --flake REF#NAME or --demo.');
  if (!values.out) throw new UsageError('Give the boot folder to write with --out DIR.');
  if (values.arch !== undefined && !(ARCHES as readonly string[]).includes(values.arch)) {
    throw new UsageError(`--arch takes ${ARCHES.join(' or ')}, not "${values.arch}".`);
  }
  let source: SystemSource;
  if (values.toplevel !== undefined) source = { kind: 'toplevel', path: values.toplevel };
  else if (values.flake !== undefined) source = { kind: 'flake', ...parseFlakeArg(values.flake) };
  else source = { kind: 'demo' };
  const stage1 = values['demo-stage1'];
  if (stage1 !== undefined) {
    if (source.kind !== 'demo') throw new UsageError('--demo-stage1 goes with --demo.');
    if (!(DEMO_STAGE1 as readonly string[]).includes(stage1)) {
      throw new UsageError(`--demo-stage1 takes ${DEMO_STAGE1.join(' or ')}, not "${stage1}".`);
    }
    source = { kind: 'demo', stage1: stage1 as DemoStage1 };
  }
  const squashfs = values['squashfs-compression'];
  const initrd = values['initrd-compression'];
  const request: BuildRequest = {
    source,
    outDir: values.out,
    arch: values.arch as Arch | undefined,
    squashfsCompression: squashfs === undefined ? undefined : parseSquashfsCompression(squashfs),
    initrdCompression: initrd === undefined ? undefined : parseInitrdCompression(initrd),
    cacheDir: values.cache,
    cacheLimitBytes: sizeOption(values['cache-limit'], '--cache-limit'),
    kernelParams: values['kernel-params'],
    jobs: positiveNumber(values.jobs, '--jobs'),
  };
  // Every source needs Nix (nix-store for the closure): one sentence if it cannot build here, not Nix's words.
  await checkNix(context.signal);
  return buildAndReport(request, context);
}

async function buildAndReport(request: BuildRequest, context: Context): Promise<number> {
  const renderer = new TerminalRenderer(
    { write: (text) => process.stdout.write(text), columns: process.stdout.columns },
    process.stdout.isTTY === true,
  );
  const onEvent = (event: BuildEvent): void => (context.json ? printJson(event) : renderer.handle(event));
  try {
    await build(request, { onEvent, signal: context.signal });
    return 0;
  } finally {
    renderer.finish();
  }
}

/** What `export` was asked for; usage errors are said before anything is written. Pure: tested through the CLI. */
function exportSpec(values: {
  folder?: string | undefined;
  tftp?: string | undefined;
  subdir?: string | undefined;
  http?: string | undefined;
  'base-url'?: string | undefined;
  'usb-image'?: string | undefined;
  usb?: string | undefined;
}): ExportSpec {
  const targets = [values.folder, values.tftp, values.http, values['usb-image'], values.usb];
  if (targets.filter((t) => t !== undefined).length !== 1) {
    throw new UsageError(
      'Give exactly one place to export to: --folder DIR, --tftp DIR, --http DIR, --usb-image FILE or --usb DIR.',
    );
  }
  if (values.subdir !== undefined && values.tftp === undefined) throw new UsageError('--subdir goes with --tftp.');
  if (values['base-url'] !== undefined && values.http === undefined) {
    throw new UsageError('--base-url goes with --http.');
  }
  if (values.folder !== undefined) return { kind: 'folder', dir: values.folder };
  if (values.tftp !== undefined) {
    const problem = values.subdir === undefined ? undefined : subdirProblem(values.subdir);
    if (problem) throw new UsageError(`--subdir: ${problem}`);
    return { kind: 'tftp', dir: values.tftp, subdir: values.subdir };
  }
  if (values.http !== undefined) {
    const baseUrl = values['base-url'];
    if (baseUrl === undefined) {
      throw new UsageError(
        '--http needs --base-url URL: the address the folder will be served at, like http://192.168.1.10/netboot.',
      );
    }
    const problem = baseUrlProblem(baseUrl);
    if (problem) throw new UsageError(`--base-url: ${problem}`);
    return { kind: 'http', dir: values.http, baseUrl };
  }
  if (values['usb-image'] !== undefined) return { kind: 'usb-image', file: values['usb-image'] };
  return { kind: 'usb', dir: values.usb! };
}

const EXPORT_KINDS: Record<ExportSpec['kind'], string> = {
  folder: 'a folder',
  tftp: 'a TFTP root',
  http: 'a folder for a web server',
  'usb-image': 'a USB disk image',
  usb: 'a USB stick',
};

async function runExport(args: string[], context: Context): Promise<number> {
  const { values } = parseArgs({
    args,
    strict: true,
    options: {
      from: { type: 'string' },
      folder: { type: 'string' },
      tftp: { type: 'string' },
      subdir: { type: 'string' },
      http: { type: 'string' },
      'base-url': { type: 'string' },
      'usb-image': { type: 'string' },
      usb: { type: 'string' },
      json: { type: 'boolean' },
      debug: { type: 'boolean' },
    },
  });
  if (values.from === undefined) {
    throw new UsageError('Give the boot folder to export with --from BOOT_FOLDER (what build wrote with --out).');
  }
  const spec = exportSpec(values);
  const target = spec.kind === 'usb-image' ? spec.file : spec.dir;
  const renderer = new TerminalRenderer(
    { write: (text) => process.stdout.write(text), columns: process.stdout.columns },
    process.stdout.isTTY === true,
  );
  const onEvent = (event: BuildEvent): void => (context.json ? printJson(event) : renderer.handle(event));
  if (!context.json) renderer.line(`> Exporting ${values.from} to ${target} (${EXPORT_KINDS[spec.kind]})`);
  let summary: ExportSummary;
  try {
    summary = await exportTo(values.from, spec, { onEvent, signal: context.signal });
  } finally {
    renderer.finish();
  }
  if (context.json) {
    printJson({ event: 'exported', ...summary });
    return 0;
  }
  const total = summary.files.reduce((sum, f) => sum + f.bytes, 0);
  const lines = [`Exported to ${summary.file ?? summary.dir}: ${summary.files.length} files, ${formatBytes(total)}`];
  for (const note of summary.notes) lines.push(`${note.level === 'warning' ? 'warning' : 'note'}: ${note.message}`);
  process.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}

async function runTestBoot(args: string[], context: Context): Promise<number> {
  const { values } = parseArgs({
    args,
    strict: true,
    options: {
      dir: { type: 'string' },
      'usb-image': { type: 'string' },
      firmware: { type: 'string' },
      expect: { type: 'string' },
      timeout: { type: 'string' },
      memory: { type: 'string' },
      quiet: { type: 'boolean' },
      json: { type: 'boolean' },
      debug: { type: 'boolean' },
    },
  });
  if ((values.dir === undefined) === (values['usb-image'] === undefined)) {
    throw new UsageError('Give one of --dir BOOT_FOLDER (a netboot) or --usb-image FILE (a USB stick).');
  }
  const firmware = values.firmware ?? 'bios';
  if (!(FIRMWARES as readonly string[]).includes(firmware)) {
    throw new UsageError(`--firmware takes ${FIRMWARES.join(' or ')}, not "${firmware}".`);
  }
  let expect = DEFAULT_EXPECT;
  if (values.expect !== undefined) {
    try {
      expect = new RegExp(values.expect);
    } catch {
      throw new UsageError(`--expect takes a regular expression, and "${values.expect}" is not one.`);
    }
  }
  return bootAndReport(
    {
      dir: values.dir,
      usbImage: values['usb-image'],
      firmware: firmware as Firmware,
      expect,
      timeoutSeconds: positiveNumber(values.timeout, '--timeout') ?? 300,
      memoryMiB: positiveNumber(values.memory, '--memory'),
      quiet: values.quiet === true,
    },
    context,
  );
}

interface BootRequest {
  dir?: string | undefined;
  usbImage?: string | undefined;
  firmware?: Firmware | undefined;
  expect: RegExp;
  timeoutSeconds: number;
  memoryMiB: number | undefined;
  quiet: boolean;
}

async function bootAndReport(request: BootRequest, context: Context): Promise<number> {
  const firmware = request.firmware ?? 'bios';
  const memoryMiB = request.memoryMiB ?? (await testBootMemoryMiB(request));
  const say = (text: string): void => {
    if (!context.json) process.stdout.write(`${text}\n`);
  };
  const how = request.usbImage !== undefined ? 'as a USB stick, no network' : 'iPXE over TFTP';
  say(
    `> Booting ${request.usbImage ?? request.dir} in QEMU (${firmware.toUpperCase()}, ${how}, ${memoryMiB} MiB of RAM)`,
  );
  const result = await testBoot({
    dir: request.dir,
    usbImage: request.usbImage,
    firmware,
    expect: request.expect,
    timeoutSeconds: request.timeoutSeconds,
    memoryMiB,
    signal: context.signal,
    onProbe: () => say('  checking whether KVM can run iPXE here (once per machine and QEMU, up to 12 s)'),
    onAccel: (accel, why, kvmFailure) =>
      context.json
        ? printJson({ event: 'accel', accel, why, ...(kvmFailure !== undefined ? { kvmFailure } : {}) })
        : say(`  ${accel.toUpperCase()}: ${why}`),
    onLine: (line) => {
      if (context.json) printJson({ event: 'console', line });
      else if (!request.quiet) say(`  | ${line}`);
    },
  });
  if (context.signal.aborted) throw new CanceledError();
  const took = `${result.accel.toUpperCase()}, ${result.seconds.toFixed(1)} s`;
  if (context.json) printJson({ event: 'result', ...result });
  else if (result.passed) say(`PASS: the guest printed "${result.reason}" (${took})`);
  else {
    if (request.quiet) for (const line of result.lastLines) say(`  | ${line}`);
    say(`FAIL: ${result.reason} (${took})`);
  }
  return result.passed ? 0 : 1;
}

async function runDemo(args: string[], context: Context): Promise<number> {
  const { values } = parseArgs({
    args,
    strict: true,
    options: {
      out: { type: 'string', default: 'out/demo' },
      cache: { type: 'string' },
      'no-boot': { type: 'boolean' },
      json: { type: 'boolean' },
      debug: { type: 'boolean' },
    },
  });
  const outDir = values.out;
  await checkNix(context.signal);
  const built = await buildAndReport({ source: { kind: 'demo' }, outDir, cacheDir: values.cache }, context);
  if (built !== 0 || values['no-boot']) return built;
  const booted = await bootAndReport(
    { dir: outDir, expect: new RegExp(DEMO_MARKER), timeoutSeconds: 300, memoryMiB: undefined, quiet: false },
    context,
  );
  if (!context.json && booted === 0) {
    process.stdout.write(
      [
        '',
        `The demo boot folder is ${outDir}. Next:`,
        `  npm run cli -- test-boot --dir ${outDir} --firmware uefi     # boot it again, under UEFI`,
        `  npm run cli -- export --from ${outDir} --tftp /srv/tftp      # for a TFTP server, with loaders and dnsmasq snippets`,
        `  npm run cli -- export --from ${outDir} --usb-image demo.img  # a USB stick image (dd or Etcher)`,
        '',
      ].join('\n'),
    );
  }
  return booted;
}

/** What to tell the user about `error`, and the exit code. Pure: tested on its own. */
export function describeError(error: unknown): { message: string; exitCode: number; bug: boolean } {
  if (error instanceof CanceledError) return { message: error.message, exitCode: 130, bug: false };
  if (error instanceof UsageError) return { message: error.message, exitCode: 2, bug: false };
  if (error instanceof NetbootError) return { message: error.message, exitCode: 1, bug: false };
  const text = error instanceof Error ? error.message : String(error);
  if (((error as NodeJS.ErrnoException | undefined)?.code ?? '').startsWith('ERR_PARSE_ARGS')) {
    // "Unknown option '--fast'. To specify a positional argument..." -> the first sentence.
    return {
      message: `${text.split(/\.\s/)[0]!.replace(/\.$/, '')}; see netboot-composer help.`,
      exitCode: 2,
      bug: false,
    };
  }
  return { message: `Unexpected error (a bug in Netboot Composer): ${text}`, exitCode: 1, bug: true };
}

function report(error: unknown, debug: boolean, json: boolean, stoppedBy?: NodeJS.Signals): number {
  const described = describeError(error);
  const { message, bug } = described;
  // A job canceled by a signal ends with that signal's code (SIGTERM: 143).
  const exitCode = stoppedBy === undefined ? described.exitCode : signalExitCode(stoppedBy);
  if (json) printJson({ event: 'error', message, exitCode });
  process.stderr.write(`error: ${message}\n`);
  if (debug) {
    if (error instanceof NetbootError && error.details) process.stderr.write(`${error.details}\n`);
    if (error instanceof Error && error.stack) process.stderr.write(`${error.stack}\n`);
  } else if (bug) process.stderr.write('Run again with --debug for the stack trace.\n');
  return exitCode;
}

const COMMANDS: Record<string, (args: string[], context: Context) => Promise<number>> = {
  build: runBuild,
  export: runExport,
  'test-boot': runTestBoot,
  demo: runDemo,
  cache: runCache,
};

/** Run the CLI with `argv` (without node and the script); resolves to the exit code. */
export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const debug = rest.includes('--debug');
  const json = rest.includes('--json');
  if (command === undefined || ['help', '--help', '-h'].includes(command)) {
    process.stdout.write(USAGE);
    return command === undefined ? 2 : 0;
  }
  const run = COMMANDS[command];
  if (!run) return report(new UsageError(`"${command}" is not a command; see netboot-composer help.`), debug, json);

  // Ctrl-C, SIGTERM and SIGHUP cancel the job (children are killed,
  // temporary files removed). Whatever the job is stuck in, the process ends
  // STOP_GRACE_MS later all the same, and a second Ctrl-C ends it at once.
  const controller = new AbortController();
  let stoppedBy: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals): void => {
    const code = signalExitCode(signal);
    if (stoppedBy !== undefined) {
      if (signal === 'SIGINT') process.exit(code);
      return;
    }
    stoppedBy = signal;
    if (!json && signal === 'SIGINT') process.stderr.write('\nStopping (press Ctrl-C again to stop at once)...\n');
    controller.abort(new CanceledError());
    setTimeout(() => process.exit(code), STOP_GRACE_MS).unref();
  };
  for (const signal of STOP_SIGNALS) process.on(signal, onSignal);
  try {
    const code = await run(rest, { json, signal: controller.signal });
    return stoppedBy === undefined ? code : signalExitCode(stoppedBy);
  } catch (error) {
    return report(error, debug, json, stoppedBy);
  } finally {
    for (const signal of STOP_SIGNALS) process.off(signal, onSignal);
  }
}

/** The signals that stop the CLI. */
export const STOP_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/**
 * Milliseconds from a stop signal to the end of the process, whatever the
 * job is doing: children get SIGTERM, then SIGKILL after KILL_GRACE_MS
 * (2 s); this leaves a second more for removing temporary files.
 */
export const STOP_GRACE_MS = KILL_GRACE_MS + 1000;

/** The exit code for a process stopped by `signal`, as shells report it: 128 + its number (SIGTERM: 143). */
export function signalExitCode(signal: NodeJS.Signals): number {
  return 128 + (osConstants.signals[signal] ?? 0);
}
