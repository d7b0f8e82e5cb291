/**
 * Serving aarch64 systems beside x86_64 ones: arm64 UEFI firmware (DHCP
 * option 93 = 11) gets Debian's ipxe-arm64.efi over TFTP, in a dnsmasq
 * configuration dnsmasq itself accepts (`dnsmasq --test`, the real binary),
 * and each machine is offered only the systems built for its architecture
 * (iPXE's ${buildarch}). No aarch64 machine is booted here.
 */
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { dnsmasqConfig } from '../../electron/pipeline/serve/dnsmasq-config.ts';
import { startHttp } from '../../electron/pipeline/serve/http.ts';
import { entryScript, menuScript, selectScript, systemsFor } from '../../electron/pipeline/serve/scripts.ts';
import type { ServedSystem } from '../../electron/pipeline/serve/snapshot.ts';
import { tempDir } from '../helpers/fixtures.ts';

const run = promisify(execFile);

const system = (index: number, name: string, arch: string): ServedSystem => ({
  index,
  dir: `/boot/${index}`,
  name,
  version: '25.11',
  arch,
  ramBytes: 600 * 2 ** 20,
  script: Buffer.from('#!ipxe\n'),
  files: new Map(),
  bootFiles: ['bzImage', 'initrd'],
});

const BASE = {
  iface: 'br0',
  address: '10.0.0.1',
  network: '10.0.0.0',
  netmask: '255.255.255.0',
  tftpRoot: '/tmp/s/tftp',
  loaders: { bios: 'undionly.kpxe', uefi: 'snponly.efi', arm64: 'ipxe-arm64.efi' },
  entryUrl: 'http://10.0.0.1:8080/boot.ipxe',
  leaseFile: '/tmp/s/leases',
};

async function dnsmasqTest(config: string): Promise<string> {
  const file = join(await tempDir(), 'dnsmasq.conf');
  await writeFile(file, config);
  const { stdout, stderr } = await run('dnsmasq', ['--test', `--conf-file=${file}`]);
  return `${stdout}${stderr}`;
}

describe('serve: arm64 UEFI clients', () => {
  it('proxy DHCP offers ipxe-arm64.efi to arch 11, and dnsmasq accepts the configuration', async () => {
    const text = dnsmasqConfig(BASE);
    const lines = text.split('\n');
    expect(lines).toContain('dhcp-match=set:efiarm64,option:client-arch,11');
    expect(lines).toContain('pxe-service=tag:!ipxe,ARM64_EFI,"Netboot Composer (UEFI arm64)",ipxe-arm64.efi');
    // x86 firmware keeps its own loaders.
    expect(lines).toContain('pxe-service=tag:!ipxe,x86-64_EFI,"Netboot Composer (UEFI)",snponly.efi');
    expect(await dnsmasqTest(text)).toContain('syntax check OK');
  });

  it('full DHCP boots arch 11 into ipxe-arm64.efi, and dnsmasq accepts the configuration', async () => {
    const text = dnsmasqConfig({ ...BASE, range: { start: '10.0.0.100', end: '10.0.0.120' } });
    const lines = text.split('\n');
    expect(lines).toContain('dhcp-match=set:efiarm64,option:client-arch,11');
    expect(lines).toContain('dhcp-boot=tag:!ipxe,tag:efiarm64,ipxe-arm64.efi');
    expect(lines).toContain('dhcp-boot=tag:!ipxe,tag:efi64,snponly.efi');
    expect(await dnsmasqTest(text)).toContain('syntax check OK');
  });

  it('offers no arm64 loader when no aarch64 system is served', () => {
    const text = dnsmasqConfig({ ...BASE, loaders: { bios: 'undionly.kpxe', uefi: 'snponly.efi' } });
    expect(text).not.toContain('ARM64_EFI');
    expect(text).not.toContain('ipxe-arm64.efi');
  });

  it('routes a mixed set by iPXE’s architecture: x86 machines never get aarch64 systems, nor the reverse', () => {
    const systems = [
      system(1, 'web', 'x86_64-linux'),
      system(2, 'pi', 'aarch64-linux'),
      system(3, 'db', 'x86_64-linux'),
    ];
    const menu = { defaultIndex: 2, timeoutSeconds: 5 };
    expect(entryScript('http://10.0.0.1:8080')).toBe(
      '#!ipxe\nchain http://10.0.0.1:8080/select.ipxe?mac=${netX/mac:hexhyp}&arch=${buildarch}\n',
    );
    // x86_64 UEFI iPXE (x86_64) and BIOS undionly.kpxe (i386): a menu of the two x86 systems.
    for (const arch of ['x86_64', 'i386']) {
      const text = selectScript(systems, new Map(), '52:54:00:00:00:01', menu, arch);
      expect(text).toContain('item system1 1. web');
      expect(text).toContain('item system3 3. db');
      expect(text).not.toContain('system2');
      // The default (2, the aarch64 one) is not theirs: the first of theirs is.
      expect(text).toContain('choose --timeout 5000 --default system1 target || goto system1');
    }
    // arm64: its only system, straight away.
    expect(selectScript(systems, new Map(), '52:54:00:00:00:02', menu, 'arm64')).toBe('#!ipxe\nchain 2/netboot.ipxe\n');
    // An assignment to another architecture's system is not followed.
    const assigned = new Map([['52:54:00:00:00:03', 2]]);
    expect(selectScript(systems, assigned, '52:54:00:00:00:03', menu, 'x86_64')).not.toContain('chain 2/');
    // menu.ipxe asked with an architecture shows that architecture's systems only.
    expect(menuScript(systems, menu, 'arm64')).toContain('item system2 2. pi');
    expect(menuScript(systems, menu, 'arm64')).not.toContain('item system1');
    // Without an architecture (an older entry script): every system, as before.
    expect(menuScript(systems, menu)).toContain('item system2 2. pi');
    expect(systemsFor(systems, 'riscv64').map((s) => s.index)).toEqual([1, 2, 3]);
  });

  it('says so to a machine none of the served systems is built for', () => {
    const text = selectScript(
      [system(1, 'pi', 'aarch64-linux')],
      new Map(),
      undefined,
      { defaultIndex: 1, timeoutSeconds: 5 },
      'x86_64',
    );
    expect(text).toBe(
      '#!ipxe\necho Netboot Composer serves no system for this machine (iPXE x86_64); the systems served are for aarch64-linux.\nexit 1\n',
    );
  });

  it('the HTTP server answers select.ipxe and menu.ipxe by the arch the entry script sends', async () => {
    const systems = [system(1, 'web', 'x86_64-linux'), system(2, 'pi', 'aarch64-linux')];
    const { server } = await startHttp(
      '127.0.0.1',
      0,
      () => ({ systems, assignments: new Map(), menu: { defaultIndex: 1, timeoutSeconds: 5 }, base: '' }),
      () => undefined,
    );
    try {
      const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
      const get = async (path: string) => (await fetch(`${url}${path}`)).text();
      expect(await get('/select.ipxe?mac=52-54-00-00-00-01&arch=arm64')).toBe('#!ipxe\nchain 2/netboot.ipxe\n');
      expect(await get('/select.ipxe?mac=52-54-00-00-00-01&arch=i386')).toBe('#!ipxe\nchain 1/netboot.ipxe\n');
      expect(await get('/menu.ipxe?arch=x86_64')).not.toContain('system2');
      // Not a plain word: not followed, the whole menu.
      expect(await get('/select.ipxe?arch=%24%7Bx%7D')).toContain('item system2');
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
