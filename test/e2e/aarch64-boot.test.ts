/**
 * aarch64, proven by boots: the aarch64 demo (Debian's arm64 kernel and
 * static busybox, fetched into a private apt state, built on this x86_64
 * machine) netboots from its TFTP export under QEMU's aarch64 UEFI (AAVMF,
 * TCG, Debian 13's ipxe-arm64.efi chainloaded) and boots from its USB image
 * (EFI/BOOT/BOOTAA64.EFI, GRUB for arm64) to the demo's stage-2 marker. The
 * TFTP export's dnsmasq snippets pass `dnsmasq --test`, and route DHCP client
 * architecture 11 to the arm64 loader.
 *
 * One build, one boot per firmware path. The arm64 packages are kept in one
 * cache folder across runs (NETBOOT_COMPOSER_CACHE for the CLI runs), so a
 * run fetches them from Debian only the first time.
 */
import { execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_MARKER } from '../../electron/pipeline/media/markers.ts';
import { jsonEvents, qemuProcessesFor, runCli, STATE_DIR, tempDir } from '../helpers/fixtures.ts';

const BOOT_TIMEOUT = 400_000;
/** Shared by the runs of this file: the arm64 packages from Debian, fetched once. */
const ARM64_CACHE = join(STATE_DIR, 'aarch64-cache');
const ENV = { NETBOOT_COMPOSER_CACHE: ARM64_CACHE };

let boot: string;
let tftpRoot: string;
let image: string;
const times: string[] = [];

beforeAll(async () => {
  boot = await tempDir();
  const built = await runCli(
    ['build', '--demo', '--arch', 'aarch64-linux', '--out', boot, '--cache', ARM64_CACHE, '--json'],
    ENV,
  );
  expect(built.code, built.stderr).toBe(0);
  tftpRoot = await tempDir();
  const exported = await runCli(['export', '--from', boot, '--tftp', tftpRoot, '--subdir', 'arm', '--json'], ENV);
  expect(exported.code, exported.stderr).toBe(0);
  image = join(await tempDir(), 'arm demo.img');
  const made = await runCli(['export', '--from', boot, '--usb-image', image, '--json'], ENV);
  expect(made.code, made.stderr).toBe(0);
}, 10 * 60_000);

afterAll(() => {
  if (times.length > 0) console.log(`aarch64 boot times (TCG):\n  ${times.join('\n  ')}`);
});

/** `test-boot` through the CLI, as a user runs it: the result event and the console. */
async function testBoot(args: string[]): Promise<{ result: Record<string, unknown>; console: string; code: number }> {
  const { code, stdout } = await runCli(['test-boot', ...args, '--json'], ENV);
  const events = jsonEvents(stdout);
  const console = events
    .filter((e) => e.event === 'console')
    .map((e) => String(e.line))
    .join('\n');
  return { result: events.at(-1) ?? {}, console, code };
}

