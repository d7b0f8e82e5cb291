/**
 * The bundled demo system (assets/demo/default.nix), built from this
 * machine's static busybox, kernel and kernel modules with plain Nix.
 */
import { constants, copyFile, mkdir, open, readdir, readFile, rename, stat } from 'node:fs/promises';
import { arch } from 'node:os';
import { join } from 'node:path';
import { assetPath } from './assets.ts';
import { NetbootError } from './errors.ts';
import { exists } from './fsutil.ts';
import { buildNixFile, nixPath, nixString, type NixBuildOptions } from './nix.ts';

export const DEMO_MARKER = 'NETBOOT-COMPOSER-DEMO: OK';
export const DEMO_FAILURE_MARKER = 'NETBOOT-COMPOSER-DEMO: FAILED';

const BUSYBOX_CANDIDATES = ['/bin/busybox', '/usr/bin/busybox'];
/** The modules the demo's stage 1 loads; built in on some kernels. */
const MODULES = ['kernel/drivers/block/loop.ko', 'kernel/fs/squashfs/squashfs.ko'];

export interface DemoInputs {
  busybox: string;
  kernel: string;
  kernelVersion: string;
  modules: string[];
}

/** True when the ELF file at `path` has no program interpreter: it is statically linked. */
export async function isStaticElf(path: string): Promise<boolean> {
  const handle = await open(path, 'r');
  try {
    const header = Buffer.alloc(64);
    await handle.read(header, 0, 64, 0);
    if (header.readUInt32BE(0) !== 0x7f454c46 || header[4] !== 2) return false; // ELF, 64-bit
    const phoff = Number(header.readBigUInt64LE(32));
    const phentsize = header.readUInt16LE(54);
    const phnum = header.readUInt16LE(56);
    const table = Buffer.alloc(phentsize * phnum);
    await handle.read(table, 0, table.length, phoff);
    for (let i = 0; i < phnum; i++) {
      if (table.readUInt32LE(i * phentsize) === 3) return false; // PT_INTERP
    }
    return true;
  } finally {
    await handle.close();
  }
}

/** Compare kernel releases like `sort -V`: 6.1.0-56 after 6.1.0-9. */
function compareVersions(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}

async function builtIn(moduleDir: string, module: string): Promise<boolean> {
  const list = await readFile(join(moduleDir, 'modules.builtin'), 'utf8').catch(() => '');
  return list.split('\n').includes(module);
}

/** Find what the demo is made of on this machine, or say which package to install. */
export async function findDemoInputs(): Promise<DemoInputs> {
  if (arch() !== 'x64') {
    throw new NetbootError(
      `The demo system is made from an x86_64 kernel and busybox, and this machine is ${arch()}; pack your own system with --toplevel or --flake.`,
    );
  }
  let busybox: string | undefined;
  for (const candidate of BUSYBOX_CANDIDATES) {
    if ((await stat(candidate).catch(() => undefined))?.isFile() && (await isStaticElf(candidate))) {
      busybox = candidate;
      break;
    }
  }
  if (!busybox) {
    throw new NetbootError(
      'A statically linked busybox was not found: install the busybox-static package (on Debian or Ubuntu: sudo apt-get install busybox-static).',
    );
  }
  const releases = (await readdir('/lib/modules').catch(() => [] as string[])).sort(compareVersions).reverse();
  for (const release of releases) {
    const kernel = `/boot/vmlinuz-${release}`;
    if (!(await stat(kernel).catch(() => undefined))) continue;
    if (!(await exists(kernel, constants.R_OK))) {
      throw new NetbootError(
        `${kernel} can be read only by root (as on Ubuntu), and Nix needs to read it for the demo; make it readable (sudo chmod 0644 ${kernel}) or run as root.`,
      );
    }
    const moduleDir = join('/lib/modules', release);
    const modules: string[] = [];
    let complete = true;
    for (const module of MODULES) {
      const file = join(moduleDir, module);
      if (await stat(file).catch(() => undefined)) modules.push(file);
      else if (!(await builtIn(moduleDir, module))) complete = false;
    }
    if (complete) return { busybox, kernel, kernelVersion: release, modules };
  }
  throw new NetbootError(
    'No Linux kernel with its loop and squashfs modules was found in /boot and /lib/modules: install the linux-image-amd64 package (on Debian: sudo apt-get install linux-image-amd64).',
  );
}

/**
 * `workDir/demo-bootstrap`, a folder holding only bin/busybox (a copy of
 * `busybox`), for Nix to import as the builder of every derivation. Its
 * store path depends only on the bytes, so it is made once and kept.
 */
export async function busyboxBootstrap(workDir: string, busybox: string): Promise<string> {
  const bootstrap = join(workDir, 'demo-bootstrap');
  await mkdir(join(bootstrap, 'bin'), { recursive: true });
  const target = join(bootstrap, 'bin', 'busybox');
  const [source, copied] = await Promise.all([stat(busybox), stat(target).catch(() => undefined)]);
  if (!copied || copied.size !== source.size || copied.mtimeMs < source.mtimeMs) {
    // Renamed into place: another build may be importing the folder right now.
    // Outside bin/: Nix imports the whole folder, and a stray file would change it.
    const temp = join(workDir, `.busybox-${process.pid}.tmp`);
    await copyFile(busybox, temp);
    await rename(temp, target);
  }
  return bootstrap;
}

/**
 * Build the demo system; returns its toplevel. `workDir` keeps its busybox
 * folder. `extraArgs` (Nix expressions) go to assets/demo/default.nix too:
 * tests pass its test-only arguments (`initrdExtraBytes`).
 */
export async function buildDemo(
  workDir: string,
  options: NixBuildOptions = {},
  extraArgs: Record<string, string> = {},
): Promise<string> {
  const inputs = await findDemoInputs();
  const bootstrap = await busyboxBootstrap(workDir, inputs.busybox);
  return buildNixFile(
    assetPath('demo', 'default.nix'),
    {
      bootstrap: nixPath(bootstrap),
      kernel: nixPath(inputs.kernel),
      kernelVersion: nixString(inputs.kernelVersion),
      modules: `[ ${inputs.modules.map(nixPath).join(' ')} ]`,
      ...extraArgs,
    },
    options,
  );
}
