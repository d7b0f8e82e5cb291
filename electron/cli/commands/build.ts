/**
 * `netboot-composer build`: a system (store path, flake or the demo) packed
 * into a boot folder, with progress on the terminal or as JSON lines.
 */
import { parseArgs } from 'node:util';
import { defaultCacheDir } from '../../pipeline/base/dirs.ts';
import { build, type BuildRequest } from '../../pipeline/compose/build.ts';
import { factsOfBootFolder } from '../../pipeline/compose/closure-facts.ts';
import { recordBuild, systemKey } from '../../pipeline/compose/history.ts';
import { parseInitrdCompression, parseSquashfsCompression } from '../../pipeline/compose/compression.ts';
import { DEMO_STAGE1 } from '../../pipeline/compose/demo.ts';
import { checkNix } from '../../pipeline/compose/nix-env.ts';
import { parseFlakeArg } from '../../pipeline/compose/nix.ts';
import { parseSquashfsWriter, type SquashfsWriterChoice } from '../../pipeline/compose/pack.ts';
import { diffClosures, snapshotOf } from '../../shared/closure-diff.ts';
import { kernelParamsProblem } from '../../shared/kernel-params.ts';
import { ARCHES, type Arch, type BuildEvent, type DemoStage1, type SystemSource } from '../../shared/types.ts';
import { positiveNumber, printJson, sizeOption, UsageError, type Context } from '../context.ts';
import { diffText } from '../closure-text.ts';
import { TerminalRenderer } from '../render.ts';

export async function runBuild(args: string[], context: Context): Promise<number> {
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
      'squashfs-writer': { type: 'string' },
      cache: { type: 'string' },
      'cache-limit': { type: 'string' },
      'kernel-params': { type: 'string' },
      jobs: { type: 'string' },
      diff: { type: 'boolean' },
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
  const paramsProblem =
    values['kernel-params'] === undefined ? undefined : kernelParamsProblem(values['kernel-params']);
  if (paramsProblem) throw new UsageError(`--kernel-params: ${paramsProblem}`);
  let source: SystemSource;
  if (values.toplevel !== undefined) source = { kind: 'toplevel', path: values.toplevel };
  else if (values.flake !== undefined) source = { kind: 'flake', ...flakeOption(values.flake) };
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
    squashfsWriter: writerOption(values['squashfs-writer']),
  };
  // Every source needs Nix (nix-store for the closure): one sentence if it cannot build here, not Nix's words.
  await checkNix(context.signal);
  return buildAndReport(request, context, { diff: values.diff === true });
}

/** --squashfs-writer builtin|mksquashfs, or the usage error (exit 2) saying what it takes. */
function writerOption(text: string | undefined): SquashfsWriterChoice | undefined {
  if (text === undefined) return undefined;
  try {
    return parseSquashfsWriter(text, '--squashfs-writer');
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

/** --flake REF#NAME, or the usage error (exit 2) saying what is wrong with it. */
function flakeOption(text: string): { ref: string; name: string } {
  try {
    return parseFlakeArg(text);
  } catch (error) {
    throw new UsageError(`--flake: ${(error as Error).message}`);
  }
}

/** Build `request`, its events drawn on the terminal or printed as JSON lines (demo builds through it too). */
export async function buildAndReport(
  request: BuildRequest,
  context: Context,
  options: { diff?: boolean } = {},
): Promise<number> {
  const renderer = new TerminalRenderer(
    { write: (text) => process.stdout.write(text), columns: process.stdout.columns },
    process.stdout.isTTY === true,
  );
  const onEvent = (event: BuildEvent): void => (context.json ? printJson(event) : renderer.handle(event));
  try {
    await build(request, { onEvent, signal: context.signal });
  } finally {
    renderer.finish();
  }
  await keepHistory(request, context, options.diff === true);
  return 0;
}

/**
 * Keep this build as its system's last (for the next one's diff) and, with
 * --diff, print what changed since the one before. The boot folder is
 * complete by then: a failure here is a warning, not a failed build.
 */
async function keepHistory(request: BuildRequest, context: Context, diff: boolean): Promise<void> {
  try {
    const facts = await factsOfBootFolder(request.outDir);
    const previous = await recordBuild(request.cacheDir ?? defaultCacheDir(), facts);
    if (!diff) return;
    const changes = previous ? diffClosures(previous, snapshotOf(facts, new Date().toISOString())) : undefined;
    if (context.json) printJson({ event: 'diff', previous: changes !== undefined, ...changes });
    else if (changes) process.stdout.write(`\n${diffText(changes)}`);
    else
      process.stdout.write(
        `\nNo earlier build of ${systemKey(facts.toplevel)} to compare with: the next build will be.\n`,
      );
  } catch (error) {
    const message = `The build is complete, but what changed since the last one could not be kept or read: ${(error as Error).message}`;
    if (context.json) printJson({ event: 'warning', message });
    else process.stderr.write(`${message}\n`);
  }
}
