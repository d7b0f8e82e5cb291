/**
 * Netbooting on a private network, as the exports' instructions say: a
 * network namespace with a bridge and a tap for QEMU (nothing reaches the
 * host's network), dnsmasq with an export's configuration, optionally a
 * router's DHCP server and a web server. Shared by the e2e tests that boot
 * that way (dnsmasq-boot, initrd-length-boot).
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { copyFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'vitest';
import { findUefiFiles } from '../../electron/pipeline/boot/firmware.ts';
import { DEMO_MARKER } from '../../electron/pipeline/media/markers.ts';
import { exportTftp } from '../../electron/pipeline/export/tftp.ts';
import { tempDir } from './fixtures.ts';

/** The private network: dnsmasq (and the web server) at .1, a router's DHCP at .2. */
export const NET = { iface: 'br0', address: '10.77.0.1', network: '10.77.0.0', netmask: '255.255.255.0', prefix: 24 };

/** Whether this machine lets a test make a network namespace with a bridge and a tap (root, CAP_NET_ADMIN, /dev/net/tun). */
export function netnsProblem(): string | undefined {
  const probe = spawnSync(
    'unshare',
    ['--net', 'sh', '-c', 'ip link add br0 type bridge && ip tuntap add dev tap0 mode tap'],
    { encoding: 'utf8' },
  );
  return probe.status === 0 ? undefined : `no private network namespace here: ${probe.stderr.trim()}`;
}
export interface NetBoot {
  firmware: 'bios' | 'uefi';
  /** The NIC's option ROM: undefined for QEMU's (iPXE), '' for none (the firmware's own PXE). */
  rom?: string | undefined;
  /** dnsmasq's main configuration, which includes a snippet. */
  config: string;
  /** Also run a router's DHCP server (for proxy DHCP), a web server for this folder. */
  router?: boolean;
  webRoot?: string;
}

/** Boot the demo on the private network; returns the serial console and dnsmasq's log. */
export async function netboot(boot: NetBoot): Promise<{ console: string; dnsmasq: string }> {
  const dir = await tempDir();
  const main = join(dir, 'dnsmasq.conf');
  await writeFile(
    main,
    `${boot.config}\ninterface=br0\nbind-interfaces\nuser=root\ndhcp-leasefile=${dir}/leases\npid-file=\n`,
  );
  // UEFI: OVMF with its own copy of the variables. BIOS: SeaBIOS copies its
  // screen (and iPXE's) to the serial console (port 0x3f8), for the report.
  // (OVMF 2025 netboots only with a random-number device.)
  const uefi = await findUefiFiles();
  const firmware =
    boot.firmware === 'uefi'
      ? `-drive if=pflash,format=raw,unit=0,readonly=on,file=${uefi.code} -drive if=pflash,format=raw,unit=1,file=${dir}/vars.fd -device virtio-rng-pci`
      : `-fw_cfg name=etc/sercon-port,file=${dir}/sercon-port`;
  if (boot.firmware === 'uefi') await copyFile(uefi.vars, join(dir, 'vars.fd'));
  else await writeFile(join(dir, 'sercon-port'), Buffer.from([0xf8, 0x03]));
  const rom = boot.rom === undefined ? '' : `,romfile=${boot.rom}`;
  const server = `const http = require('node:http'), fs = require('node:fs');
    http.createServer((req, res) => fs.createReadStream(process.argv[1] + decodeURIComponent(req.url))
      .on('error', () => { res.statusCode = 404; res.end(); }).pipe(res)).listen(8080, '${NET.address}');`;
  const script = `
set -e
pids=
# Wait for the servers to end: the test then checks that nothing of this boot is left.
trap 'kill $pids 2>/dev/null || true; wait' EXIT
ip link set lo up
ip link add br0 type bridge
ip tuntap add dev tap0 mode tap
ip link set tap0 master br0
ip addr add ${NET.address}/${NET.prefix} dev br0
ip link set br0 up
ip link set tap0 up
${
  boot.router
    ? `ip link add veth0 type veth peer name veth1
ip link set veth0 master br0
ip addr add 10.77.0.2/24 dev veth1
ip link set veth0 up
ip link set veth1 up
dnsmasq --no-daemon --conf-file=/dev/null --port=0 --interface=veth1 --bind-interfaces --dhcp-range=10.77.0.50,10.77.0.60,1h --dhcp-leasefile=${dir}/router-leases --pid-file= --user=root > ${dir}/router.log 2>&1 &
pids="$pids $!"`
    : ''
}
${boot.webRoot ? `${process.execPath} -e "${server.replace(/"/g, '\\"')}" ${boot.webRoot} &\npids="$pids $!"` : ''}
dnsmasq --no-daemon --conf-file=${main} > ${dir}/dnsmasq.log 2>&1 &
pids="$pids $!"
sleep 1
timeout 180 qemu-system-x86_64 -machine pc -accel tcg -m 512 -smp 1 -nodefaults -display none \\
  -serial file:${dir}/console.log -monitor none -no-reboot ${firmware} \\
  -netdev tap,id=n0,ifname=tap0,script=no,downscript=no \\
  -device virtio-net-pci,netdev=n0,bootindex=1${rom} || true
`;
  await writeFile(join(dir, 'run.sh'), script);
  // QEMU stops itself (the demo powers off, or `timeout`); the script's trap then stops the servers.
  await new Promise<void>((resolve, reject) => {
    const child = spawn('unshare', ['--net', '--fork', 'sh', join(dir, 'run.sh')], { stdio: 'ignore' });
    child.on('error', reject);
    child.on('exit', () => resolve());
  });
  const read = (name: string): Promise<string> => readFile(join(dir, name), 'latin1').catch(() => '');
  const result = { console: await read('console.log'), dnsmasq: await read('dnsmasq.log') };
  // Nothing of this boot is left running.
  const left = execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' })
    .split('\n')
    .filter((line) => line.includes(dir) || (boot.webRoot !== undefined && line.includes(boot.webRoot)));
  expect(left).toEqual([]);
  return result;
}

export function expectDemoBooted(result: { console: string; dnsmasq: string }): void {
  const why = `console:\n${result.console.slice(-3000)}\ndnsmasq:\n${result.dnsmasq.slice(-3000)}`;
  expect(result.console, why).toMatch(new RegExp(`${DEMO_MARKER}, \\d+ store paths present and verified`));
}

/**
 * The boot folder `dir` exported for TFTP (subfolder `demo`) and booted by
 * UEFI firmware with no iPXE of its own, next to a router's DHCP: the
 * export's proxy-DHCP snippet sends it to snponly.efi, which loads the script.
 */
export async function netbootTftpExportUnderUefi(dir: string): Promise<{ console: string; dnsmasq: string }> {
  const root = await tempDir();
  await exportTftp(dir, { dir: root, subdir: 'demo' }, {}, () => NET);
  return netboot({
    firmware: 'uefi',
    rom: '',
    config: `conf-file=${join(root, 'demo', 'dnsmasq-proxy-dhcp.conf')}`,
    router: true,
  });
}
