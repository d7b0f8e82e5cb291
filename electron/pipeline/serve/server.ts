/**
 * Serving boot folders to the machines on one network link: dnsmasq for DHCP
 * (proxy by default) and TFTP (the iPXE loaders only), our HTTP server for
 * the scripts and the boot files, and the live client table.
 */
import { copyFile, chmod, mkdir, rm, stat, writeFile } from 'node:fs/promises';
import type { Server } from 'node:http';
import { join } from 'node:path';
import { arm64Ipxe } from '../base/debian-arm64.ts';
import { defaultCacheDir } from '../base/dirs.ts';
import { NetbootError } from '../base/errors.ts';
import { errnoCode, makeScratch } from '../base/fsutil.ts';
import { findIpxeLoaders } from '../base/ipxe-loaders.ts';
import type { ServedSystemInfo, ServeEvent } from '../../shared/serve.ts';
import { type Client, ClientTable } from './clients.ts';
import { findDhcpServer } from './dhcp-probe.ts';
import { dnsmasqConfig } from './dnsmasq-config.ts';
import { type RunningDnsmasq, dnsmasqFailure, startDnsmasq } from './dnsmasq-run.ts';
import { type HttpEvent, type HttpServing, startHttp } from './http.ts';
import { listInterfaces, toNumber, usableInterface } from './interfaces.ts';
import type { MenuOptions } from './scripts.ts';
import { releaseSystems, type ServedSystem, snapshotSystems } from './snapshot.ts';

export interface ServeOptions {
  dirs: readonly string[];
  iface: string;
  /** Full DHCP with these addresses; absent: proxy DHCP next to the network's own DHCP server. */
  range?: { start: string; end: string } | undefined;
  /** The HTTP port (default 8080; 0: any free one). */
  httpPort?: number | undefined;
  /** MAC address (lower case, colons) to system (1, 2...). */
  assignments?: ReadonlyMap<string, number> | undefined;
  menu?: Partial<MenuOptions> | undefined;
  /** Seconds to listen for another DHCP server before full DHCP (default 6). */
  probeSeconds?: number | undefined;
  onEvent: (event: ServeEvent) => void;
}

export type SystemSummary = ServedSystemInfo;
export type { ServeEvent };

export interface Serving {
  url: string;
  clients(): Client[];
  /** Serve what the folders hold now (a new build), switching between requests. */
  reload(): Promise<void>;
  /** Stop every server; resolves when none is left. */
  stop(): Promise<void>;
  /** Resolves when serving ended (stopped, or dnsmasq died: the reason). */
  ended: Promise<string | undefined>;
}

export function summary(systems: readonly ServedSystem[]): SystemSummary[] {
  return systems.map((s) => ({
    index: s.index,
    dir: s.dir,
    name: s.name,
    version: s.version,
    arch: s.arch,
    ramBytes: s.ramBytes,
    files: [
      { name: 'netboot.ipxe', bytes: s.script.length },
      ...[...s.files.values()].map((f) => ({ name: f.name, bytes: f.bytes })),
    ],
  }));
}

function checkRange(
  range: { start: string; end: string },
  iface: { network: string; prefix: number; address: string; name: string },
): void {
  const ok = (a: string): boolean => /^\d{1,3}(\.\d{1,3}){3}$/.test(a) && a.split('.').every((p) => Number(p) <= 255);
  const mask = iface.prefix === 0 ? 0 : (0xffffffff << (32 - iface.prefix)) >>> 0;
  const inside = (a: string): boolean => (toNumber(a) & mask) >>> 0 === toNumber(iface.network);
  if (!ok(range.start) || !ok(range.end) || toNumber(range.start) > toNumber(range.end)) {
    throw new NetbootError(
      `The DHCP range ${range.start},${range.end} is not two IPv4 addresses, lowest first; give e.g. 10.0.0.100,10.0.0.199.`,
    );
  }
  if (!inside(range.start) || !inside(range.end)) {
    throw new NetbootError(
      `The DHCP range ${range.start},${range.end} is not inside ${iface.name}'s network (${iface.network}/${iface.prefix}); give addresses of that network.`,
    );
  }
  if (toNumber(iface.address) >= toNumber(range.start) && toNumber(iface.address) <= toNumber(range.end)) {
    throw new NetbootError(
      `The DHCP range ${range.start},${range.end} holds this machine's own address ${iface.address}; leave it out.`,
    );
  }
}

