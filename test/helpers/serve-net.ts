/**
 * A private network for the serve tests: a network namespace of its own
 * (named nbc13-PID-N), a bridge br0 at 10.77.0.1/24 with taps for QEMU
 * clients and a veth pair whose far end (10.77.0.2) can run a router's DHCP
 * server. Nothing reaches the host's network. Processes are started inside
 * with `ip netns exec`, and found again by the namespace's name or our
 * scratch folder's, never by a program's name alone.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { findUefiFiles } from '../../electron/pipeline/boot/firmware.ts';

// No vitest here: bench/serve.ts measures the README's figures with these too.
export const CLI = resolve(import.meta.dirname, '..', '..', 'electron', 'cli', 'netboot-composer.ts');
const tempDir = (): Promise<string> => mkdtemp(join(tmpdir(), 'nbc13-'));

export const SERVER = '10.77.0.1';
export const ROUTER = '10.77.0.2';

let counter = 0;

export interface PrivateNet {
  name: string;
  /** Run a command in the namespace (to its end). */
  run(command: string): string;
  /** Start the router's DHCP server (10.77.0.50-60) on the veth's far end; resolves once it answers. */
  startRouter(): Promise<void>;
  stopRouter(): Promise<void>;
  destroy(): Promise<void>;
}

/** Make the namespace with its bridge, `taps` taps and the veth pair. */
export async function makePrivateNet(taps: number): Promise<PrivateNet> {
  const name = `nbc13-${process.pid}-${counter++}`;
  const dir = await tempDir();
  const run = (command: string): string =>
    execFileSync('ip', ['netns', 'exec', name, 'sh', '-ec', command], { encoding: 'utf8' });
  // The router is a machine of its own: a second namespace at the veth's far end.
  const routerNs = `${name}-r`;
  execFileSync('ip', ['netns', 'add', name]);
  execFileSync('ip', ['netns', 'add', routerNs]);
  execFileSync('ip', ['-n', name, 'link', 'add', 'veth0', 'type', 'veth', 'peer', 'name', 'veth1', 'netns', routerNs]);
  run(`
ip link set lo up
ip link add br0 type bridge
ip link set br0 type bridge forward_delay 0
ip addr add ${SERVER}/24 dev br0
ip link set veth0 master br0
${Array.from({ length: taps }, (_, i) => `ip tuntap add dev tap${i} mode tap; ip link set tap${i} master br0; ip link set tap${i} up`).join('\n')}
ip link set veth0 up
ip link set br0 up
`);
  execFileSync('ip', [
    'netns',
    'exec',
    routerNs,
    'sh',
    '-ec',
    `ip link set lo up; ip addr add ${ROUTER}/24 dev veth1; ip link set veth1 up`,
  ]);
  // The bridge is up once a port has a link (the veth): wait for it.
  for (let i = 0; i < 50 && !run('cat /sys/class/net/br0/operstate').includes('up'); i++) {
    await new Promise((r) => setTimeout(r, 100));
  }
  let router: ChildProcess | undefined;
  const net: PrivateNet = {
    name,
    run,
    async startRouter() {
      router = spawn(
        'ip',
        [
          'netns',
          'exec',
          routerNs,
          'dnsmasq',
          '--keep-in-foreground',
          '--log-facility=-',
          '--conf-file=/dev/null',
          '--port=0',
          '--interface=veth1',
          '--bind-interfaces',
          '--dhcp-range=10.77.0.50,10.77.0.60,1h',
          `--dhcp-leasefile=${dir}/router-leases`,
          '--pid-file=',
          '--dhcp-authoritative',
        ],
        { stdio: ['ignore', 'ignore', 'pipe'] },
      );
      await new Promise<void>((resolve, reject) => {
        let text = '';
        router!.stderr!.on('data', (chunk: Buffer) => {
          text += chunk.toString();
          if (text.includes('started, version')) resolve();
        });
        router!.on('exit', () => reject(new Error(`the router's dnsmasq ended: ${text}`)));
      });
    },
    async stopRouter() {
      if (!router || router.exitCode !== null) return;
      const gone = new Promise((r) => router!.once('exit', r));
      router.kill('SIGTERM');
      await gone;
    },
    async destroy() {
      await net.stopRouter();
      // Whatever still runs in the namespace (a test that failed half-way) goes with it.
      for (const ns of [name, routerNs]) {
        const pids = execFileSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }).split('\n').filter(Boolean);
        for (const pid of pids) {
          try {
            process.kill(Number(pid), 'SIGKILL');
          } catch {
            // gone already
          }
        }
        execFileSync('ip', ['netns', 'del', ns]);
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
  return net;
}

/** A `serve` run of the CLI inside the namespace, with --json: its events as they come. */
export interface ServeRun {
  child: ChildProcess;
  events: Array<Record<string, unknown>>;
  stderr: () => string;
  /** SIGTERM, and its exit code. */
  stop(): Promise<number | null>;
  /** Resolves with the first event `test` accepts (rejects if the process ends first). */
  waitFor(test: (event: Record<string, unknown>) => boolean, ms?: number): Promise<Record<string, unknown>>;
  exited: Promise<number | null>;
}

export function startServe(net: PrivateNet, args: string[]): ServeRun {
  const child = spawn('ip', ['netns', 'exec', net.name, process.execPath, CLI, 'serve', ...args, '--json'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const events: Array<Record<string, unknown>> = [];
  const waiters = new Set<() => void>();
  let buffer = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    buffer += chunk.toString();
    const lines = buffer.split('\n');
    buffer = lines.pop()!;
    for (const line of lines) if (line.startsWith('{')) events.push(JSON.parse(line) as Record<string, unknown>);
    for (const waiter of waiters) waiter();
  });
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  let ended = false;
  void exited.then(() => {
    ended = true;
    for (const waiter of waiters) waiter();
  });
  return {
    child,
    events,
    stderr: () => stderr,
    exited,
    stop: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
    waitFor(test, ms = 60_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => done(new Error(`no such event within ${ms} ms; stderr: ${stderr}`)), ms);
        const done = (error?: Error, event?: Record<string, unknown>): void => {
          clearTimeout(timer);
          waiters.delete(check);
          if (error) reject(error);
          else resolve(event!);
        };
        const check = (): void => {
          const found = events.find(test);
          if (found) done(undefined, found);
          else if (ended) done(new Error(`serve ended (${JSON.stringify(events.at(-1))}); stderr: ${stderr}`));
        };
        waiters.add(check);
        check();
      });
    },
  };
}

