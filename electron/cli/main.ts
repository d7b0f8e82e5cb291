#!/usr/bin/env node
/**
 * netboot-composer: the headless driver of the pipeline.
 *
 *   build      pack a system into a boot folder
 *   test-boot  netboot a boot folder in QEMU and wait for a pattern
 *   demo       build the bundled demo system and boot it
 *
 * Exit codes: 0 done, 1 failed, 2 bad usage, 130 interrupted.
 */
import { parseArgs } from 'node:util';
import { ARCHES, type Arch, type BuildEvent, type SystemSource } from '../shared/types.ts';
import { build } from '../pipeline/build.ts';
import { defaultCacheDir } from '../pipeline/cache.ts';
import { parseInitrdCompression, parseSquashfsCompression } from '../pipeline/compression.ts';
import { DEMO_MARKER } from '../pipeline/demo.ts';
import { CanceledError, NetbootError } from '../pipeline/errors.ts';
import { parseFlakeArg } from '../pipeline/nix.ts';
import { bootMemoryMiB, testBoot } from '../pipeline/boot.ts';
import { TerminalRenderer } from './render.ts';

const USAGE = `Usage:
  netboot-composer build (--toplevel PATH | --flake REF#NAME | --demo) --out DIR
        [--arch x86_64-linux|aarch64-linux] [--squashfs-compression NAME[:LEVEL]]
        [--initrd-compression NAME[:LEVEL]|none] [--cache DIR] [--kernel-params "..."]
        [--jobs N] [--json] [--debug]
  netboot-composer test-boot --dir BOOT_FOLDER [--expect REGEX] [--timeout SECONDS]
        [--memory MIB] [--quiet] [--json] [--debug]
  netboot-composer demo [--out DIR] [--cache DIR] [--no-boot] [--json] [--debug]

  build      Pack a NixOS system into a boot folder: kernel, initrd, manifest,
             nix-store and netboot.ipxe. Store paths packed before are reused
             from the cache (default ${defaultCacheDir()}).
  test-boot  Netboot a boot folder in QEMU (BIOS, iPXE, QEMU's own TFTP) and
             wait for REGEX on the serial console (default: the demo's marker
             or a NixOS login prompt).
  demo       Build the bundled demo system into out/demo and boot it.

Squashfs compressors: gzip[:1-9], zstd[:1-22] (default zstd:6), xz, lz4, lzo[:1-9].
Initrd compressors: none (default), gzip[:1-9], zstd[:1-19], xz[:0-9].
`;

class UsageError extends NetbootError {}

const DEFAULT_EXPECT = new RegExp(`${DEMO_MARKER}|login: *$`);

interface Output {
  json: boolean;
  debug: boolean;
}

function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

/** Ctrl-C cancels the job; a second Ctrl-C stops at once. */
function interruptible(json: boolean): AbortController {
  const controller = new AbortController();
  process.on('SIGINT', () => {
    if (controller.signal.aborted) process.exit(130);
    if (!json) process.stderr.write('\nStopping (press Ctrl-C again to stop at once)...\n');
    controller.abort(new CanceledError());
  });
  process.on('SIGTERM', () => controller.abort(new CanceledError()));
  return controller;
}

function positiveNumber(text: string | undefined, option: string): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) throw new UsageError(`${option} takes a positive number, not "${text}".`);
  return value;
}

async function runBuild(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    strict: true,
    options: {
      toplevel: { type: 'string' },
      flake: { type: 'string' },
      demo: { type: 'boolean' },
      out: { type: 'string' },
      arch: { type: 'string' },
      'squashfs-compression': { type: 'string' },
      'initrd-compression': { type: 'string' },
      cache: { type: 'string' },
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
  return buildAndReport(
    {
      source,
      outDir: values.out,
      arch: values.arch as Arch | undefined,
      squashfsCompression:
        values['squashfs-compression'] === undefined
          ? undefined
          : parseSquashfsCompression(values['squashfs-compression']),
      initrdCompression:
        values['initrd-compression'] === undefined ? undefined : parseInitrdCompression(values['initrd-compression']),
      cacheDir: values.cache,
      kernelParams: values['kernel-params'],
      jobs: positiveNumber(values.jobs, '--jobs'),
    },
    { json: values.json === true, debug: values.debug === true },
  );
}

async function buildAndReport(request: Parameters<typeof build>[0], output: Output): Promise<number> {
  const controller = interruptible(output.json);
  const renderer = new TerminalRenderer(
    { write: (text) => process.stdout.write(text), columns: process.stdout.columns },
    process.stdout.isTTY === true,
  );
  const onEvent = (event: BuildEvent): void => (output.json ? printJson(event) : renderer.handle(event));
  try {
    await build(request, { onEvent, signal: controller.signal });
    return 0;
  } finally {
    renderer.finish();
  }
}

async function runTestBoot(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    strict: true,
    options: {
      dir: { type: 'string' },
      expect: { type: 'string' },
      timeout: { type: 'string' },
      memory: { type: 'string' },
      quiet: { type: 'boolean' },
      json: { type: 'boolean' },
      debug: { type: 'boolean' },
    },
  });
  if (!values.dir) throw new UsageError('Give the boot folder to boot with --dir BOOT_FOLDER.');
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
      expect,
      timeoutSeconds: positiveNumber(values.timeout, '--timeout') ?? 300,
      memoryMiB: positiveNumber(values.memory, '--memory'),
    },
    { json: values.json === true, debug: values.debug === true, quiet: values.quiet === true },
  );
}

