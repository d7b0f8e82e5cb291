/**
 * dnsmasq configuration for a TFTP export: two ready snippets, one for a
 * network whose router already hands out addresses (proxy DHCP), one for a
 * network where dnsmasq is the DHCP server. Both chainload iPXE on machines
 * whose firmware speaks plain PXE, then give iPXE the system's script.
 *
 * Pure text: the export decides the names, this module only writes them down.
 */
import type { NetworkInterfaceInfo } from 'node:os';
import { NetbootError } from '../base/errors.ts';
import { shellQuote } from '../base/quote.ts';

/** The network this machine is on, as the snippets need it. */
export interface HostNetwork {
  /** The interface, e.g. eth0. */
  iface: string;
  /** This machine's address there: the TFTP server's. */
  address: string;
  /** The network's address (the host part zeroed) and mask. */
  network: string;
  netmask: string;
  prefix: number;
}

/** Interfaces that are rarely the network PXE clients are on: containers, VMs, VPNs. */
const VIRTUAL = /^(docker|br-|virbr|veth|vnet|lxc|lxd|cni|flannel|cali|podman|tun|tap|wg|tailscale|zt)/;

function toNumber(address: string): number {
  return address.split('.').reduce((n, part) => n * 256 + Number(part), 0);
}

function toAddress(n: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join('.');
}

/**
 * The first network interface with an IPv4 address that is not loopback or
 * link-local, physical ones before virtual ones (`os.networkInterfaces()`,
 * which lists only interfaces that are up and have a link).
 */
export function detectNetwork(interfaces: NodeJS.Dict<NetworkInterfaceInfo[]>): HostNetwork | undefined {
  const candidates: HostNetwork[] = [];
  for (const [iface, infos] of Object.entries(interfaces)) {
    for (const info of infos ?? []) {
      if (info.family !== 'IPv4' || info.internal || info.address.startsWith('169.254.')) continue;
      const prefix = Number(info.cidr?.split('/')[1] ?? 24);
      const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
      candidates.push({
        iface,
        address: info.address,
        network: toAddress((toNumber(info.address) & mask) >>> 0),
        netmask: toAddress(mask),
        prefix,
      });
    }
  }
  return candidates.find((c) => !VIRTUAL.test(c.iface)) ?? candidates[0];
}

/** The iPXE loader a kind of firmware gets first. */
export interface LoaderRoute {
  /** The dnsmasq tag for these clients. */
  tag: string;
  /** What the first comment says: BIOS, UEFI. */
  label: string;
  /** DHCP option 93 values (RFC 4578) of these clients. */
  archs: number[];
  /** dnsmasq's names for them in pxe-service (proxy mode). */
  csas: string[];
  /** The loader, relative to the TFTP root. */
  file: string;
  /** Comment lines on the choice of loader, if any. */
  note?: string[] | undefined;
}

export interface DnsmasqInput {
  /** What the snippets are for, in their first line. */
  title: string;
  /** The TFTP root (absolute). */
  tftpRoot: string;
  /** The iPXE script, relative to the TFTP root: demo/netboot.ipxe. */
  script: string;
  /** What plain PXE firmware loads first, per firmware. */
  loaders: LoaderRoute[];
  /** This machine's network; undefined when none was found (the snippets then carry placeholders). */
  network: HostNetwork | undefined;
  /** The snippet's own path, for the "how to use it" line. */
  proxyFile: string;
  fullFile: string;
}

/** What the snippets use when no network was found: clearly a guess to replace. */
const PLACEHOLDER: HostNetwork = {
  iface: 'eth0',
  address: '192.168.1.2',
  network: '192.168.1.0',
  netmask: '255.255.255.0',
  prefix: 24,
};

/** Line breaks and the other control characters but tab: dnsmasq reads its configuration a line at a time. */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\0-\x08\n-\x1f\x7f]/g;

/** True when `text` can be written into a dnsmasq configuration line (no line break, NUL or other control character but tab). */
export function fitsOneLine(text: string): boolean {
  return !new RegExp(CONTROL.source).test(text);
}

/**
 * A value as dnsmasq's configuration reads it: quoted when it has more than
 * plain path characters (inside quotes, dnsmasq takes `,` and `#` as they
 * are, and `\\` and `\"` as escapes). A line break would end the line and
 * start an option of its own, so a value with a control character is refused.
 */
export function dnsmasqValue(value: string): string {
  if (/^[A-Za-z0-9/._+-]+$/.test(value)) return value;
  if (!fitsOneLine(value)) {
    throw new NetbootError(
      `${commentText(value)} cannot go into a dnsmasq configuration: it holds a line break or another control character; rename it.`,
    );
  }
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\t/g, '\\t')}"`;
}

/** Text for a comment line: control characters (a line break would end the comment) shown as "?". */
export function commentText(text: string): string {
  return text.replace(CONTROL, '?');
}

/** The addresses the full-DHCP snippet hands out: the upper part of the network, away from routers at .1. */
function dhcpPool(network: HostNetwork): { start: string; end: string } {
  const base = toNumber(network.network);
  const size = 2 ** (32 - network.prefix);
  if (size >= 256) return { start: toAddress(base + 100), end: toAddress(base + 199) };
  return { start: toAddress(base + Math.max(2, size / 2)), end: toAddress(base + Math.max(2, size - 2)) };
}

