/**
 * `serve` on a private network (a namespace of the test's own: a bridge,
 * taps for QEMU machines, a veth for a router's DHCP server; see
 * test/helpers/serve-net.ts), with the real dnsmasq, HTTP server and QEMU:
 *
 * - next to a router (proxy DHCP), a BIOS machine (iPXE in its card: HTTP at
 *   once) and a UEFI one (OVMF's own PXE: snponly.efi over TFTP, then HTTP)
 *   boot at the same time to the demo's marker; the client table shows both,
 *   their firmware, state and bytes; Stop leaves no process;
 * - full DHCP on an empty link, two systems behind the menu: the machine
 *   takes the second, the menu's default after its timeout;
 * - refused: full DHCP beside a router, a port in use, bad input;
 * - the server's parent killed with SIGKILL: no dnsmasq of ours is left;
 * - HTTP ranges, refusals, a rebuild while serving; the link going down.
 */
import { execFile } from 'node:child_process';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_MARKER } from '../../electron/pipeline/media/markers.ts';
import { type HttpEvent, startHttp } from '../../electron/pipeline/serve/http.ts';
import { releaseSystems, snapshotSystems } from '../../electron/pipeline/serve/snapshot.ts';
import { CLI, runCli, tempDir } from '../helpers/fixtures.ts';
import { netnsProblem } from '../helpers/netns.ts';
import {
  bootMachine,
  clientTable,
  makePrivateNet,
  type PrivateNet,
  processesWith,
  ROUTER,
  SERVER,
  type ServeRun,
  startServe,
} from '../helpers/serve-net.ts';

const problem = netnsProblem();
const MARKER = new RegExp(`${DEMO_MARKER}, \\d+ store paths present and verified`);
const LONG = 420_000;

let demo: string;
let second: string;
let cache: string;
let net: PrivateNet;

beforeAll(async () => {
  if (problem) return;
  cache = await tempDir();
  demo = await tempDir();
  second = await tempDir();
  expect((await runCli(['build', '--demo', '--out', demo, '--cache', cache, '--json'])).code).toBe(0);
  const variant = ['build', '--demo', '--demo-stage1', 'systemd-script', '--out', second, '--cache', cache, '--json'];
  expect((await runCli(variant)).code).toBe(0);
  net = await makePrivateNet(3);
}, LONG);

/** Every server a test started: stopped after it, whatever it asserted. */
const runs: ServeRun[] = [];
afterEach(async () => {
  for (const run of runs.splice(0)) await run.stop();
});

afterAll(async () => {
  if (net) await net.destroy();
});

/** Our dnsmasq and its watchdog, found by the scratch folder named for the serving process. */
function ourDnsmasq(pid: number): string[] {
  return processesWith(`netboot-composer-serve-${pid}-`);
}

/** The CLI run to its end inside the namespace. */
async function cliIn(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)('ip', [
      'netns',
      'exec',
      net.name,
      process.execPath,
      CLI,
      ...args,
    ]);
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

