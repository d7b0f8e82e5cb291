/**
 * The benchmark's realistic closure, made on this machine with Nix and no
 * network: one store path per installed Debian package (its files, imported
 * with `nix-store --add`), referred to by a NixOS-shaped toplevel
 * (bench/system.nix) that also holds the demo system. Made once and kept:
 * the store paths are recorded in ~/.cache/netboot-composer-bench/ and the
 * toplevels are Nix GC roots there, so later runs only check they are valid.
 */
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lstat, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { buildDemo } from '../electron/pipeline/compose/demo.ts';

const run = promisify(execFile);

export interface DebianPackage {
  name: string;
  version: string;
  /** dpkg's Installed-Size, in bytes (it records KiB). */
  bytes: number;
}

/** Parse `dpkg-query -W -f '${Package}\t${Version}\t${Installed-Size}\n'`. */
export function parseDpkgList(text: string): DebianPackage[] {
  return text
    .split('\n')
    .map((line) => line.split('\t'))
    .filter((fields) => fields.length === 3 && fields[0] !== '')
    .map(([name, version, kib]) => ({ name: name!, version: version!, bytes: Number(kib) * 1024 }))
    .filter((p) => Number.isFinite(p.bytes) && p.bytes > 0);
}

export interface ClosurePlan {
  /** Large paths: the biggest packages in this range (a real system has a few: LLVM, a JDK, firmware). */
  large: { count: number; min: number; max: number };
  medium: { count: number; min: number; max: number };
  small: { count: number; min: number; max: number };
}

const MiB = 1024 * 1024;

/** The mix the benchmark uses: 220 packages (with the demo, ~260 paths, ~600 MiB), a few large, many small. */
export const DEFAULT_PLAN: ClosurePlan = {
  large: { count: 4, min: 40 * MiB, max: 120 * MiB },
  medium: { count: 16, min: 2 * MiB, max: 40 * MiB },
  small: { count: 200, min: 8 * 1024, max: 2 * MiB },
};

function shuffleKey(name: string): string {
  return createHash('sha256').update(name).digest('hex');
}

/**
 * Which packages to import: the largest of the large range, then the
 * medium and small ones in a fixed pseudo-random order (by a hash of the
 * name), so that every machine with the same packages gets the same closure.
 */
export function choosePackages(packages: readonly DebianPackage[], plan: ClosurePlan = DEFAULT_PLAN): DebianPackage[] {
  const within = (range: { min: number; max: number }) =>
    packages.filter((p) => p.bytes >= range.min && p.bytes < range.max);
  const large = within(plan.large)
    .sort((a, b) => b.bytes - a.bytes || a.name.localeCompare(b.name))
    .slice(0, plan.large.count);
  const shuffled = (range: { min: number; max: number }, count: number) =>
    within(range)
      .sort((a, b) => shuffleKey(a.name).localeCompare(shuffleKey(b.name)))
      .slice(0, count);
  return [...large, ...shuffled(plan.medium, plan.medium.count), ...shuffled(plan.small, plan.small.count)];
}

/** A store path name for a package: Nix allows letters, digits and `+-._?=`. */
export function storeNameOf(pkg: DebianPackage): string {
  return `${pkg.name}-${pkg.version}`.replace(/[^A-Za-z0-9+\-._?=]/g, '_');
}

export interface BenchClosure {
  /** The toplevel of generation 0, and of generation 1 (one leaf and the toplevel differ). */
  toplevels: [string, string];
  packages: string[];
}

/** Where the closure's record and GC roots are kept. */
export function benchStateDir(): string {
  return process.env.NETBOOT_COMPOSER_BENCH_DIR ?? join(homedir(), '.cache', 'netboot-composer-bench');
}

async function allValid(paths: readonly string[]): Promise<boolean> {
  try {
    await run('nix-store', ['--check-validity', ...paths]);
    return true;
  } catch {
    return false;
  }
}

