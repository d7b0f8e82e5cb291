/**
 * Debian's arm64 packages that aarch64 needs on this x86_64 machine: the
 * kernel and a static busybox (the aarch64 demo), iPXE's arm64 loader
 * (netboot) and GRUB's arm64 EFI modules (USB media). Fetched with apt-get
 * into a private apt state under the cache folder (its own sources list,
 * status /dev/null, architecture arm64), so the user's dpkg never sees a
 * foreign architecture; unpacked with dpkg-deb, kept, and fetched again only
 * when the folder is gone.
 */
import { readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { NetbootError } from './errors.ts';
import { exists, makeFolder } from './fsutil.ts';
import { takeLock } from './lock.ts';
import { runTool } from './tools.ts';

/** What can be fetched, each an unpacked folder of its own. */
export type Arm64Set = 'system' | 'ipxe' | 'grub';

/** Debian's suites that have an arm64 iPXE (`ipxe` 1.21 ships ipxe-arm64.efi; bookworm's 2019 build has none). */
const IPXE_SUITE = 'trixie';
const KEYRING = '/usr/share/keyrings/debian-archive-keyring.gpg';
export const DEBIAN_MIRROR = 'http://deb.debian.org/debian';

/**
 * The suite whose kernel and busybox the demo takes: this machine's Debian
 * release (bookworm, trixie...), bookworm elsewhere; NETBOOT_COMPOSER_DEBIAN_SUITE
 * names another. Reads /etc/os-release.
 */
export async function debianSuite(env: NodeJS.ProcessEnv = process.env): Promise<string> {
  if (env.NETBOOT_COMPOSER_DEBIAN_SUITE) return env.NETBOOT_COMPOSER_DEBIAN_SUITE;
  const release = await readFile('/etc/os-release', 'utf8').catch(() => '');
  const id = /^ID=(.*)$/m.exec(release)?.[1]?.replace(/"/g, '');
  const codename = /^VERSION_CODENAME=(.*)$/m.exec(release)?.[1]?.replace(/"/g, '');
  return id === 'debian' && codename ? codename : 'bookworm';
}

/** The kernel package a metapackage's `apt-cache depends` output names (linux-image-6.1.0-50-arm64). Pure. */
export function kernelDependency(output: string): string | undefined {
  for (const line of output.split('\n')) {
    const name = /^\s*\|?Depends:\s*(linux-image-\S+)/.exec(line)?.[1];
    if (name && !name.startsWith('<')) return name;
  }
  return undefined;
}

/** apt-get's and apt-cache's options for the private state of `suite` under `aptDir`. */
function aptOptions(aptDir: string): string[] {
  return [
    `Dir::State=${join(aptDir, 'state')}`,
    'Dir::State::status=/dev/null',
    `Dir::Cache=${join(aptDir, 'cache')}`,
    `Dir::Etc::sourcelist=${join(aptDir, 'sources.list')}`,
    'Dir::Etc::sourceparts=-',
    'Dir::Etc::preferences=/dev/null',
    'Dir::Etc::preferencesparts=-',
    'APT::Architecture=arm64',
    'APT::Architectures=arm64',
    // The files land in our own folder, which apt's _apt user may not write.
    'APT::Sandbox::User=root',
  ].flatMap((option) => ['-o', option]);
}

async function aptState(cacheDir: string, suite: string, signal?: AbortSignal): Promise<string[]> {
  const aptDir = join(cacheDir, 'debian-arm64', 'apt', suite);
  await makeFolder(join(aptDir, 'state', 'lists', 'partial'));
  await makeFolder(join(aptDir, 'cache', 'archives', 'partial'));
  await writeFile(
    join(aptDir, 'sources.list'),
    `deb [arch=arm64 signed-by=${KEYRING}] ${process.env.NETBOOT_COMPOSER_DEBIAN_MIRROR || DEBIAN_MIRROR} ${suite} main\n`,
  );
  const options = aptOptions(aptDir);
  await runTool('apt-get', [...options, '-q', 'update'], {
    what: `apt-get update of Debian ${suite}'s arm64 package lists (into ${aptDir})`,
    signal,
  });
  return options;
}

/**
 * The folder with the packages of `set` unpacked (boot/, lib/ or usr/lib/,
 * bin/, usr/lib/ipxe, usr/lib/grub/arm64-efi), fetched on first use into
 * `cacheDir`/debian-arm64.
 */
export async function arm64Packages(cacheDir: string, set: Arm64Set, signal?: AbortSignal): Promise<string> {
  const suite = set === 'ipxe' ? IPXE_SUITE : await debianSuite();
  const root = join(cacheDir, 'debian-arm64', `${set}-${suite}`);
  const complete = async (): Promise<boolean> =>
    (await stat(join(root, '.complete')).catch(() => undefined))?.isFile() === true;
  if (await complete()) return root;
  // One fetch at a time (apt's own lock would fail a second one): the app and the CLI may both fetch.
  await makeFolder(join(cacheDir, 'debian-arm64'));
  const lock = join(cacheDir, 'debian-arm64', '.fetch.lock');
  if (!(await takeLock(lock, 10 * 60_000, signal))) {
    throw new NetbootError(
      `Another process has been fetching Debian's arm64 packages into ${cacheDir} for 10 minutes; wait for it, or remove ${lock} if none is running.`,
    );
  }
  try {
    if (await complete()) return root;
    const options = await aptState(cacheDir, suite, signal);
    let packages: string[];
    if (set === 'system') {
      const depends = await runTool('apt-cache', [...options, 'depends', 'linux-image-arm64'], {
        what: `apt-cache depends linux-image-arm64 (Debian ${suite})`,
        signal,
      });
      const kernel = kernelDependency(depends);
      if (!kernel) throw new NetbootError(`Debian ${suite}'s linux-image-arm64 names no kernel package.`);
      packages = [kernel, 'busybox-static'];
    } else packages = [set === 'ipxe' ? 'ipxe' : 'grub-efi-arm64-bin'];
    const debs = join(cacheDir, 'debian-arm64', 'debs', suite);
    await makeFolder(debs);
    await runTool('apt-get', [...options, '-q', 'download', ...packages], {
      what: `apt-get download ${packages.join(' ')} (Debian ${suite}, arm64)`,
      signal,
      cwd: debs,
    });
    // The newest file of each package (an older one may be left from an earlier fetch).
    const names = await readdir(debs);
    const files = packages.map((p) => {
      const versions = names.filter((f) => f.startsWith(`${p}_`) && f.endsWith('.deb'));
      versions.sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
      const newest = versions.at(-1);
      if (!newest) throw new NetbootError(`apt-get download brought no ${p} package.`);
      return newest;
    });
    const temp = `${root}.${process.pid}.tmp`;
    await rm(temp, { recursive: true, force: true });
    await makeFolder(temp);
    for (const file of files) {
      await runTool('dpkg-deb', ['-x', join(debs, file), temp], { what: `dpkg-deb -x ${file}`, signal });
    }
    await writeFile(join(temp, '.complete'), files.join('\n') + '\n');
    await rm(root, { recursive: true, force: true });
    await rename(temp, root);
    return root;
  } catch (error) {
    if (error instanceof NetbootError && !signal?.aborted) {
      throw new NetbootError(
        `Debian's arm64 packages for aarch64 (${set}) could not be fetched from ${DEBIAN_MIRROR}: ${error.message}`,
      );
    }
    throw error;
  } finally {
    await rm(lock, { force: true });
  }
}

/**
 * iPXE for arm64 UEFI (an EFI program with iPXE's own drivers): the file
 * NETBOOT_COMPOSER_IPXE_ARM64 names, else Debian 13's ipxe-arm64.efi, fetched
 * once into `cacheDir`.
 */
export async function arm64Ipxe(cacheDir: string, signal?: AbortSignal): Promise<string> {
  const named = process.env.NETBOOT_COMPOSER_IPXE_ARM64;
  if (named) {
    if (!(await exists(named))) {
      throw new NetbootError(
        `NETBOOT_COMPOSER_IPXE_ARM64 names ${named}, which does not exist; name an arm64 iPXE (ipxe-arm64.efi).`,
      );
    }
    return named;
  }
  const root = await arm64Packages(cacheDir, 'ipxe', signal);
  const loader = join(root, 'usr', 'lib', 'ipxe', 'ipxe-arm64.efi');
  if (!(await exists(loader))) {
    throw new NetbootError(`Debian's ipxe package has no ipxe-arm64.efi (looked in ${root}).`);
  }
  return loader;
}
