/**
 * The TFTP export: the boot files (in a subfolder when several systems share
 * one TFTP root), the iPXE loaders that plain PXE firmware chainloads, and
 * two dnsmasq snippets with the paths filled in.
 *
 * Two folders can be written: the subfolder (boot files, snippets) and the
 * root (loaders). Each is an {@link OutDir} with its own record; both are
 * committed only once every file is ready, so an interrupted export leaves
 * the previous one whole.
 */
import { createHash } from 'node:crypto';
import { copyFile, readFile, rmdir, writeFile } from 'node:fs/promises';
import { networkInterfaces } from 'node:os';
import { join, resolve } from 'node:path';
import { SCRIPT_NAME } from '../../shared/boot-folder.ts';
import { subdirProblem, TFTP_SLOW_BYTES } from '../../shared/export-spec.ts';
import { formatBytes } from '../../shared/progress.ts';
import type { ExportNote, ExportSummary, OutputFile } from '../../shared/types.ts';
import { arm64Ipxe } from '../base/debian-arm64.ts';
import { defaultCacheDir } from '../base/dirs.ts';
import { isAbort, NetbootError } from '../base/errors.ts';
import { exists } from '../base/fsutil.ts';
import { findIpxeLoaders, IPXE_PACKAGE } from '../base/ipxe-loaders.ts';
import type { OutDir } from '../media/out-dir.ts';
import {
  commentText,
  detectNetwork,
  fitsOneLine,
  fullDhcpSnippet,
  type HostNetwork,
  type LoaderRoute,
  proxyDhcpSnippet,
} from './dnsmasq.ts';
import type { ExportHooks } from './writer.ts';
import {
  biosLimitNote,
  bootFileCopy,
  type BootSource,
  checkNotSource,
  exportCanceled,
  type FileReport,
  openExportDir,
  othersCannotRead,
  putFile,
  readBootSource,
} from './writer.ts';

export { TFTP_SLOW_BYTES };

export const PROXY_SNIPPET = 'dnsmasq-proxy-dhcp.conf';
/** The loader arm64 UEFI firmware (DHCP client architecture 11) gets: iPXE with its own drivers, from Debian 13. */
export const ARM64_LOADER = 'ipxe-arm64.efi';
export const FULL_SNIPPET = 'dnsmasq-full-dhcp.conf';

/** Which loader each kind of firmware gets, from those available. */
export function loaderRoutes(
  arch: BootSource['arch'],
  available: ReadonlySet<string>,
): { routes: LoaderRoute[]; wanted: string[] } {
  if (arch === 'aarch64-linux') {
    const file = ARM64_LOADER;
    return { routes: [{ tag: 'efi-arm64', label: 'UEFI', archs: [11], csas: ['ARM64_EFI'], file }], wanted: [file] };
  }
  const uefi = available.has('snponly.efi') || !available.has('ipxe.efi') ? 'snponly.efi' : 'ipxe.efi';
  return {
    routes: [
      { tag: 'bios', label: 'BIOS', archs: [0], csas: ['x86PC'], file: 'undionly.kpxe' },
      {
        tag: 'efi-x86_64',
        label: 'UEFI',
        // 7 is what most x86-64 UEFI firmware sends (EFI BC), 9 the rest.
        archs: [7, 9],
        csas: ['BC_EFI', 'x86-64_EFI'],
        file: uefi,
        note:
          uefi === 'snponly.efi' && available.has('ipxe.efi')
            ? [
                'snponly.efi drives the network card through the firmware; if a machine hangs',
                "in it, try ipxe.efi (iPXE's own drivers), which is next to it.",
              ]
            : undefined,
      },
    ],
    wanted: ['undionly.kpxe', 'snponly.efi', 'ipxe.efi'],
  };
}