function where(network: HostNetwork | undefined, what: 'network' | 'address'): string {
  if (!network) return 'no network was found on this machine, so this is a placeholder';
  return `found on this machine: ${network.iface}, ${what === 'network' ? `${network.network}/${network.prefix}` : network.address}`;
}

function header(input: DnsmasqInput, mode: 'proxy' | 'full', file: string): string[] {
  const what =
    mode === 'proxy'
      ? [
          `# dnsmasq: netboot ${commentText(input.title)}, as a proxy DHCP server.`,
          '# For a network whose router already hands out addresses: this dnsmasq hands out',
          '# none, it only tells netbooting machines what to load, and serves it over TFTP.',
        ]
      : [
          `# dnsmasq: netboot ${commentText(input.title)}, as the network's DHCP server.`,
          '# For a network with no other DHCP server (a lab switch, a second network card):',
          '# this dnsmasq hands out addresses, tells netbooting machines what to load, and',
          '# serves it over TFTP.',
        ];
  return [
    ...what,
    '# Made by Netboot Composer. Check the lines marked CHANGE, then run it as root:',
    `#   dnsmasq --no-daemon --conf-file=${commentText(shellQuote(file))}`,
    '# or copy it into /etc/dnsmasq.d/ (remove port=0 if that dnsmasq serves DNS too).',
    '',
    '# No DNS server: this dnsmasq is for netbooting only.',
    'port=0',
    'log-dhcp',
    '',
  ];
}

function tftp(input: DnsmasqInput): string[] {
  return [
    '# The files, over TFTP. dnsmasq reads them as its own user (nobody or dnsmasq).',
    'enable-tftp',
    `tftp-root=${dnsmasqValue(input.tftpRoot)}`,
    '',
  ];
}

function matches(input: DnsmasqInput): string[] {
  return [
    '# Who is asking: the firmware by its architecture (DHCP option 93), iPXE by its',
    '# option 175 or its user class.',
    ...input.loaders.flatMap((loader) =>
      loader.archs.map((arch) => `dhcp-match=set:${loader.tag},option:client-arch,${arch}`),
    ),
    'dhcp-match=set:ipxe,175',
    'dhcp-userclass=set:ipxe,iPXE',
    '',
  ];
}

function loaderComment(loader: LoaderRoute): string[] {
  return (loader.note ?? []).map((line) => `# ${line}`);
}

/** The proxy-DHCP snippet. */
export function proxyDhcpSnippet(input: DnsmasqInput): string {
  const net = input.network ?? PLACEHOLDER;
  return [
    ...header(input, 'proxy', input.proxyFile),
    `# CHANGE: the network the netbooting machines are on (${where(input.network, 'network')}).`,
    `dhcp-range=${net.network},proxy,${net.netmask}`,
    '',
    ...tftp(input),
    ...matches(input),
    '# Plain PXE firmware loads iPXE first. Not offered to iPXE itself, so that iPXE,',
    '# once loaded, gets the script below instead of loading itself again.',
    ...input.loaders.flatMap((loader) => [
      ...loaderComment(loader),
      ...loader.csas.map(
        (csa) => `pxe-service=tag:!ipxe,${csa},"Netboot Composer (${loader.label})",${dnsmasqValue(loader.file)}`,
      ),
    ]),
    '',
    "# iPXE runs the system's script. In proxy mode iPXE needs the TFTP server's address",
    `# with it. CHANGE: this machine's address on that network (${where(input.network, 'address')}).`,
    `dhcp-boot=tag:ipxe,${dnsmasqValue(input.script)},,${net.address}`,
    '',
  ].join('\n');
}

/** The full-DHCP snippet. */
export function fullDhcpSnippet(input: DnsmasqInput): string {
  const net = input.network ?? PLACEHOLDER;
  const pool = dhcpPool(net);
  return [
    ...header(input, 'full', input.fullFile),
    `# CHANGE: the addresses to hand out, on the network the machines are on (${where(input.network, 'network')}),`,
    '# and how long a lease lasts.',
    `dhcp-range=${pool.start},${pool.end},${net.netmask},12h`,
    '# CHANGE, on a machine with several network cards: answer only on the one the',
    '# netbooting machines are on.',
    `#interface=${net.iface}`,
    '# CHANGE, if the machines need to reach further than this network: the router and',
    '# DNS server to tell them (dnsmasq names itself as the router otherwise).',
    `#dhcp-option=option:router,${toAddress(toNumber(net.network) + 1)}`,
    `#dhcp-option=option:dns-server,${toAddress(toNumber(net.network) + 1)}`,
    '',
    ...tftp(input),
    ...matches(input),
    "# iPXE runs the system's script.",
    `dhcp-boot=tag:ipxe,${dnsmasqValue(input.script)}`,
    '# Plain PXE firmware loads iPXE first; iPXE then asks again, as iPXE, and gets the',
    '# script above instead of loading itself again.',
    ...input.loaders.flatMap((loader) => [
      ...loaderComment(loader),
      `dhcp-boot=tag:!ipxe,tag:${loader.tag},${dnsmasqValue(loader.file)}`,
    ]),
    '',
  ].join('\n');
}
