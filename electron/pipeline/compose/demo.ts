/**
 * The bundled demo system (assets/demo/default.nix), built from this
 * machine's static busybox, kernel and kernel modules with plain Nix.
 */
import { constants, copyFile, open, readdir, readFile, rename, stat } from 'node:fs/promises';
import { arch } from 'node:os';
import { basename, join } from 'node:path';
import type { Arch, DemoStage1 } from '../../shared/types.ts';
import { assetPath } from '../base/assets.ts';
import { arm64Packages } from '../base/debian-arm64.ts';
import { NetbootError } from '../base/errors.ts';
import { exists, makeFolder } from '../base/fsutil.ts';
import { runTool } from '../base/tools.ts';
import { buildNixFile, nixPath, nixString, type NixBuildOptions } from './nix.ts';

const BUSYBOX_CANDIDATES = ['/bin/busybox', '/usr/bin/busybox'];
/**
 * The modules the demo's stage 1 loads, as modules.builtin names them; built
 * in on some kernels.
 */
const MODULES = ['kernel/drivers/block/loop.ko', 'kernel/fs/squashfs/squashfs.ko'];

/**
 * How a distribution may ship a module: plain (Debian 12), xz (Debian 13),
 * zstd (Ubuntu), gzip. busybox's insmod loads only plain ones, so the demo
 * unpacks the others when it is built.
 */
export const MODULE_SUFFIXES = ['', '.xz', '.zst', '.gz'] as const;

export type ModuleCompression = 'none' | 'xz' | 'zstd' | 'gzip';

/** How the module file `path` is compressed, from its name; undefined for a name that is no module. */
export function moduleCompression(path: string): ModuleCompression | undefined {
  if (path.endsWith('.ko')) return 'none';
  if (path.endsWith('.ko.xz')) return 'xz';
  if (path.endsWith('.ko.zst')) return 'zstd';
  if (path.endsWith('.ko.gz')) return 'gzip';
  return undefined;
}

/**
 * Where this machine's kernels are: `root`/boot and `root`/lib/modules (or
 * `root`/usr/lib/modules, where merged-/usr systems keep them). "/" unless
 * NETBOOT_COMPOSER_DEMO_ROOT names another root, e.g. an unpacked
 * linux-image package (the tests use that for compressed modules).
 */
export function demoRoot(): string {
  return process.env.NETBOOT_COMPOSER_DEMO_ROOT || '/';
}

