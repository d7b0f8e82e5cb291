/**
 * The CLI always ends: a bad out folder in one sentence, and SIGTERM or
 * SIGHUP in the middle of a build within seconds, with no child left.
 * (`build --demo --out /proc/x` once ran at full CPU until SIGKILL: Node's
 * recursive mkdir loops forever on /proc.)
 */
import { execFileSync, spawn } from 'node:child_process';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildFixture, CLI, jsonEvents, tempDir } from '../../helpers/fixtures.ts';

interface Ended {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Milliseconds from the stop signal (or the start) to the exit. */
  ms: number;
}

/**
 * Run the CLI; `stopWhen` sends `signal` once stdout matches it. The process
 * is SIGKILLed after `limitMs`, so a hang fails the test instead of stalling it.
 */
function runCli(
  args: string[],
  options: { stopWhen?: RegExp; signal?: NodeJS.Signals; limitMs?: number } = {},
): Promise<Ended> {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let from = Date.now();
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    if (options.stopWhen?.test(stdout) && child.signalCode === null) {
      options.stopWhen = undefined;
      from = Date.now();
      child.kill(options.signal ?? 'SIGTERM');
    }
  });
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const killer = setTimeout(() => child.kill('SIGKILL'), options.limitMs ?? 60_000);
  return new Promise((resolve) =>
    child.on('exit', (code, signal) => {
      clearTimeout(killer);
      resolve({ code, signal, stdout, stderr, ms: Date.now() - from });
    }),
  );
}

/** The running mksquashfs processes writing into `cache`. */
function mksquashfsFor(cache: string): string[] {
  return execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' })
    .split('\n')
    .filter((line) => line.includes('mksquashfs') && line.includes(cache));
}

describe('a bad out folder', () => {
  it.each([['--demo'], ['--toplevel']])('build %s --out under /proc ends in one sentence and exit 1', async (kind) => {
    const input = kind === '--demo' ? ['--demo'] : ['--toplevel', await buildFixture()];
    const ended = await runCli(
      ['build', ...input, '--out', '/proc/netboot-composer-test/x', '--cache', await tempDir()],
      {
        limitMs: 120_000,
      },
    );
    expect(ended.signal).toBeNull();
    expect(ended.code).toBe(1);
    expect(ended.stderr.trim()).toBe(
      'error: The out folder /proc/netboot-composer-test/x cannot be written (no folder can be made there); choose a folder you can write to with --out.',
    );
  });
});

describe('a stop signal in the middle of a build', () => {
  let big: string;
  beforeAll(async () => {
    big = await buildFixture({ bigPaths: 4, bigMiB: 16 });
  });

  it.each([
    ['SIGTERM', 143],
    ['SIGHUP', 129],
  ] as const)('%s ends the CLI within seconds with exit %i and no mksquashfs left', async (signal, exitCode) => {
    const cache = await tempDir();
    // xz on random data is slow enough to be caught in the middle.
    const ended = await runCli(
      [
        'build',
        '--toplevel',
        big,
        '--out',
        await tempDir(),
        '--cache',
        cache,
        '--json',
        '--squashfs-compression',
        'xz',
      ],
      { stopWhen: /"event":"path-progress","path":"[^"]+","percent":([1-9]|[1-9]\d)\}/, signal },
    );
    expect(ended.signal).toBeNull();
    expect(ended.code).toBe(exitCode);
    expect(jsonEvents(ended.stdout).at(-1)).toMatchObject({ event: 'error', exitCode });
    // The CLI gives its children 2 s after SIGTERM before SIGKILL; the whole stop stays well within 5 s.
    expect(ended.ms).toBeLessThan(5000);
    expect(mksquashfsFor(cache)).toEqual([]);
  });
});