/** The loader arm64 UEFI firmware gets (the TFTP export's too). */
const ARM64_LOADER = 'ipxe-arm64.efi';

/** Start serving; resolves once DHCP, TFTP and HTTP all answer. */
export async function serve(options: ServeOptions): Promise<Serving> {
  if (options.dirs.length === 0) throw new NetbootError('Give at least one boot folder to serve.');
  if (process.getuid?.() !== 0) {
    throw new NetbootError(
      'Serving needs the DHCP and TFTP ports (67, 69, 4011), which only root may open: run it with sudo.',
    );
  }
  const iface = await usableInterface(options.iface);
  if (options.range) checkRange(options.range, iface);
  const loaders = findIpxeLoaders();
  if (!loaders['undionly.kpxe'] && !loaders['snponly.efi'] && !loaders['ipxe.efi']) {
    throw new NetbootError(
      'No iPXE loaders were found (undionly.kpxe, snponly.efi): install the ipxe package (sudo apt-get install ipxe).',
    );
  }
  if (options.range) {
    const other = await findDhcpServer(iface.address, options.probeSeconds ?? 6);
    if (other !== undefined) {
      throw new NetbootError(
        `Another DHCP server (${other}) already answers on ${iface.name}, so full DHCP is refused (two would hand out conflicting addresses); serve with proxy DHCP, which works beside it.`,
      );
    }
  }
  const menu: MenuOptions = {
    defaultIndex: options.menu?.defaultIndex ?? 1,
    timeoutSeconds: options.menu?.timeoutSeconds ?? 10,
  };
  if (options.menu?.defaultIndex !== undefined && (menu.defaultIndex < 1 || menu.defaultIndex > options.dirs.length)) {
    throw new NetbootError(
      `The menu's default is system ${menu.defaultIndex}, but ${options.dirs.length} are served; give 1 to ${options.dirs.length}.`,
    );
  }
  const assignments = new Map(options.assignments ?? []);
  for (const [mac, index] of assignments) {
    if (index < 1 || index > options.dirs.length) {
      throw new NetbootError(
        `${mac} is assigned system ${index}, but ${options.dirs.length} are served; give 1 to ${options.dirs.length}.`,
      );
    }
  }

  let systems = await snapshotSystems(options.dirs);
  const scratch = await makeScratch('netboot-composer-serve-');
  let http: Server | undefined;
  let dnsmasq: RunningDnsmasq | undefined;
  let stopping = false;
  // Sets replaced by a reload: requests that started on them finish on them; closed at stop.
  const retired: ServedSystem[][] = [];
  const table = new ClientTable(
    (index) => systems.find((s) => s.index === index)?.bootFiles ?? [],
    (client) => options.onEvent({ event: 'client', client }),
  );
  let watch: NodeJS.Timeout | undefined;
  const cleanup = async (): Promise<void> => {
    stopping = true;
    clearInterval(watch);
    await dnsmasq?.stop();
    if (http) {
      http.closeAllConnections();
      await new Promise<void>((resolve) => http!.close(() => resolve()));
    }
    await releaseSystems(systems);
    for (const old of retired) await releaseSystems(old);
    await rm(scratch, { recursive: true, force: true });
  };
  try {
    // dnsmasq reads the loaders after dropping root (as nobody): a folder all may read.
    const tftpRoot = join(scratch, 'tftp');
    await mkdir(tftpRoot);
    await chmod(scratch, 0o711);
    await chmod(tftpRoot, 0o755);
    for (const name of ['undionly.kpxe', 'snponly.efi', 'ipxe.efi'] as const) {
      const from = loaders[name];
      if (from) {
        await copyFile(from, join(tftpRoot, name));
        await chmod(join(tftpRoot, name), 0o644);
        table.loaderBytes.set(name, (await stat(join(tftpRoot, name))).size);
      }
    }
    // arm64 UEFI machines (option 93 = 11) get Debian's ipxe-arm64.efi, fetched into the cache as the TFTP export does.
    let arm64: string | undefined;
    if (systems.some((s) => s.arch === 'aarch64-linux')) {
      try {
        await copyFile(await arm64Ipxe(defaultCacheDir()), join(tftpRoot, ARM64_LOADER));
        await chmod(join(tftpRoot, ARM64_LOADER), 0o644);
        table.loaderBytes.set(ARM64_LOADER, (await stat(join(tftpRoot, ARM64_LOADER))).size);
        arm64 = ARM64_LOADER;
      } catch (error) {
        options.onEvent({
          event: 'notice',
          message: `arm64 UEFI machines get no loader over TFTP (${(error as Error).message}); ones whose firmware runs iPXE still boot.`,
        });
      }
    }
    let base = '';
    const serving = (): HttpServing => ({ systems, assignments, menu, base });
    const onHttp = (event: HttpEvent): void => {
      if (event.kind === 'refused') {
        options.onEvent({
          event: 'notice',
          message: `${event.ip} asked for ${event.path}, which is not served here; refused (404).`,
        });
      }
      table.http(event);
    };
    const port = options.httpPort ?? 8080;
    try {
      http = (await startHttp(iface.address, port, serving, onHttp)).server;
    } catch (error) {
      if (errnoCode(error) === 'EADDRINUSE') {
        throw new NetbootError(
          `Port ${port} on ${iface.address} is in use by another program; stop it, or serve with another --http-port.`,
        );
      }
      throw error;
    }
    const httpPort = (http.address() as { port: number }).port;
    base = `http://${iface.address}:${httpPort}`;
    const url = `${base}/boot.ipxe`;
    const config = join(scratch, 'dnsmasq.conf');
    await writeFile(
      config,
      dnsmasqConfig({
        iface: iface.name,
        address: iface.address,
        network: iface.network,
        netmask: iface.netmask,
        range: options.range,
        tftpRoot,
        loaders: {
          bios: loaders['undionly.kpxe'] ? 'undionly.kpxe' : undefined,
          uefi: loaders['snponly.efi'] ? 'snponly.efi' : loaders['ipxe.efi'] ? 'ipxe.efi' : undefined,
          arm64,
        },
        entryUrl: url,
        leaseFile: join(scratch, 'leases'),
      }),
    );
    dnsmasq = await startDnsmasq(
      [
        `--conf-file=${config}`,
        '--keep-in-foreground',
        '--log-facility=-',
        `--pid-file=${join(scratch, 'dnsmasq.pid')}`,
      ],
      iface.name,
      process.pid,
      (line) => table.dnsmasqLine(line),
    );
    // The link going down (a cable pulled) or up again: said once each time.
    let linkUp = true;
    watch = setInterval(() => {
      void listInterfaces().then((list) => {
        const now = list.find((i) => i.name === iface.name);
        const up = now?.up === true && now.address === iface.address;
        if (up === linkUp || stopping) return;
        linkUp = up;
        options.onEvent({
          event: 'notice',
          message: up
            ? `${iface.name} is up again with ${iface.address}: machines can boot from it.`
            : `${iface.name} went down or lost ${iface.address}: no machine can reach this server until it is back.`,
        });
      });
    }, 2000);
    watch.unref();
    const ended = dnsmasq.exited.then(async ({ lastLine }) => {
      if (stopping) return undefined;
      const reason = dnsmasqFailure(lastLine, iface.name);
      await cleanup();
      return reason;
    });
    options.onEvent({
      event: 'serving',
      iface: iface.name,
      address: iface.address,
      mode: options.range ? 'full' : 'proxy',
      range: options.range,
      url,
      systems: summary(systems),
    });
    return {
      url,
      clients: () => table.list(),
      reload: async () => {
        const fresh = await snapshotSystems(options.dirs);
        retired.push(systems);
        systems = fresh;
        options.onEvent({ event: 'reloaded', systems: summary(systems) });
      },
      stop: async () => {
        if (stopping) return;
        await cleanup();
      },
      ended,
    };
  } catch (error) {
    await cleanup();
    throw error;
  }
}
