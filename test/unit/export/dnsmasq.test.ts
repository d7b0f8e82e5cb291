import type { NetworkInterfaceInfo } from 'node:os';
import { describe, expect, it } from 'vitest';
import {
  detectNetwork,
  dnsmasqValue,
  fullDhcpSnippet,
  type DnsmasqInput,
  proxyDhcpSnippet,
} from '../../../electron/pipeline/export/dnsmasq.ts';
import { loaderRoutes } from '../../../electron/pipeline/export/tftp.ts';

function ipv4(address: string, prefix: number, internal = false): NetworkInterfaceInfo {
  return { address, netmask: '', family: 'IPv4', mac: '00:00:00:00:00:00', internal, cidr: `${address}/${prefix}` };
}

describe('detectNetwork', () => {
  it('takes the first real interface with an IPv4 address, skipping loopback, link-local and container bridges', () => {
    const found = detectNetwork({
      lo: [ipv4('127.0.0.1', 8, true)],
      docker0: [ipv4('172.17.0.1', 16)],
      eno1: [ipv4('169.254.3.4', 16), ipv4('10.1.2.77', 20)],
      wlan0: [ipv4('192.168.1.5', 24)],
    });
    expect(found).toEqual({
      iface: 'eno1',
      address: '10.1.2.77',
      network: '10.1.0.0',
      netmask: '255.255.240.0',
      prefix: 20,
    });
  });

  it('falls back to a virtual interface, and finds nothing without IPv4', () => {
    expect(detectNetwork({ docker0: [ipv4('172.17.0.1', 16)] })?.network).toBe('172.17.0.0');
    expect(detectNetwork({ lo: [ipv4('127.0.0.1', 8, true)] })).toBeUndefined();
  });
});

describe('the dnsmasq snippets', () => {
  const { routes } = loaderRoutes('x86_64-linux', new Set(['undionly.kpxe', 'snponly.efi', 'ipxe.efi']));
  const input: DnsmasqInput = {
    title: 'nixos-system-router',
    tftpRoot: '/srv/tftp',
    script: 'router/netboot.ipxe',
    loaders: routes,
    network: { iface: 'eth0', address: '192.168.7.20', network: '192.168.7.0', netmask: '255.255.255.0', prefix: 24 },
    proxyFile: '/srv/tftp/router/dnsmasq-proxy-dhcp.conf',
    fullFile: '/srv/tftp/router/dnsmasq-full-dhcp.conf',
  };

  it('proxy DHCP: the network, menu entries for plain PXE only, and the script with the server address for iPXE', () => {
    const lines = proxyDhcpSnippet(input).split('\n');
    expect(lines).toContain('dhcp-range=192.168.7.0,proxy,255.255.255.0');
    expect(lines).toContain('pxe-service=tag:!ipxe,x86PC,"Netboot Composer (BIOS)",undionly.kpxe');
    expect(lines).toContain('pxe-service=tag:!ipxe,BC_EFI,"Netboot Composer (UEFI)",snponly.efi');
    expect(lines).toContain('pxe-service=tag:!ipxe,x86-64_EFI,"Netboot Composer (UEFI)",snponly.efi');
    expect(lines).toContain('dhcp-boot=tag:ipxe,router/netboot.ipxe,,192.168.7.20');
    expect(lines).toContain('tftp-root=/srv/tftp');
  });

  it('full DHCP: a pool on the network, and a boot file per kind of client', () => {
    const lines = fullDhcpSnippet(input).split('\n');
    expect(lines).toContain('dhcp-range=192.168.7.100,192.168.7.199,255.255.255.0,12h');
    expect(lines).toContain('dhcp-boot=tag:ipxe,router/netboot.ipxe');
    expect(lines).toContain('dhcp-boot=tag:!ipxe,tag:bios,undionly.kpxe');
    expect(lines).toContain('dhcp-boot=tag:!ipxe,tag:efi-x86_64,snponly.efi');
    for (const arch of [
      'bios,option:client-arch,0',
      'efi-x86_64,option:client-arch,7',
      'efi-x86_64,option:client-arch,9',
    ])
      expect(lines).toContain(`dhcp-match=set:${arch}`);
  });

  it('fits the pool in a small network and marks the guesses when no network was found', () => {
    const small = { ...input.network!, network: '10.0.0.64', netmask: '255.255.255.240', prefix: 28 };
    expect(fullDhcpSnippet({ ...input, network: small })).toContain(
      'dhcp-range=10.0.0.72,10.0.0.78,255.255.255.240,12h',
    );
    const guessed = proxyDhcpSnippet({ ...input, network: undefined });
    expect(guessed).toMatch(
      /# CHANGE: .*no network was found on this machine, so this is a placeholder.*\ndhcp-range=192\.168\.1\.0,proxy/,
    );
  });

  it('offers ipxe.efi to UEFI when snponly.efi is missing', () => {
    const uefi = loaderRoutes('x86_64-linux', new Set(['ipxe.efi'])).routes.find((r) => r.label === 'UEFI');
    expect(uefi?.file).toBe('ipxe.efi');
  });

  it('quotes values with characters dnsmasq reads specially', () => {
    expect(dnsmasqValue('/srv/tftp')).toBe('/srv/tftp');
    expect(dnsmasqValue('/srv/my tftp,#1 "x"')).toBe('"/srv/my tftp,#1 \\"x\\""');
  });
});