describe('the aarch64 demo', () => {
  it('is a toplevel for aarch64-linux whose kernel is an arm64 Image, packed into Image and netboot.ipxe', async () => {
    const record = JSON.parse(await readFile(join(boot, '.netboot-composer.json'), 'utf8')) as {
      files: Record<string, unknown>;
    };
    expect(Object.keys(record.files).sort()).toEqual(['Image', 'initrd', 'manifest', 'netboot.ipxe', 'nix-store']);
    const kernel = await readFile(join(boot, 'Image'));
    // The arm64 Image header: "ARM\x64" at 56, and a PE header for the EFI stub.
    expect(kernel.toString('latin1', 56, 60)).toBe('ARM\x64');
    expect(kernel.toString('latin1', 0, 2)).toBe('MZ');
    const script = await readFile(join(boot, 'netboot.ipxe'), 'utf8');
    expect(script).toMatch(/^kernel Image init=\/nix\/store\/\S+-nixos-system-demo-\S+\/init .*console=ttyAMA0/m);
    expect(script).toContain('(NixOS 25.11.19700101.demo, aarch64-linux)');
  });

  it('has a TFTP export with the arm64 iPXE and dnsmasq snippets that route client architecture 11 to it', async () => {
    const loader = await readFile(join(tftpRoot, 'ipxe-arm64.efi'));
    // A PE file for arm64 (machine 0xaa64).
    const pe = loader.readUInt32LE(0x3c);
    expect(loader.toString('latin1', pe, pe + 4)).toBe('PE\0\0');
    expect(loader.readUInt16LE(pe + 4)).toBe(0xaa64);
    for (const name of ['dnsmasq-proxy-dhcp.conf', 'dnsmasq-full-dhcp.conf']) {
      const file = join(tftpRoot, 'arm', name);
      expect(execFileSync('dnsmasq', ['--test', '-C', file], { encoding: 'utf8', stdio: 'pipe' })).toBe('');
      const text = await readFile(file, 'utf8');
      expect(text).toMatch(/^dhcp-match=set:efi-arm64,option:client-arch,11$/m);
      expect(text).toContain('arm/netboot.ipxe');
    }
    expect(await readFile(join(tftpRoot, 'arm', 'dnsmasq-proxy-dhcp.conf'), 'utf8')).toMatch(
      /^pxe-service=tag:!ipxe,ARM64_EFI,"Netboot Composer \(UEFI\)",ipxe-arm64\.efi$/m,
    );
    expect(await readFile(join(tftpRoot, 'arm', 'dnsmasq-full-dhcp.conf'), 'utf8')).toMatch(
      /^dhcp-boot=tag:!ipxe,tag:efi-arm64,ipxe-arm64\.efi$/m,
    );
  });

  it(
    'netboots from its TFTP export under QEMU’s aarch64 UEFI (AAVMF, iPXE for arm64) to the demo’s stage 2',
    async () => {
      const dir = join(tftpRoot, 'arm');
      const { result, console, code } = await testBoot(['--dir', dir]);
      expect(result, console).toMatchObject({ event: 'result', passed: true, firmware: 'uefi', accel: 'tcg' });
      expect(String(result.reason)).toContain(DEMO_MARKER);
      expect(code).toBe(0);
      expect(console).toMatch(/iPXE 1\.\d+/);
      expect(console).toContain('EFI stub: Booting Linux Kernel');
      expect(console).toContain('stage 1: Netboot Composer demo system demo');
      expect(qemuProcessesFor(dir)).toEqual([]);
      times.push(`netboot (TFTP, iPXE): ${Number(result.seconds).toFixed(1)} s`);
    },
    BOOT_TIMEOUT,
  );

  it(
    'boots from its USB image (EFI/BOOT/BOOTAA64.EFI, GRUB for arm64) to the demo’s stage 2',
    async () => {
      const listing = execFileSync('mdir', ['-/', '-b', '-i', `${image}@@1M`, '::/'], {
        encoding: 'utf8',
        env: { ...process.env, MTOOLS_SKIP_CHECK: '1' },
      });
      expect(listing).toContain('::/EFI/BOOT/BOOTAA64.EFI');
      expect(listing).not.toContain('BOOTX64.EFI');
      expect(listing).not.toMatch(/syslinux|ldlinux/i);
      // The image says it is for aarch64: no --arch needed.
      const { result, console, code } = await testBoot(['--usb-image', image]);
      expect(result, console).toMatchObject({ event: 'result', passed: true, firmware: 'uefi', accel: 'tcg' });
      expect(String(result.reason)).toContain(DEMO_MARKER);
      expect(code).toBe(0);
      expect(console).toMatch(/Welcome to GRUB!|Booting `nixos-system-/);
      expect(qemuProcessesFor(image)).toEqual([]);
      times.push(`USB image (GRUB arm64): ${Number(result.seconds).toFixed(1)} s`);
    },
    BOOT_TIMEOUT,
  );

  it('refuses BIOS, which aarch64 machines do not have, in one sentence', async () => {
    const { code, stderr } = await runCli(['test-boot', '--dir', boot, '--firmware', 'bios'], ENV);
    expect(code).not.toBe(0);
    expect(stderr).toContain('aarch64 machines boot through UEFI only; test-boot them with --firmware uefi.');
  });
});
