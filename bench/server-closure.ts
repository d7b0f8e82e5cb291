/**
 * The benchmark's second closure, the shape of a real NixOS server's: ~1,500
 * store paths and ~2 GiB of NAR, many small paths and a few big ones. Made
 * quickly, with no network: the paths' files are this machine's own files
 * under /usr (real data, compressible as real data is), each file in one path
 * only, taken in a fixed order, hard-linked (or copied) into a staging
 * folder and imported with `nix-store --add`; a NixOS-shaped toplevel
 * (bench/system.nix, with the demo system) refers to them. Made once and kept
 * like the first closure (bench/closure.ts), in ~/.cache/netboot-composer-bench/server/.
 */
import { execFile } from 'node:child_process';
import { copyFile, link, lstat, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { buildDemo } from '../electron/pipeline/compose/demo.ts';
import { type BenchClosure, benchStateDir, writeGenerations } from './closure.ts';

const run = promisify(execFile);
const MiB = 1024 * 1024;

/** The shape: how many paths of which sizes (bytes of files each). */
export const SERVER_PLAN = [
  { count: 8, bytes: 100 * MiB },
  { count: 60, bytes: 6 * MiB },
  { count: 1430, bytes: 600 * 1024 },
] as const;

/** Regular files under `roots`, in a fixed order, each at most `max` bytes. */
async function usrFiles(roots: readonly string[], max: number): Promise<{ path: string; size: number }[]> {
  const found: { path: string; size: number }[] = [];
  const walk = async (dir: string): Promise<void> => {
    const names = (await readdir(dir).catch(() => [] as string[])).sort();
    for (const name of names) {
      const path = join(dir, name);
      const info = await lstat(path).catch(() => undefined);
      if (!info) continue;
      if (info.isDirectory()) await walk(path);
      else if (info.isFile() && info.size > 0 && info.size <= max && (info.mode & 0o444) === 0o444) {
        found.push({ path, size: info.size });
      }
    }
  };
  for (const root of roots) await walk(root);
  return found;
}

async function allValid(paths: readonly string[]): Promise<boolean> {
  try {
    for (let i = 0; i < paths.length; i += 500)
      await run('nix-store', ['--check-validity', ...paths.slice(i, i + 500)]);
    return true;
  } catch {
    return false;
  }
}

/** The server-shaped closure: made the first time (a minute or two), then reused while Nix still has it. */
export async function serverClosure(log: (line: string) => void = () => undefined): Promise<BenchClosure> {
  const state = join(benchStateDir(), 'server');
  const record = join(state, 'closure.json');
  const known = await readFile(record, 'utf8')
    .then((text) => JSON.parse(text) as BenchClosure)
    .catch(() => undefined);
  if (known && (await allValid([...known.toplevels, ...known.packages]))) return known;

  log(`Making the benchmark's server-shaped closure (once; kept in ${state})`);
  await mkdir(state, { recursive: true });
  const demo = await buildDemo(state);
  // Each kind of path takes files of its own size range, so that no small
  // path gets a 50 MiB file; none is in two paths.
  const files = await usrFiles(['/usr/lib', '/usr/share', '/usr/bin', '/usr/libexec', '/usr/include'], 64 * MiB);
  const pools = [
    files.filter((f) => f.size >= 8 * MiB),
    files.filter((f) => f.size >= 256 * 1024 && f.size < 8 * MiB),
    files.filter((f) => f.size < 256 * 1024),
  ];
  const staging = join(state, 'staging');
  await rm(staging, { recursive: true, force: true });
  const folders: string[] = [];
  let number = 0;
  let short = false;
  for (const [kind, { count, bytes }] of SERVER_PLAN.entries()) {
    const pool = pools[kind]!;
    for (let i = 0; i < count; i++, number++) {
      const folder = join(staging, `server-pkg${String(number).padStart(4, '0')}-1.0`);
      // Sizes spread around the plan's: from a third to 1.7 times it.
      const want = Math.round(bytes * (0.33 + ((number * 7919) % 1000) / 730));
      let have = 0;
      await mkdir(folder, { recursive: true });
      while (have < want) {
        const file = pool.shift() ?? pools[2]!.shift();
        if (!file) {
          short = true;
          break;
        }
        const to = join(folder, file.path.slice(1));
        await mkdir(dirname(to), { recursive: true });
        await link(file.path, to).catch(() => copyFile(file.path, to));
        have += file.size;
      }
      await writeFile(join(folder, '.bench-id'), `${number}\n`);
      folders.push(folder);
    }
  }
  if (short) log('warning: /usr ran out of files; the server closure is smaller than planned');
  log(`Importing ${folders.length} generated store paths into the Nix store`);
  const packages: string[] = [];
  for (let i = 0; i < folders.length; i += 200) {
    const added = await run('nix-store', ['--add', ...folders.slice(i, i + 200)], { maxBuffer: 64 * MiB });
    packages.push(...added.stdout.trim().split('\n'));
  }
  await rm(staging, { recursive: true, force: true });
  const packagesFile = join(state, 'packages.json');
  await writeFile(packagesFile, `${JSON.stringify(packages)}\n`);

  return writeGenerations(state, demo, packagesFile, packages, record);
}

if (import.meta.main) {
  const closure = await serverClosure((line) => process.stdout.write(`${line}\n`));
  process.stdout.write(`${JSON.stringify(closure.toplevels)}\n`);
}
