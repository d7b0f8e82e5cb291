/**
 * The two versions of test/fixtures/closure-map.nix (issue 16's size map,
 * why-chains and diff), built with Nix, and boot folders built of them by
 * the CLI into one cache.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { busyboxBootstrap, ROOT, runCli, tempDir } from './fixtures.ts';

const run = promisify(execFile);

/** Build version 1 or 2 of the mapped system; its toplevel's store path. */
export async function buildMapped(version: 1 | 2): Promise<string> {
  const { stdout } = await run('nix-build', [
    join(ROOT, 'test', 'fixtures', 'closure-map.nix'),
    '--no-out-link',
    '--arg',
    'bootstrap',
    await busyboxBootstrap(),
    '--arg',
    'version',
    String(version),
  ]);
  return stdout.trim().split('\n').pop()!;
}

/** What Nix says a path's NAR size is. */
export async function narSizeOf(path: string): Promise<number> {
  const { stdout } = await run('nix-store', ['--query', '--size', path]);
  return Number(stdout.trim());
}

/** Both versions built, and each packed by the CLI into its own boot folder with one shared cache. */
export async function mappedBootFolders(): Promise<{
  v1: string;
  v2: string;
  cache: string;
  boot1: string;
  boot2: string;
}> {
  const [v1, v2] = await Promise.all([buildMapped(1), buildMapped(2)]);
  const cache = await tempDir('nbc-map-cache-');
  const boot1 = join(await tempDir('nbc-map-'), 'boot');
  const boot2 = join(await tempDir('nbc-map-'), 'boot');
  for (const [system, out] of [
    [v1, boot1],
    [v2, boot2],
  ] as const) {
    const built = await runCli(['build', '--toplevel', system, '--out', out, '--cache', cache, '--json']);
    if (built.code !== 0) throw new Error(`building ${system} failed: ${built.stderr}`);
  }
  return { v1, v2, cache, boot1, boot2 };
}
