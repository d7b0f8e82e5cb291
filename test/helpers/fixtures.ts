/**
 * Real inputs for the tests: systems built with Nix from test/fixtures/, temp
 * folders that are removed afterwards, and a way to run the CLI as a user does.
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll } from 'vitest';
import { busyboxBootstrap as demoBootstrap } from '../../electron/pipeline/compose/demo.ts';

const run = promisify(execFile);

export const ROOT = resolve(import.meta.dirname, '..', '..');
export const CLI = join(ROOT, 'electron', 'cli', 'netboot-composer.ts');
/** Where tests keep what outlives one test file: the KVM probe's answer. */
export const STATE_DIR = join(tmpdir(), 'netboot-composer-tests');

const temps: string[] = [];
afterAll(async () => {
  await Promise.all(temps.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

/** A new empty folder, removed after the test file. */
export async function tempDir(prefix = 'nbc-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  temps.push(dir);
  return dir;
}

let bootstrap: Promise<string> | undefined;

/** A folder holding bin/busybox, which the fixtures use as their builder (the demo's own). */
export function busyboxBootstrap(): Promise<string> {
  bootstrap ??= demoBootstrap(STATE_DIR, '/bin/busybox');
  return bootstrap;
}

export interface FixtureOptions {
  variant?: string;
  bigPaths?: number;
  bigMiB?: number;
  system?: string;
  initrdKind?: 'fake' | 'plain';
  /** With the fake initrd: its exact length in bytes. */
  initrdBytes?: number;
  attr?: 'toplevel' | 'plain' | 'leaf' | 'mid' | 'stable';
  /** A result link (a GC root) to make, instead of none. */
  outLink?: string;
}

/** Build an attribute of test/fixtures/system.nix; returns its store path. */
export async function buildFixture(options: FixtureOptions = {}): Promise<string> {
  const args = [
    join(ROOT, 'test', 'fixtures', 'system.nix'),
    '-A',
    options.attr ?? 'toplevel',
    ...(options.outLink === undefined ? ['--no-out-link'] : ['--out-link', options.outLink]),
    '--arg',
    'bootstrap',
    await busyboxBootstrap(),
    '--argstr',
    'variant',
    options.variant ?? 'a',
    '--arg',
    'bigPaths',
    String(options.bigPaths ?? 0),
    '--arg',
    'bigMiB',
    String(options.bigMiB ?? 8),
    '--argstr',
    'system',
    options.system ?? 'x86_64-linux',
    '--argstr',
    'initrdKind',
    options.initrdKind ?? 'fake',
    ...(options.initrdBytes === undefined ? [] : ['--arg', 'initrdBytes', String(options.initrdBytes)]),
  ];
  const { stdout } = await run('nix-build', args, { maxBuffer: 64 * 1024 * 1024 });
  return stdout.trim().split('\n').pop()!;
}

/** The closure of a store path, as Nix lists it. */
export async function closureOf(storePath: string): Promise<string[]> {
  const { stdout } = await run('nix-store', ['--query', '--requisites', storePath]);
  return stdout.trim().split('\n');
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run the CLI (the same file `npm run cli` runs) and wait for it. */
export async function runCli(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args], {
      env: { ...process.env, ...env },
      maxBuffer: 64 * 1024 * 1024,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

/** The JSON lines the CLI printed with --json. */
export function jsonEvents(stdout: string): Array<Record<string, unknown>> {
  return stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** The QEMU processes whose command line names `path` (a boot folder, an image): a test boot must leave none. */
export function qemuProcessesFor(path: string): string[] {
  return execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' })
    .split('\n')
    .filter((line) => line.includes('qemu-system') && line.includes(path));
}