function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Export the boot folder `from` for a TFTP server rooted at `dir`, the boot files in `subdir` if given. */
export async function exportTftp(
  from: string,
  spec: { dir: string; subdir?: string | undefined },
  hooks: ExportHooks = {},
  findNetwork: () => HostNetwork | undefined = () => detectNetwork(networkInterfaces()),
): Promise<ExportSummary> {
  const subdir = spec.subdir?.trim().replace(/\/+$/, '') || undefined;
  if (subdir !== undefined) {
    const problem = subdirProblem(subdir);
    if (problem) throw new NetbootError(problem);
  }
  if (!fitsOneLine(resolve(spec.dir))) {
    throw new NetbootError(
      `The TFTP folder ${commentText(spec.dir)} has a line break or another control character in its path, which its dnsmasq snippets cannot hold; choose a folder whose path has none.`,
    );
  }
  const bootDir = subdir === undefined ? spec.dir : join(spec.dir, subdir);
  checkNotSource(from, spec.dir);
  checkNotSource(from, bootDir);
  const source = await readBootSource(from);
  const inBoot = (name: string): string => (subdir === undefined ? name : `${subdir}/${name}`);

  const network = findNetwork();
  const found: Partial<Record<string, string>> = findIpxeLoaders();
  let arm64Problem: string | undefined;
  if (source.arch === 'aarch64-linux') {
    // Fetched once from Debian into the cache (debian-arm64.ts); without it the export still works.
    found[ARM64_LOADER] = await arm64Ipxe(defaultCacheDir(), hooks.signal).catch((error: unknown) => {
      if (isAbort(error, hooks.signal)) throw exportCanceled();
      arm64Problem = error instanceof Error ? error.message : String(error);
      return undefined;
    });
  }
  const { routes, wanted } = loaderRoutes(source.arch, new Set(Object.keys(found)));
  // The root first, then the subfolder: two exports into one root take their locks in the same order.
  const root = await openExportDir(spec.dir, hooks);
  let newBootDir: boolean;
  let boot: OutDir;
  try {
    newBootDir = subdir !== undefined && !(await exists(bootDir));
    boot = subdir === undefined ? root : await openExportDir(bootDir, hooks);
  } catch (error) {
    await root.discard();
    throw error;
  }
  const notes: ExportNote[] = [];
  const files: OutputFile[] = [];
  const report: FileReport = { hooks, files };
  try {
    const snippetInput = {
      title: source.title,
      // Absolute: dnsmasq runs from anywhere.
      tftpRoot: resolve(spec.dir),
      script: inBoot(SCRIPT_NAME),
      loaders: routes,
      network,
      proxyFile: resolve(bootDir, PROXY_SNIPPET),
      fullFile: resolve(bootDir, FULL_SNIPPET),
    };
    const snippets: [string, string][] = [
      [PROXY_SNIPPET, proxyDhcpSnippet(snippetInput)],
      [FULL_SNIPPET, fullDhcpSnippet(snippetInput)],
    ];
    const loaders = wanted.flatMap((name) => {
      const path = found[name];
      return path === undefined ? [] : [{ name, path }];
    });
    await boot.claim([...source.files.map((f) => f.name), ...snippets.map(([name]) => name)]);
    await root.claim(loaders.map((l) => l.name));

    for (const file of source.files) {
      const { fingerprint, produce } = bootFileCopy(from, file);
      await putFile(boot, file.name, fingerprint, produce, report, inBoot(file.name));
    }
    for (const [name, text] of snippets) {
      await putFile(boot, name, `dnsmasq:${sha256(text)}`, (temp) => writeFile(temp, text), report, inBoot(name));
    }
    for (const loader of loaders) {
      const fingerprint = `ipxe:${sha256(await readFile(loader.path))}`;
      await putFile(root, loader.name, fingerprint, (temp) => copyFile(loader.path, temp), report);
    }
    // A loader this machine lacks now but an earlier export put there stays;
    // so do, in a shared root, the files of other exports.
    const written = new Set(files.map((f) => f.name));
    for (const name of root.recorded()) {
      if (!written.has(name) && (subdir !== undefined || wanted.includes(name))) root.keep(name);
    }
    const missing = wanted.filter((name) => !written.has(name) && !root.recorded().includes(name));

    if (hooks.signal?.aborted) throw exportCanceled();
    if (boot !== root) await boot.commit(source.info);
    // What the build said goes with the boot files; a shared root keeps its own.
    await root.commit(boot === root ? source.info : root.recordedInfo());
    notes.push(...loaderNotes(source, missing, routes, spec.dir, arm64Problem));
  } catch (error) {
    await boot.discard();
    await root.discard();
    // A subfolder this export made, and left empty: as if it never ran.
    if (newBootDir) await rmdir(bootDir).catch(() => undefined);
    if (isAbort(error, hooks.signal)) throw exportCanceled();
    throw error;
  }
  await boot.release();
  await root.release();

  if (source.downloadBytes > TFTP_SLOW_BYTES) {
    notes.push({
      level: 'warning',
      message: `The download is ${formatBytes(source.downloadBytes)} (kernel and initrds): TFTP waits for every 1.5 KB block, which makes that take minutes on many machines, so serve it over HTTP instead (the HTTP export).`,
    });
  }
  notes.push(...biosLimitNote(source));
  notes.push(
    ...(await othersCannotRead(
      files.map((f) => join(spec.dir, f.name)),
      'dnsmasq',
    )),
  );
  if (network === undefined) {
    notes.push({
      level: 'warning',
      message: `No network with an IPv4 address was found on this machine, so the dnsmasq snippets carry placeholder addresses: fill in yours on the lines marked CHANGE.`,
    });
  }
  notes.push(
    {
      level: 'info',
      message: `Serve ${spec.dir} over TFTP: machines running iPXE load ${inBoot(SCRIPT_NAME)}; the others first load ${routes.map((r) => `${r.file} (${r.label})`).join(' or ')}, which then loads it.`,
    },
    {
      level: 'info',
      message: `For dnsmasq: ${inBoot(PROXY_SNIPPET)} on a network whose router already hands out addresses, ${inBoot(FULL_SNIPPET)} where dnsmasq is the DHCP server; check the lines marked CHANGE${network ? ` (filled in for ${network.iface}, ${network.network}/${network.prefix})` : ''}.`,
    },
  );
  return { kind: 'tftp', dir: spec.dir, files, notes };
}

function loaderNotes(
  source: BootSource,
  missing: string[],
  routes: LoaderRoute[],
  dir: string,
  arm64Problem: string | undefined,
): ExportNote[] {
  if (missing.length === 0) return [];
  if (source.arch === 'aarch64-linux') {
    return [
      {
        level: 'warning',
        message: `No iPXE loader for 64-bit ARM could be had (${arm64Problem ?? 'not found'}): put an arm64 build of iPXE into ${dir} as ${routes[0]!.file} and export again, or netboot only machines whose firmware runs iPXE itself.`,
      },
    ];
  }
  const looked = process.env.NETBOOT_COMPOSER_IPXE_DIR ?? '/usr/lib/ipxe and /usr/share/ipxe';
  return [
    {
      level: 'warning',
      message: `The iPXE loader${missing.length > 1 ? 's' : ''} ${missing.join(', ')} ${missing.length > 1 ? 'were' : 'was'} not found in ${looked}, so machines without iPXE in their firmware cannot chainload it: install the ${IPXE_PACKAGE} package (on Debian or Ubuntu: sudo apt-get install ${IPXE_PACKAGE}) and export again.`,
    },
  ];
}