describe.skipIf(problem !== undefined)(`serve${problem ? ` (${problem})` : ''}`, () => {
  it(
    'next to a router: a BIOS and a UEFI machine boot at the same time, the table shows both, Stop leaves nothing',
    async () => {
      await net.startRouter();
      try {
        const run = startServe(net, ['--dir', demo, '--interface', 'br0']);
        runs.push(run);
        const serving = await run.waitFor((e) => e.event === 'serving');
        expect(serving).toMatchObject({
          mode: 'proxy',
          iface: 'br0',
          address: SERVER,
          url: `http://${SERVER}:8080/boot.ipxe`,
        });
        const pid = run.child.pid!;
        expect(ourDnsmasq(pid).some((line) => line.includes('dnsmasq'))).toBe(true);
        const [bios, uefi] = await Promise.all([
          bootMachine(net, { firmware: 'bios', tap: 0, mac: '52:54:00:13:00:01' }, MARKER),
          bootMachine(net, { firmware: 'uefi', tap: 1, mac: '52:54:00:13:00:02', rom: '' }, MARKER),
        ]);
        expect(bios.console, bios.console.slice(-2000)).toMatch(MARKER);
        expect(uefi.console, uefi.console.slice(-2000)).toMatch(MARKER);
        expect(uefi.console).toContain('snponly.efi');

        const table = clientTable(run.events);
        const b = table.get('52:54:00:13:00:01')!;
        const u = table.get('52:54:00:13:00:02')!;
        expect(b).toMatchObject({ firmware: 'BIOS', state: 'booting', system: 1 });
        expect(u).toMatchObject({ firmware: 'UEFI x86_64', state: 'booting', system: 1 });
        // The router handed out the addresses (proxy DHCP hands out none).
        for (const client of [b, u]) {
          expect(client.ip).toMatch(/^10\.77\.0\.(5\d|60)$/);
          const store = client.files.find((f) => f.name === 'nix-store')!;
          expect(store).toMatchObject({ done: true, via: 'HTTP' });
          expect(store.bytes).toBe(store.total);
          expect(store.speed).toBeGreaterThan(0);
        }
        expect(u.files.find((f) => f.name === 'snponly.efi')).toMatchObject({ via: 'TFTP', done: true });
        expect(b.files.some((f) => f.via === 'TFTP')).toBe(false);

        // Stop: every server process ends, the scratch folder goes.
        run.child.kill('SIGTERM');
        await run.exited;
        expect(run.events.at(-1)).toMatchObject({ event: 'stopped' });
        expect(ourDnsmasq(pid)).toEqual([]);
      } finally {
        await net.stopRouter();
      }
    },
    LONG,
  );

  it(
    'full DHCP on an empty link, two systems behind the menu: the machine takes the default, the second',
    async () => {
      const run = startServe(net, [
        '--dir',
        demo,
        '--dir',
        second,
        '--interface',
        'br0',
        '--dhcp-range',
        '10.77.0.100,10.77.0.120',
        '--menu-default',
        '2',
        '--menu-timeout',
        '2',
      ]);
      runs.push(run);
      const serving = await run.waitFor((e) => e.event === 'serving');
      expect(serving).toMatchObject({ mode: 'full', range: { start: '10.77.0.100', end: '10.77.0.120' } });
      expect((serving.systems as unknown[]).length).toBe(2);
      const bios = await bootMachine(net, { firmware: 'bios', tap: 2, mac: '52:54:00:13:00:03' }, MARKER);
      expect(bios.console, bios.console.slice(-2000)).toMatch(MARKER);
      const client = clientTable(run.events).get('52:54:00:13:00:03')!;
      expect(client.ip).toMatch(/^10\.77\.0\.1[0-2]\d$/);
      expect(client).toMatchObject({ system: 2, state: 'booting' });
      run.child.kill('SIGTERM');
      await run.exited;
    },
    LONG,
  );

  it('refuses full DHCP where a DHCP server already answers, in one sentence', async () => {
    await net.startRouter();
    try {
      const result = await cliIn([
        'serve',
        '--dir',
        demo,
        '--interface',
        'br0',
        '--dhcp-range',
        '10.77.0.100,10.77.0.120',
      ]);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(
        `Another DHCP server (${ROUTER}) already answers on br0, so full DHCP is refused`,
      );
    } finally {
      await net.stopRouter();
    }
  }, 60_000);

  it('refuses a port in use: DHCP (another dnsmasq on the link), and HTTP', async () => {
    const dir = await tempDir();
    net.run(
      // Bound to every address (no --bind-interfaces): its socket on port 67 is not shared.
      `dnsmasq --conf-file=/dev/null --port=0 --interface=br0 --dhcp-range=10.77.0.200,10.77.0.210,1h --dhcp-leasefile=${dir}/leases --pid-file=${dir}/pid`,
    );
    try {
      const dhcp = await cliIn(['serve', '--dir', demo, '--interface', 'br0']);
      expect(dhcp.code).toBe(1);
      expect(dhcp.stderr).toMatch(/^error: Another DHCP server on this machine already uses port 67 \(.*\); stop it/m);
    } finally {
      net.run(`kill $(cat ${dir}/pid)`);
    }
    const web = startServe(net, ['--dir', demo, '--interface', 'br0', '--http-port', '8099']);
    runs.push(web);
    await web.waitFor((e) => e.event === 'serving');
    const second = await cliIn(['serve', '--dir', demo, '--interface', 'br0', '--http-port', '8099']);
    expect(second.code).toBe(1);
    expect(second.stderr).toContain(`Port 8099 on ${SERVER} is in use by another program`);
    web.child.kill('SIGTERM');
    expect(await web.exited).toBe(143);
  }, 60_000);

  it('refuses bad input in one sentence, exit 2 or 1', async () => {
    const cases: [string[], number, string][] = [
      [['--interface', 'br0'], 2, 'Give the boot folder to serve with --dir'],
      [['--dir', demo], 2, 'Give the interface the machines are on with --interface NAME (here: br0 (10.77.0.1)'],
      [['--dir', demo, '--interface', 'eth9'], 1, 'There is no network interface "eth9"'],
      [['--dir', demo, '--interface', 'br0', '--dhcp-range', '10.77.1.5,10.77.1.9'], 1, "is not inside br0's network"],
      [
        ['--dir', demo, '--interface', 'br0', '--dhcp-range', '10.77.0.1,10.77.0.9'],
        1,
        "holds this machine's own address",
      ],
      [['--dir', await tempDir(), '--interface', 'br0'], 1, 'is not a boot folder Netboot Composer made'],
      [['--dir', demo, '--interface', 'br0', '--assign', 'nonsense'], 2, '--assign takes MAC=N'],
      [
        ['--dir', demo, '--interface', 'br0', '--assign', '52:54:00:00:00:01=3'],
        1,
        'is assigned system 3, but 1 are served',
      ],
    ];
    for (const [args, code, text] of cases) {
      const result = await cliIn(['serve', ...args]);
      expect(result.stderr, args.join(' ')).toContain(text);
      expect(result.code, args.join(' ')).toBe(code);
    }
    // Not root: one sentence, before anything is opened. A user namespace with no
    // uid map makes the CLI's uid 65534 while it can still read its own files:
    // dropping to nobody with setpriv failed on a fresh machine, where the
    // clone sits in /root (0700) and nobody cannot even load the CLI.
    const user = await promisify(execFile)('unshare', [
      '--user',
      process.execPath,
      CLI,
      'serve',
      '--dir',
      demo,
      '--interface',
      'lo',
    ]).catch((error: { code: number; stderr: string }) => error);
    expect(user).toMatchObject({
      code: 1,
      stderr:
        'error: Serving needs the DHCP and TFTP ports (67, 69, 4011), which only root may open: run it with sudo.\n',
    });
  }, 60_000);

  it('dies with its parent: SIGKILL leaves no dnsmasq of ours', async () => {
    const run = startServe(net, ['--dir', demo, '--interface', 'br0']);
    runs.push(run);
    await run.waitFor((e) => e.event === 'serving');
    const pid = run.child.pid!;
    expect(ourDnsmasq(pid).length).toBeGreaterThan(0);
    run.child.kill('SIGKILL');
    await run.exited;
    let left = ourDnsmasq(pid);
    for (let i = 0; i < 50 && left.length > 0; i++) {
      await new Promise((r) => setTimeout(r, 200));
      left = ourDnsmasq(pid);
    }
    expect(left).toEqual([]);
  }, 60_000);

  it('HTTP: ranges and HEAD, nothing outside the served set, a folder rebuilt while served changes nothing until reload', async () => {
    const folder = await tempDir();
    expect((await runCli(['build', '--demo', '--out', folder, '--cache', cache, '--json'])).code).toBe(0);
    const oldScript = await readFile(join(folder, 'netboot.ipxe'));
    const oldInitrd = await readFile(join(folder, 'initrd'));
    let systems = await snapshotSystems([folder]);
    const events: HttpEvent[] = [];
    const menu = { defaultIndex: 1, timeoutSeconds: 10 };
    const { server, port } = await startHttp(
      '127.0.0.1',
      0,
      () => ({ systems, assignments: new Map(), menu, base: 'http://127.0.0.1' }),
      (e) => events.push(e),
    );
    const url = (path: string): string => `http://127.0.0.1:${port}${path}`;
    try {
      const part = await fetch(url('/1/initrd'), { headers: { Range: 'bytes=100-199' } });
      expect(part.status).toBe(206);
      expect(part.headers.get('content-range')).toBe(`bytes 100-199/${oldInitrd.length}`);
      expect(Buffer.from(await part.arrayBuffer())).toEqual(oldInitrd.subarray(100, 200));
      const head = await fetch(url('/1/nix-store'), { method: 'HEAD' });
      expect(head.status).toBe(200);
      expect(Number(head.headers.get('content-length'))).toBe((await stat(join(folder, 'nix-store'))).size);
      for (const path of [
        '/1/.netboot-composer.json',
        '/1/..%2f..%2fetc%2fpasswd',
        '/2/bzImage',
        '/etc/passwd',
        '/1/',
      ]) {
        expect((await fetch(url(path))).status, path).toBe(404);
      }
      expect(events.filter((e) => e.kind === 'refused').length).toBe(5);

      // Another system built into the same folder while it is served: the old set is still what is sent.
      const variant = ['build', '--demo', '--demo-stage1', 'systemd-script', '--out', folder, '--cache', cache];
      expect((await runCli([...variant, '--json'])).code).toBe(0);
      expect(await readFile(join(folder, 'netboot.ipxe'))).not.toEqual(oldScript);
      expect(Buffer.from(await (await fetch(url('/1/netboot.ipxe'))).arrayBuffer())).toEqual(oldScript);
      expect(Buffer.from(await (await fetch(url('/1/initrd'))).arrayBuffer())).toEqual(oldInitrd);
      // Reloaded: the new set, whole.
      await releaseSystems(systems);
      systems = await snapshotSystems([folder]);
      expect(Buffer.from(await (await fetch(url('/1/netboot.ipxe'))).arrayBuffer())).toEqual(
        await readFile(join(folder, 'netboot.ipxe')),
      );
      expect(Buffer.from(await (await fetch(url('/1/initrd'))).arrayBuffer())).toEqual(
        await readFile(join(folder, 'initrd')),
      );
    } finally {
      server.closeAllConnections();
      server.close();
      await releaseSystems(systems);
    }
  }, 120_000);

  it('says when the interface goes down while serving, and when it is back', async () => {
    const run = startServe(net, ['--dir', demo, '--interface', 'br0']);
    runs.push(run);
    await run.waitFor((e) => e.event === 'serving');
    net.run('ip link set br0 down');
    try {
      await run.waitFor(
        (e) => e.event === 'notice' && String(e.message).startsWith('br0 went down or lost 10.77.0.1'),
        15_000,
      );
    } finally {
      net.run('ip link set br0 up');
    }
    await run.waitFor((e) => e.event === 'notice' && String(e.message).startsWith('br0 is up again'), 30_000);
  }, 60_000);
});
