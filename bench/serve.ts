/**
 * The Serving section's figures (README), measured on a private network
 * (test/helpers/serve-net.ts; root): the demo built once, then
 *
 * - power-on to the demo's marker, one BIOS VM (QEMU's iPXE ROM, TCG):
 *   through `serve` (the files over HTTP) and through dnsmasq serving the
 *   same folder over TFTP only, alternately, `--runs` times each;
 * - HTTP throughput of `serve`: 1, 2 and 4 clients (Node's fetch in the
 *   namespace) downloading the nix-store initrd at once, 5 times each.
 *
 *   node bench/serve.ts [--runs N]
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEMO_MARKER } from '../electron/pipeline/media/markers.ts';
import { bootMachine, CLI, makePrivateNet, SERVER, startServe } from '../test/helpers/serve-net.ts';

const runs = Number(process.argv[process.argv.indexOf('--runs') + 1] || 2) || 2;
const MARKER = new RegExp(`${DEMO_MARKER}, \\d+ store paths present and verified`);
const scratch = await mkdtemp(join(tmpdir(), 'nbc13-bench-'));
const folder = join(scratch, 'demo');
execFileSync(process.execPath, [CLI, 'build', '--demo', '--out', folder, '--cache', join(scratch, 'cache'), '--json'], {
  stdio: 'ignore',
});
const net = await makePrivateNet(4);
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
try {
  const http: number[] = [];
  const tftp: number[] = [];
  for (let i = 0; i < runs; i++) {
    const serve = startServe(net, ['--dir', folder, '--interface', 'br0', '--dhcp-range', '10.77.0.100,10.77.0.150']);
    await serve.waitFor((e) => e.event === 'serving');
    const a = await bootMachine(net, { firmware: 'bios', tap: 0, mac: '52:54:00:13:01:01' }, MARKER);
    await serve.stop();
    if (!a.matched) throw new Error(`HTTP boot failed:\n${a.console.slice(-1500)}`);
    http.push(a.seconds);

    const config = join(scratch, 'tftp.conf');
    await writeFile(
      config,
      [
        'port=0',
        'interface=br0',
        'bind-interfaces',
        'dhcp-range=10.77.0.100,10.77.0.150,1h',
        `dhcp-leasefile=${scratch}/leases`,
        'enable-tftp',
        `tftp-root=${folder}`,
        'user=root',
        'dhcp-match=set:ipxe,175',
        'dhcp-boot=tag:ipxe,netboot.ipxe',
        '',
      ].join('\n'),
    );
    const dnsmasq = spawn(
      'ip',
      ['netns', 'exec', net.name, 'dnsmasq', '--keep-in-foreground', `--conf-file=${config}`, '--pid-file='],
      {
        stdio: 'ignore',
      },
    );
    await new Promise((r) => setTimeout(r, 1000));
    const b = await bootMachine(net, { firmware: 'bios', tap: 0, mac: '52:54:00:13:01:01' }, MARKER);
    dnsmasq.kill('SIGTERM');
    await new Promise((r) => dnsmasq.once('exit', r));
    if (!b.matched) throw new Error(`TFTP boot failed:\n${b.console.slice(-1500)}`);
    tftp.push(b.seconds);
    console.log(`run ${i + 1}: HTTP ${a.seconds.toFixed(1)} s, TFTP only ${b.seconds.toFixed(1)} s`);
  }
  const size = (await stat(join(folder, 'nix-store'))).size;
  const serve = startServe(net, ['--dir', folder, '--interface', 'br0', '--dhcp-range', '10.77.0.100,10.77.0.150']);
  await serve.waitFor((e) => e.event === 'serving');
  const through: { clients: number; total: number; each: number }[] = [];
  for (const clients of [1, 2, 4]) {
    const script = `const t=Date.now();let n=0;for(let i=0;i<5;i++){const r=await fetch('http://${SERVER}:8080/1/nix-store');n+=(await r.arrayBuffer()).byteLength}console.log(n/((Date.now()-t)/1000))`;
    const started = Date.now();
    const speeds = await Promise.all(
      Array.from(
        { length: clients },
        () =>
          new Promise<number>((resolve, reject) => {
            const child = spawn('ip', [
              'netns',
              'exec',
              net.name,
              process.execPath,
              '--input-type=module',
              '-e',
              script,
            ]);
            let out = '';
            child.stdout.on('data', (d: Buffer) => (out += d.toString()));
            child.on('exit', (code) =>
              code === 0 ? resolve(Number(out.trim())) : reject(new Error(`fetch exited ${code}`)),
            );
          }),
      ),
    );
    const total = (clients * 5 * size) / ((Date.now() - started) / 1000);
    through.push({ clients, total, each: median(speeds) });
  }
  await serve.stop();
  const mib = (n: number): string => `${(n / 2 ** 20).toFixed(0)} MiB/s`;
  console.log(
    `\npower-on to the marker, BIOS, TCG, median of ${runs}: HTTP ${median(http).toFixed(1)} s, TFTP only ${median(tftp).toFixed(1)} s`,
  );
  console.log(`HTTP throughput (nix-store, ${(size / 2 ** 20).toFixed(1)} MiB, 5 times per client):`);
  for (const t of through)
    console.log(`  ${t.clients} client(s): ${mib(t.total)} in all, ${mib(t.each)} each (median)`);
  console.log(JSON.stringify({ http, tftp, through, nixStoreBytes: size }));
} finally {
  await net.destroy();
  await rm(scratch, { recursive: true, force: true });
}