/** Copy an installed package's files (as dpkg lists them) into `dest`, with tar. */
async function stagePackage(name: string, dest: string): Promise<void> {
  const { stdout } = await run('dpkg-query', ['-L', name], { maxBuffer: 64 * MiB });
  const listed = stdout.split('\n').filter((line) => line.startsWith('/') && line !== '/.');
  // Files and symlinks only (tar makes the folders). A listed "folder" that
  // is a symlink (/sbin on a merged-/usr system) is left out: its files come
  // through it as plain paths.
  const files: string[] = [];
  for (const path of listed) {
    const info = await lstat(path).catch(() => undefined);
    if (!info || info.isDirectory()) continue;
    if (info.isSymbolicLink() && (await stat(path).catch(() => undefined))?.isDirectory()) continue;
    files.push(path.slice(1));
  }
  await mkdir(dest, { recursive: true });
  await new Promise<void>((resolve, reject) => {
    // --no-recursion: dpkg lists every file; missing ones (diverted, removed) are skipped.
    const pack = spawn(
      'tar',
      ['-C', '/', '--no-recursion', '--ignore-failed-read', '--warning=none', '-cf', '-', '-T', '-'],
      { stdio: ['pipe', 'pipe', 'ignore'] },
    );
    const unpack = spawn('tar', ['-C', dest, '-xf', '-'], { stdio: ['pipe', 'ignore', 'inherit'] });
    pack.stdout.pipe(unpack.stdin);
    pack.stdin.end(files.join('\n'));
    unpack.on('error', reject);
    unpack.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`tar failed for ${name}`))));
  });
}

/** The benchmark's closure: made the first time, then reused while Nix still has it. */
/**
 * The two generations of a bench system (system.nix: the demo, the packages,
 * and a leaf that differs between them) built into `state`, and the closure
 * recorded in `record`. Shared by the debian closure and the server one.
 */
export async function writeGenerations(
  state: string,
  demo: string,
  packagesFile: string,
  packages: string[],
  record: string,
): Promise<BenchClosure> {
  const toplevels: string[] = [];
  for (const generation of ['0', '1']) {
    const { stdout: built } = await run('nix-build', [
      join(import.meta.dirname, 'system.nix'),
      '-o',
      join(state, `toplevel-${generation}`),
      '--arg',
      'bootstrap',
      join(state, 'demo-bootstrap'),
      '--argstr',
      'demo',
      demo,
      '--arg',
      'packages',
      packagesFile,
      '--argstr',
      'generation',
      generation,
    ]);
    toplevels.push(built.trim().split('\n').pop()!);
  }
  const closure: BenchClosure = { toplevels: [toplevels[0]!, toplevels[1]!], packages };
  await writeFile(record, `${JSON.stringify(closure, null, 2)}\n`);
  return closure;
}

export async function benchClosure(log: (line: string) => void = () => undefined): Promise<BenchClosure> {
  const state = benchStateDir();
  const record = join(state, 'closure.json');
  const known = await readFile(record, 'utf8')
    .then((text) => JSON.parse(text) as BenchClosure)
    .catch(() => undefined);
  if (known && (await allValid([...known.toplevels, ...known.packages]))) return known;

  log(`Making the benchmark's closure (once; kept in ${state})`);
  await mkdir(state, { recursive: true });
  const demo = await buildDemo(state);
  const { stdout } = await run('dpkg-query', ['-W', '-f', '${Package}\t${Version}\t${Installed-Size}\n'], {
    maxBuffer: 64 * MiB,
  });
  const chosen = choosePackages(parseDpkgList(stdout));
  const staging = join(state, 'staging');
  await rm(staging, { recursive: true, force: true });
  const folders: string[] = [];
  for (const pkg of chosen) {
    const folder = join(staging, storeNameOf(pkg));
    await stagePackage(pkg.name, folder);
    folders.push(folder);
  }
  log(`Importing ${folders.length} Debian packages into the Nix store`);
  const added = await run('nix-store', ['--add', ...folders], { maxBuffer: 64 * MiB });
  const packages = added.stdout.trim().split('\n');
  await rm(staging, { recursive: true, force: true });
  const packagesFile = join(state, 'packages.json');
  await writeFile(packagesFile, `${JSON.stringify(packages)}\n`);

  return writeGenerations(state, demo, packagesFile, packages, record);
}

if (import.meta.main) {
  const closure = await benchClosure((line) => process.stdout.write(`${line}\n`));
  process.stdout.write(`${JSON.stringify(closure.toplevels)}\n`);
}