async function bootAndReport(
  request: {
    dir: string;
    expect: RegExp;
    timeoutSeconds: number;
    memoryMiB: number | undefined;
    cacheDir?: string | undefined;
  },
  output: Output & { quiet: boolean },
): Promise<number> {
  const controller = interruptible(output.json);
  const memoryMiB = request.memoryMiB ?? (await bootMemoryMiB(request.dir));
  const say = (text: string): void => {
    if (!output.json) process.stdout.write(`${text}\n`);
  };
  say(`> Booting ${request.dir} in QEMU (BIOS, iPXE over TFTP, ${memoryMiB} MiB of RAM)`);
  const result = await testBoot({
    dir: request.dir,
    expect: request.expect,
    timeoutSeconds: request.timeoutSeconds,
    memoryMiB,
    signal: controller.signal,
    onAccel: (accel, why) =>
      output.json ? printJson({ event: 'accel', accel, why }) : say(`  ${accel.toUpperCase()}: ${why}`),
    onLine: (line) => {
      if (output.json) printJson({ event: 'console', line });
      else if (!output.quiet) say(`  | ${line}`);
    },
  });
  if (output.json) {
    printJson({ event: 'result', ...result, memoryMiB });
  } else if (result.passed) {
    say(`PASS: the guest printed "${result.reason}" (${result.accel.toUpperCase()}, ${result.seconds.toFixed(1)} s)`);
  } else {
    if (output.quiet) for (const line of result.lastLines) say(`  | ${line}`);
    say(`FAIL: ${result.reason} (${result.accel.toUpperCase()}, ${result.seconds.toFixed(1)} s)`);
  }
  if (controller.signal.aborted) return 130;
  return result.passed ? 0 : 1;
}

async function runDemo(args: string[]): Promise<number> {
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
  const output = { json: values.json === true, debug: values.debug === true, quiet: false };
  const outDir = values.out;
  const built = await buildAndReport({ source: { kind: 'demo' }, outDir, cacheDir: values.cache }, output);
  if (built !== 0 || values['no-boot']) return built;
  const booted = await bootAndReport(
    { dir: outDir, expect: new RegExp(DEMO_MARKER), timeoutSeconds: 300, memoryMiB: undefined },
    output,
  );
  if (!output.json && booted === 0) {
    process.stdout.write(
      `\nThe demo boot folder is ${outDir}: serve it over TFTP or HTTP, or boot it again with\n  npm run cli -- test-boot --dir ${outDir}\n`,
    );
  }
  return booted;
}

function report(error: unknown, debug: boolean, json: boolean): number {
  const code = error instanceof CanceledError ? 130 : error instanceof UsageError ? 2 : 1;
  let message: string;
  if (error instanceof NetbootError) message = error.message;
  else if (error instanceof Error && (error as NodeJS.ErrnoException).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    message = `${error.message.split('.')[0]}; see netboot-composer help.`;
    return finish(message, 2);
  } else if (error instanceof Error && /^ERR_PARSE_ARGS/.test((error as NodeJS.ErrnoException).code ?? '')) {
    return finish(`${error.message}; see netboot-composer help.`, 2);
  } else
    message = `Unexpected error (a bug in Netboot Composer): ${error instanceof Error ? error.message : String(error)}`;
  return finish(message, code);

  function finish(text: string, exitCode: number): number {
    if (json) printJson({ event: 'error', message: text, exitCode });
    process.stderr.write(`error: ${text}\n`);
    if (debug || !(error instanceof NetbootError)) {
      if (error instanceof NetbootError && error.details) process.stderr.write(`${error.details}\n`);
      if (debug && error instanceof Error && error.stack) process.stderr.write(`${error.stack}\n`);
      else if (!(error instanceof NetbootError)) process.stderr.write('Run again with --debug for the stack trace.\n');
    }
    return exitCode;
  }
}

/** Run the CLI with `argv` (without node and the script); resolves to the exit code. */
export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const debug = rest.includes('--debug');
  const json = rest.includes('--json');
  try {
    switch (command) {
      case 'build':
        return await runBuild(rest);
      case 'test-boot':
        return await runTestBoot(rest);
      case 'demo':
        return await runDemo(rest);
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        process.stdout.write(USAGE);
        return command === undefined ? 2 : 0;
      default:
        throw new UsageError(`"${command}" is not a command; see netboot-composer help.`);
    }
  } catch (error) {
    return report(error, debug, json);
  }
}