export interface DemoInputs {
  busybox: string;
  kernel: string;
  kernelVersion: string;
  /** Module files as the kernel package has them: `.ko`, `.ko.xz`, `.ko.zst` or `.ko.gz`. */
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

/** The module file for `module` (as modules.builtin names it) in `moduleDir`, compressed or not. */
async function findModule(moduleDir: string, module: string): Promise<string | undefined> {
  for (const suffix of MODULE_SUFFIXES) {
    const file = join(moduleDir, module + suffix);
    if ((await stat(file).catch(() => undefined))?.isFile()) return file;
  }
  return undefined;
}

/** The first of `candidates` that is a static busybox; or say which package to install. */
async function staticBusybox(candidates: readonly string[]): Promise<string> {
  for (const candidate of candidates) {
    if ((await stat(candidate).catch(() => undefined))?.isFile() && (await isStaticElf(candidate))) return candidate;
  }
  throw new NetbootError(
    'A statically linked busybox was not found: install the busybox-static package (on Debian or Ubuntu: sudo apt-get install busybox-static).',
  );
}

/**
 * Find what the demo is made of on this machine (kernels under `root`, see
 * {@link demoRoot}), or say which package to install.
 */
export async function findDemoInputs(root = demoRoot(), system: Arch = 'x86_64-linux'): Promise<DemoInputs> {
  const aarch64 = system === 'aarch64-linux';
  if (!aarch64 && arch() !== 'x64') {
    throw new NetbootError(
      `The demo system is made from an x86_64 kernel and busybox, and this machine is ${arch()}; pack your own system with --toplevel or --flake.`,
    );
  }
  // aarch64: the busybox of the unpacked arm64 packages under `root`.
  const busybox = await staticBusybox(aarch64 ? BUSYBOX_CANDIDATES.map((c) => join(root, c)) : BUSYBOX_CANDIDATES);
  const candidates: { release: string; moduleDir: string }[] = [];
  for (const modulesRoot of [join(root, 'lib', 'modules'), join(root, 'usr', 'lib', 'modules')]) {
    for (const release of await readdir(modulesRoot).catch(() => [] as string[])) {
      candidates.push({ release, moduleDir: join(modulesRoot, release) });
    }
  }
  candidates.sort((a, b) => compareVersions(b.release, a.release));
  for (const { release, moduleDir } of candidates) {
    const kernel = join(root, 'boot', `vmlinuz-${release}`);
    if (!(await stat(kernel).catch(() => undefined))) continue;
    if (!(await exists(kernel, constants.R_OK))) {
      throw new NetbootError(
        `${kernel} can be read only by root (as on Ubuntu), and Nix needs to read it for the demo; make it readable (sudo chmod 0644 ${kernel}) or run as root.`,
      );
    }
    const modules: string[] = [];
    let complete = true;
    for (const module of MODULES) {
      const file = await findModule(moduleDir, module);
      if (file) modules.push(file);
      else if (!(await builtIn(moduleDir, module))) complete = false;
    }
    if (complete) return { busybox, kernel, kernelVersion: release, modules };
  }
  throw new NetbootError(
    `No Linux kernel with its loop and squashfs modules was found in ${join(root, 'boot')} and ${join(root, 'lib', 'modules')}: ${aarch64 ? `remove ${root} so that Debian's linux-image-arm64 is fetched again` : 'install the linux-image-amd64 package (on Debian: sudo apt-get install linux-image-amd64)'}.`,
  );
}

/**
 * `workDir/demo-bootstrap`, a folder holding only bin/busybox (a copy of
 * `busybox`), for Nix to import as the builder of every derivation. Its
 * store path depends only on the bytes, so it is made once and kept.
 */
export async function busyboxBootstrap(workDir: string, busybox: string, folder = 'demo-bootstrap'): Promise<string> {
  const bootstrap = join(workDir, folder);
  await makeFolder(join(bootstrap, 'bin'));
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
 * The modules as the demo's Nix build takes them. default.nix unpacks xz and
 * gzip with busybox (unxz, gunzip), which has no zstd: a `.ko.zst` is
 * unpacked here, with zstd, into `workDir`/demo-modules/RELEASE/NAME.ko,
 * remade only when the module is newer.
 */
export async function demoModules(workDir: string, inputs: DemoInputs, signal?: AbortSignal): Promise<string[]> {
  const modules: string[] = [];
  for (const module of inputs.modules) {
    if (moduleCompression(module) !== 'zstd') {
      modules.push(module);
      continue;
    }
    const dir = join(workDir, 'demo-modules', inputs.kernelVersion);
    const target = join(dir, basename(module, '.zst'));
    const [source, made] = await Promise.all([stat(module), stat(target).catch(() => undefined)]);
    if (!made || made.mtimeMs < source.mtimeMs) {
      await makeFolder(dir);
      // Renamed into place: another build may be reading it right now.
      const temp = join(workDir, `.module-${process.pid}.tmp`);
      await runTool('zstd', ['-d', '-q', '-f', '-o', temp, module], {
        what: `zstd -d of ${module} (busybox cannot load compressed modules)`,
        signal,
      });
      await rename(temp, target);
    }
    modules.push(target);
  }
  return modules;
}

/** Which stage 1 the demo boots through; see assets/demo/default.nix. */
export const DEMO_STAGE1: readonly DemoStage1[] = ['seed', 'systemd-script'];

/**
 * Build the demo system; returns its toplevel. `workDir` keeps its busybox
 * folder (and modules unpacked from zstd). `stage1` picks its stage 1:
 * the seed's postMountCommands (the default) or the loading script of the
 * netboot module's systemd-stage-1 path. `extraArgs` (Nix expressions) go to
 * assets/demo/default.nix too: tests pass its test-only arguments
 * (`initrdExtraBytes`).
 */
export async function buildDemo(
  workDir: string,
  options: NixBuildOptions = {},
  stage1: DemoStage1 = 'seed',
  extraArgs: Record<string, string> = {},
  system: Arch = 'x86_64-linux',
): Promise<string> {
  if (system === 'aarch64-linux') return buildArm64Demo(workDir, options, stage1, extraArgs);
  const inputs = await findDemoInputs();
  const bootstrap = await busyboxBootstrap(workDir, inputs.busybox);
  const modules = await demoModules(workDir, inputs, options.signal);
  return buildNixFile(
    assetPath('demo', 'default.nix'),
    {
      bootstrap: nixPath(bootstrap),
      kernel: nixPath(inputs.kernel),
      kernelVersion: nixString(inputs.kernelVersion),
      modules: `[ ${modules.map(nixPath).join(' ')} ]`,
      ...(stage1 === 'seed' ? {} : { stage1: nixString(stage1) }),
      ...extraArgs,
    },
    options,
  );
}

/** The serial console of QEMU's aarch64 `virt` machine (a PL011), and of many ARM boards. */
export const AARCH64_DEMO_PARAMS = 'console=ttyAMA0,115200 panic=1 loglevel=4';

/**
 * The aarch64 demo: Debian's arm64 kernel and static busybox (fetched into
 * `workDir`, see debian-arm64.ts) in the same toplevel, built here by this
 * machine's busybox; its `system` says aarch64-linux and its kernel is `Image`.
 */
async function buildArm64Demo(
  workDir: string,
  options: NixBuildOptions,
  stage1: DemoStage1,
  extraArgs: Record<string, string>,
): Promise<string> {
  const root = await arm64Packages(workDir, 'system', options.signal);
  const target = await findDemoInputs(root, 'aarch64-linux');
  // The builder is this machine's busybox.
  const bootstrap = await busyboxBootstrap(workDir, await staticBusybox(BUSYBOX_CANDIDATES));
  const targetBusybox = await busyboxBootstrap(workDir, target.busybox, 'demo-busybox-aarch64');
  const modules = await demoModules(workDir, target, options.signal);
  return buildNixFile(
    assetPath('demo', 'default.nix'),
    {
      bootstrap: nixPath(bootstrap),
      targetBusybox: nixPath(targetBusybox),
      system: nixString('aarch64-linux'),
      builderSystem: 'builtins.currentSystem',
      kernelFile: nixString('Image'),
      kernelParams: nixString(AARCH64_DEMO_PARAMS),
      kernel: nixPath(target.kernel),
      kernelVersion: nixString(target.kernelVersion),
      modules: `[ ${modules.map(nixPath).join(' ')} ]`,
      ...(stage1 === 'seed' ? {} : { stage1: nixString(stage1) }),
      ...extraArgs,
    },
    options,
  );
}
