/**
 * The serve stage's pure parts: the iPXE scripts (entry, menu, per-MAC
 * choice), Range parsing, dnsmasq's configuration and failure sentences,
 * the DHCP probe's packets, and the client table fed with dnsmasq's real log
 * lines (copied from a run on the test network) and HTTP requests.
 */
import { describe, expect, it } from 'vitest';
import { ClientTable } from '../../electron/pipeline/serve/clients.ts';
import { discoverPacket, offerFrom } from '../../electron/pipeline/serve/dhcp-probe.ts';
import { dnsmasqConfig, firmwareName } from '../../electron/pipeline/serve/dnsmasq-config.ts';
import { dnsmasqFailure } from '../../electron/pipeline/serve/dnsmasq-run.ts';
import { parseRange } from '../../electron/pipeline/serve/http.ts';
import { entryScript, menuScript, normalMac, selectScript } from '../../electron/pipeline/serve/scripts.ts';
import { scriptFiles, scriptTitle, type ServedSystem } from '../../electron/pipeline/serve/snapshot.ts';

const system = (index: number, name: string): ServedSystem => ({
  index,
  dir: `/boot/${index}`,
  name,
  version: '25.11',
  arch: 'x86_64-linux',
  ramBytes: 600 * 2 ** 20,
  script: Buffer.from('#!ipxe\n'),
  files: new Map(),
  bootFiles: ['bzImage', 'initrd'],
});

describe('scripts', () => {
  const menu = { defaultIndex: 2, timeoutSeconds: 5 };
  const systems = [system(1, 'web'), system(2, 'db ${evil}\nchain http://x')];

  it('sends iPXE back with its MAC and architecture, by an absolute URL', () => {
    expect(entryScript('http://10.0.0.1:8080')).toBe(
      '#!ipxe\nchain http://10.0.0.1:8080/select.ipxe?mac=${netX/mac:hexhyp}&arch=${buildarch}\n',
    );
  });

  it('makes a menu: one item per system with name, version and RAM, the default after the timeout', () => {
    const text = menuScript(systems, menu);
    expect(text).toContain('item system1 1. web - NixOS 25.11, x86_64-linux - needs 600 MiB of RAM');
    // A name cannot add a line or an iPXE setting.
    expect(text).toContain('item system2 2. db  {evil} chain http://x - NixOS 25.11');
    expect(text).toContain('choose --timeout 5000 --default system2 target || goto system2');
    expect(text).toContain(':system2\nchain 2/netboot.ipxe');
  });

  it('answers a MAC with its assigned system, else the only one, else the menu', () => {
    const assigned = new Map([['52:54:00:00:00:01', 1]]);
    expect(selectScript(systems, assigned, '52:54:00:00:00:01', menu)).toBe('#!ipxe\nchain 1/netboot.ipxe\n');
    expect(selectScript(systems, assigned, '52:54:00:00:00:02', menu)).toContain('menu ');
    expect(selectScript([systems[0]!], new Map(), undefined, menu)).toBe('#!ipxe\nchain 1/netboot.ipxe\n');
    expect(normalMac('52-54-00-AA-bb-01')).toBe('52:54:00:aa:bb:01');
    expect(normalMac('52:54:00')).toBeUndefined();
  });

  it('reads a build’s script: its title and the files it loads', () => {
    const script = [
      '#!ipxe',
      '# nixos-system-demo-25.11 (NixOS 25.11.1, x86_64-linux), made by Netboot Composer.',
      'kernel bzImage init=/x initrd=initrd initrd=nix-store',
      'initrd initrd',
      'initrd --name nix-store http://h/d/nix-store',
      'initrd nix-store-1',
      'boot',
    ].join('\n');
    expect(scriptTitle(script)).toEqual({ name: 'nixos-system-demo-25.11', version: '25.11.1', arch: 'x86_64-linux' });
    expect(scriptFiles(script)).toEqual(['bzImage', 'initrd', 'nix-store', 'nix-store-1']);
  });
});

describe('HTTP ranges', () => {
  it('parses what iPXE and curl send, and refuses what cannot be satisfied', () => {
    expect(parseRange(undefined, 100)).toBeUndefined();
    expect(parseRange('bytes=0-9', 100)).toEqual({ start: 0, end: 9 });
    expect(parseRange('bytes=90-', 100)).toEqual({ start: 90, end: 99 });
    expect(parseRange('bytes=-10', 100)).toEqual({ start: 90, end: 99 });
    expect(parseRange('bytes=50-500', 100)).toEqual({ start: 50, end: 99 });
    expect(parseRange('bytes=100-', 100)).toBeNull();
    expect(parseRange('bytes=1-2,5-6', 100)).toBeUndefined();
  });
});

