/**
 * Kernel roots for the demo's tests: this machine's kernel with its loop and
 * squashfs modules compressed as other distributions ship them, laid out as a
 * kernel package lays them out. Point the demo at one with
 * NETBOOT_COMPOSER_DEMO_ROOT (or findDemoInputs' root).
 */
import { execFileSync } from 'node:child_process';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { findDemoInputs, moduleCompression } from '../../electron/pipeline/compose/demo.ts';
import { tempDir } from './fixtures.ts';

export const LOOP = 'kernel/drivers/block/loop.ko';
export const SQUASHFS = 'kernel/fs/squashfs/squashfs.ko';

/** How each compressed form is made, as the distributions' kernel builds do it. */
const COMPRESS: Record<string, string[]> = {
  '.xz': ['xz', '--check=crc32', '--lzma2=dict=1MiB', '-c'], // Debian 13 (CONFIG_MODULE_COMPRESS_XZ)
  '.zst': ['zstd', '-q', '-c'], // Ubuntu
  '.gz': ['gzip', '-9', '-n', '-c'],
};

/** The plain bytes of `module` (loop.ko's path in modules.builtin) among this machine's `files`, compressed or not. */
async function plainModule(files: string[], module: string): Promise<Buffer> {
  const file = files.find((f) => basename(f).startsWith(`${basename(module)}`));
  if (!file)
    throw new Error(`this machine's kernel has ${module} built in: the compressed-module tests need it as a module`);
  const unpack = { none: undefined, xz: ['xz', '-dc'], zstd: ['zstd', '-dc'], gzip: ['gzip', '-dc'] }[
    moduleCompression(file)!
  ];
  return unpack ? execFileSync(unpack[0]!, [...unpack.slice(1), file]) : readFile(file);
}

export interface KernelRoot {
  root: string;
  release: string;
  /** The plain modules, by file name (loop.ko): what an unpacked copy must equal. */
  original: Record<string, Buffer>;
}

/**
 * A root holding this machine's newest kernel and its modules named in
 * `suffixes` ('' for plain, or a suffix without a compressor: the plain bytes
 * under that name), under `modulesDir` (lib/modules or usr/lib/modules), with
 * a modules.builtin listing `builtin`.
 */
export async function kernelRoot(
  suffixes: Record<string, string>,
  { modulesDir = 'lib/modules', builtin = [] as string[] } = {},
): Promise<KernelRoot> {
  const here = await findDemoInputs('/');
  const root = await tempDir();
  const release = here.kernelVersion;
  await mkdir(join(root, 'boot'));
  await copyFile(here.kernel, join(root, 'boot', `vmlinuz-${release}`));
  const moduleDir = join(root, modulesDir, release);
  await mkdir(moduleDir, { recursive: true });
  await writeFile(join(moduleDir, 'modules.builtin'), builtin.map((m) => `${m}\n`).join(''));
  const original: Record<string, Buffer> = {};
  for (const [module, suffix] of Object.entries(suffixes)) {
    const plain = await plainModule(here.modules, module);
    original[basename(module)] = plain;
    const target = join(moduleDir, module + suffix);
    await mkdir(dirname(target), { recursive: true });
    const compress = COMPRESS[suffix];
    await writeFile(target, compress ? execFileSync(compress[0]!, compress.slice(1), { input: plain }) : plain);
  }
  return { root, release, original };
}
