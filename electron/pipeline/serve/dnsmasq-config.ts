/**
 * The configuration of the dnsmasq we run: DHCP (proxy by default, or full
 * with a range) on one interface, and TFTP serving only the iPXE loaders.
 * Plain PXE firmware gets its loader by its architecture (DHCP option 93:
 * BIOS, x86_64 UEFI, and arm64 UEFI (11) when an aarch64 system is served);
 * iPXE (option 175, user class iPXE) gets the HTTP entry script instead, so
 * the chainload does not loop. Written into our private folder; the system's
 * dnsmasq and its configuration are never touched.
 */

export interface DnsmasqServeConfig {
  iface: string;
  /** This machine's address on the interface, and its network. */
  address: string;
  network: string;
  netmask: string;
  /** Full DHCP: the addresses to hand out. Absent: proxy DHCP. */
  range?: { start: string; end: string } | undefined;
  /** The folder of the loaders (our private one). */
  tftpRoot: string;
  /** Which loaders are there. */
  loaders: { bios?: string | undefined; uefi?: string | undefined; arm64?: string | undefined };
  /** What iPXE is sent to: http://ADDRESS:PORT/boot.ipxe. */
  entryUrl: string;
  leaseFile: string;
}

/** DHCP option 93 (RFC 4578), as the client table shows it. */
export function firmwareName(arch: number): string {
  switch (arch) {
    case 0:
      return 'BIOS';
    case 6:
      return 'UEFI x86';
    case 7:
    case 9:
      return 'UEFI x86_64';
    case 10:
      return 'UEFI arm32';
    case 11:
      return 'UEFI arm64';
    case 16:
      return 'UEFI x86_64 HTTP';
    default:
      return `arch ${arch}`;
  }
}

/** The whole configuration file. */
export function dnsmasqConfig(c: DnsmasqServeConfig): string {
  const lines = [
    '# Made by Netboot Composer for one serving session; removed when it stops.',
    'port=0',
    'no-resolv',
    'no-hosts',
    `interface=${c.iface}`,
    'bind-interfaces',
    'log-dhcp',
    `dhcp-leasefile=${c.leaseFile}`,
    c.range
      ? `dhcp-range=${c.range.start},${c.range.end},${c.netmask},1h`
      : `dhcp-range=${c.network},proxy,${c.netmask}`,
    // Ours is the only DHCP server on a link with a range: answer at once.
    ...(c.range ? ['dhcp-authoritative'] : []),
    'enable-tftp',
    `tftp-root=${c.tftpRoot}`,
    'dhcp-match=set:ipxe,175',
    'dhcp-userclass=set:ipxe,iPXE',
    'dhcp-match=set:bios,option:client-arch,0',
    'dhcp-match=set:efi64,option:client-arch,7',
    'dhcp-match=set:efi64,option:client-arch,9',
    'dhcp-match=set:efiarm64,option:client-arch,11',
  ];
  if (c.range) {
    lines.push(`dhcp-boot=tag:ipxe,${c.entryUrl}`);
    if (c.loaders.bios) lines.push(`dhcp-boot=tag:!ipxe,tag:bios,${c.loaders.bios}`);
    if (c.loaders.uefi) lines.push(`dhcp-boot=tag:!ipxe,tag:efi64,${c.loaders.uefi}`);
    if (c.loaders.arm64) lines.push(`dhcp-boot=tag:!ipxe,tag:efiarm64,${c.loaders.arm64}`);
  } else {
    if (c.loaders.bios) lines.push(`pxe-service=tag:!ipxe,x86PC,"Netboot Composer (BIOS)",${c.loaders.bios}`);
    if (c.loaders.uefi) {
      for (const csa of ['BC_EFI', 'x86-64_EFI']) {
        lines.push(`pxe-service=tag:!ipxe,${csa},"Netboot Composer (UEFI)",${c.loaders.uefi}`);
      }
    }
    if (c.loaders.arm64) {
      lines.push(`pxe-service=tag:!ipxe,ARM64_EFI,"Netboot Composer (UEFI arm64)",${c.loaders.arm64}`);
    }
    lines.push(`dhcp-boot=tag:ipxe,${c.entryUrl},,${c.address}`);
  }
  return `${lines.join('\n')}\n`;
}