describe('dnsmasq', () => {
  const base = {
    iface: 'br0',
    address: '10.0.0.1',
    network: '10.0.0.0',
    netmask: '255.255.255.0',
    tftpRoot: '/tmp/s/tftp',
    loaders: { bios: 'undionly.kpxe', uefi: 'snponly.efi' },
    entryUrl: 'http://10.0.0.1:8080/boot.ipxe',
    leaseFile: '/tmp/s/leases',
  };

  it('proxy DHCP by default: loaders by option 93, iPXE to the HTTP entry, one interface, no DNS', () => {
    const text = dnsmasqConfig(base);
    for (const line of [
      'port=0',
      'interface=br0',
      'bind-interfaces',
      'dhcp-range=10.0.0.0,proxy,255.255.255.0',
      'pxe-service=tag:!ipxe,x86PC,"Netboot Composer (BIOS)",undionly.kpxe',
      'pxe-service=tag:!ipxe,x86-64_EFI,"Netboot Composer (UEFI)",snponly.efi',
      'dhcp-boot=tag:ipxe,http://10.0.0.1:8080/boot.ipxe,,10.0.0.1',
    ]) {
      expect(text.split('\n')).toContain(line);
    }
  });

  it('full DHCP with a range', () => {
    const text = dnsmasqConfig({ ...base, range: { start: '10.0.0.100', end: '10.0.0.120' } }).split('\n');
    expect(text).toContain('dhcp-range=10.0.0.100,10.0.0.120,255.255.255.0,1h');
    expect(text).toContain('dhcp-boot=tag:!ipxe,tag:efi64,snponly.efi');
    expect(text).toContain('dhcp-boot=tag:ipxe,http://10.0.0.1:8080/boot.ipxe');
  });

  it('says what went wrong in one sentence', () => {
    expect(dnsmasqFailure('dnsmasq: failed to bind DHCP server socket: Address in use', 'br0')).toMatch(
      /^Another DHCP server on this machine already uses port 67 .*; stop it/,
    );
    expect(dnsmasqFailure('dnsmasq: unknown interface eth7', 'eth7')).toMatch(/^The interface eth7 went away/);
    expect(firmwareName(0)).toBe('BIOS');
    expect(firmwareName(7)).toBe('UEFI x86_64');
    expect(firmwareName(11)).toBe('UEFI arm64');
  });
});

describe('the DHCP probe’s packets', () => {
  it('a DISCOVER asking for a broadcast answer, and an offer read back', () => {
    const xid = Buffer.from([1, 2, 3, 4]);
    const packet = discoverPacket(xid, Buffer.from([2, 0, 0, 0, 0, 1]));
    expect(packet.readUInt16BE(10)).toBe(0x8000);
    expect([...packet.subarray(240, 243)]).toEqual([53, 1, 1]);
    const offer = Buffer.from(packet);
    offer[0] = 2;
    Buffer.from([53, 1, 2, 54, 4, 10, 0, 0, 2, 255]).copy(offer, 240);
    expect(offerFrom(offer, xid)).toBe('10.0.0.2');
    expect(offerFrom(offer, Buffer.from([9, 9, 9, 9]))).toBeUndefined();
    expect(offerFrom(packet, xid)).toBeUndefined();
  });
});

describe('the client table', () => {
  it('follows a UEFI machine from DHCP through the loader and iPXE to the kernel', () => {
    let t = 1000;
    const table = new ClientTable(
      () => ['bzImage', 'initrd'],
      () => undefined,
      () => t,
    );
    // dnsmasq's own lines (proxy DHCP; the router gave the address).
    table.dnsmasqLine('dnsmasq-dhcp[42]: 1234 vendor class: PXEClient:Arch:00007:UNDI:003000');
    table.dnsmasqLine('dnsmasq-dhcp[42]: 1234 PXE(br0) 52:54:00:13:00:02 proxy');
    table.dnsmasqLine('dnsmasq-tftp[42]: sent /tmp/netboot-composer-serve-1-x/tftp/snponly.efi to 10.77.0.57');
    expect(table.list()[0]).toMatchObject({ mac: '52:54:00:13:00:02', firmware: 'UEFI x86_64', state: 'DHCP' });
    table.dnsmasqLine('dnsmasq-dhcp[42]: 99 user class: iPXE');
    table.dnsmasqLine('dnsmasq-dhcp[42]: 99 PXE(br0) 52:54:00:13:00:02 proxy');
    const http = { ip: '10.77.0.57', kind: 'script' as const, sent: 28, state: 'done' as const, status: 200 };
    table.http({ ...http, path: '/select.ipxe', mac: '52:54:00:13:00:02' });
    const file = { ip: '10.77.0.57', kind: 'file' as const, system: 1, status: 200 };
    table.http({ ...file, path: '/1/bzImage', file: 'bzImage', total: 100, sent: 0, state: 'started' });
    t += 1000;
    table.http({ ...file, path: '/1/bzImage', file: 'bzImage', total: 100, sent: 50, state: 'progress' });
    let client = table.list()[0]!;
    expect(client).toMatchObject({ ip: '10.77.0.57', state: 'downloading', system: 1 });
    expect(client.files.find((f) => f.name === 'snponly.efi')).toMatchObject({ via: 'TFTP', done: true });
    expect(client.files.find((f) => f.name === 'bzImage')).toMatchObject({ bytes: 50, total: 100, speed: 50 });
    table.http({ ...file, path: '/1/bzImage', file: 'bzImage', total: 100, sent: 100, state: 'done' });
    table.http({ ...file, path: '/1/initrd', file: 'initrd', total: 10, sent: 0, state: 'started' });
    table.http({ ...file, path: '/1/initrd', file: 'initrd', total: 10, sent: 10, state: 'done' });
    client = table.list()[0]!;
    expect(client.state).toBe('booting');
  });

  it('takes the address from a full DHCP server’s ACK', () => {
    const table = new ClientTable(
      () => [],
      () => undefined,
    );
    table.dnsmasqLine('dnsmasq-dhcp[7]: 55 vendor class: PXEClient:Arch:00000:UNDI:002001');
    table.dnsmasqLine('dnsmasq-dhcp[7]: 55 DHCPACK(br0) 10.77.0.101 52:54:00:13:00:03');
    expect(table.list()[0]).toMatchObject({ ip: '10.77.0.101', firmware: 'BIOS' });
  });
});