/** The last state of each client, from the client events so far. */
export function clientTable(events: ReadonlyArray<Record<string, unknown>>): Map<string, ServedClient> {
  const table = new Map<string, ServedClient>();
  for (const e of events) if (e.event === 'client') table.set((e.client as ServedClient).mac, e.client as ServedClient);
  return table;
}

export interface ServedClient {
  mac: string;
  ip?: string;
  firmware?: string;
  state: string;
  system?: number;
  files: { name: string; bytes: number; total?: number; speed?: number; done: boolean; via: string }[];
}

export interface Machine {
  firmware: 'bios' | 'uefi';
  tap: number;
  mac: string;
  /** The NIC's ROM: QEMU's own (iPXE) when undefined, none ('') for the firmware's own PXE. */
  rom?: string | undefined;
}

/** Boot a QEMU machine on the namespace's tap until `until` shows on its serial console (or `seconds` pass); its console and time. */
export async function bootMachine(
  net: PrivateNet,
  machine: Machine,
  until: RegExp,
  seconds = 240,
): Promise<{ console: string; seconds: number; matched: boolean }> {
  const dir = await tempDir();
  const uefi = machine.firmware === 'uefi' ? await findUefiFiles() : undefined;
  if (uefi) await copyFile(uefi.vars, join(dir, 'vars.fd'));
  else await writeFile(join(dir, 'sercon-port'), Buffer.from([0xf8, 0x03]));
  const firmware = uefi
    ? [
        '-drive',
        `if=pflash,format=raw,unit=0,readonly=on,file=${uefi.code}`,
        '-drive',
        `if=pflash,format=raw,unit=1,file=${dir}/vars.fd`,
        '-device',
        'virtio-rng-pci',
      ]
    : ['-fw_cfg', `name=etc/sercon-port,file=${dir}/sercon-port`];
  const rom = machine.rom === undefined ? '' : `,romfile=${machine.rom}`;
  const started = Date.now();
  const child = spawn(
    'ip',
    [
      'netns',
      'exec',
      net.name,
      'qemu-system-x86_64',
      '-machine',
      'pc',
      '-accel',
      'tcg',
      '-m',
      '512',
      '-smp',
      '1',
      '-nodefaults',
      '-display',
      'none',
      '-serial',
      `file:${dir}/console.log`,
      '-monitor',
      'none',
      '-no-reboot',
      ...firmware,
      '-netdev',
      `tap,id=n0,ifname=tap${machine.tap},script=no,downscript=no`,
      '-device',
      `virtio-net-pci,netdev=n0,bootindex=1,mac=${machine.mac}${rom}`,
    ],
    { stdio: 'ignore' },
  );
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  let text = '';
  let matched = false;
  while (Date.now() - started < seconds * 1000) {
    text = await readFile(join(dir, 'console.log'), 'latin1').catch(() => '');
    if (until.test(text)) {
      matched = true;
      break;
    }
    if (child.exitCode !== null) break;
    await Promise.race([exited, new Promise((r) => setTimeout(r, 500))]);
  }
  const took = (Date.now() - started) / 1000;
  if (child.exitCode === null) child.kill('SIGKILL');
  await exited;
  text = await readFile(join(dir, 'console.log'), 'latin1').catch(() => text);
  await rm(dir, { recursive: true, force: true });
  return { console: text, seconds: took, matched };
}

/** Processes whose command line holds `text` (our scratch folder, the namespace's name). */
export function processesWith(text: string): string[] {
  return execFileSync('ps', ['-eo', 'pid,args'], { encoding: 'utf8' })
    .split('\n')
    .filter((line) => line.includes(text) && !line.includes('ps -eo'));
}
