/**
 * `netboot-composer serve`: this machine answers netbooting machines on one
 * interface (see electron/pipeline/serve/) until Ctrl-C. It prints a line per
 * change of a client (or, with --json, every event). With --control-stdin
 * (how the app runs it) it reads "reload" and "stop" lines, and stops when
 * its standard input closes: the app that started it is gone.
 */
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { listInterfaces } from '../../pipeline/serve/interfaces.ts';
import { normalMac } from '../../pipeline/serve/scripts.ts';
import { type ServeEvent, serve } from '../../pipeline/serve/server.ts';
import type { Client } from '../../pipeline/serve/clients.ts';
import { formatBytes } from '../../shared/progress.ts';
import { positiveNumber, printJson, UsageError, type Context } from '../context.ts';

/** One line about a client: MAC, address, firmware, state, and its last file. */
export function clientLine(client: Client): string {
  const last = client.files.at(-1);
  const file = last
    ? ` ${last.name} ${formatBytes(last.bytes)}${last.total ? ` of ${formatBytes(last.total)}` : ''}${last.speed ? ` at ${formatBytes(last.speed)}/s` : ''}${last.done ? '' : '...'}`
    : '';
  return `  ${client.mac}  ${client.ip ?? '-'}  ${client.firmware ?? '?'}  ${client.state}${client.system ? ` (system ${client.system})` : ''}${file}`;
}

function parseAssign(text: string): [string, number] {
  const match = /^([^=]+)=(\d+)$/.exec(text);
  const mac = match ? normalMac(match[1]!) : undefined;
  if (!match || !mac) throw new UsageError(`--assign takes MAC=N (e.g. 52:54:00:12:34:56=2), not "${text}".`);
  return [mac, Number(match[2])];
}

export async function runServe(args: string[], context: Context): Promise<number> {
  const { values } = parseArgs({
    args,
    strict: true,
    options: {
      dir: { type: 'string', multiple: true },
      interface: { type: 'string' },
      proxy: { type: 'boolean' },
      'dhcp-range': { type: 'string' },
      'http-port': { type: 'string' },
      assign: { type: 'string', multiple: true },
      'menu-default': { type: 'string' },
      'menu-timeout': { type: 'string' },
      'list-interfaces': { type: 'boolean' },
      'control-stdin': { type: 'boolean' },
      json: { type: 'boolean' },
      debug: { type: 'boolean' },
    },
  });
  const say = (text: string): void => {
    if (!context.json) process.stdout.write(`${text}\n`);
  };
  if (values['list-interfaces']) {
    const list = await listInterfaces();
    if (context.json) printJson({ event: 'interfaces', interfaces: list });
    for (const i of list)
      say(`${i.name}\t${i.address ? `${i.address}/${i.prefix}` : 'no IPv4 address'}\t${i.up ? 'up' : i.state}`);
    return 0;
  }
  if (!values.dir?.length)
    throw new UsageError('Give the boot folder to serve with --dir BOOT_FOLDER (one --dir per system).');
  if (values.interface === undefined) {
    const names = (await listInterfaces()).map((i) => `${i.name}${i.address ? ` (${i.address})` : ''}`).join(', ');
    throw new UsageError(
      `Give the interface the machines are on with --interface NAME (here: ${names || 'none'}); serving never answers on every interface.`,
    );
  }
  if (values.proxy && values['dhcp-range'] !== undefined)
    throw new UsageError('Give --proxy or --dhcp-range, not both.');
  let range: { start: string; end: string } | undefined;
  if (values['dhcp-range'] !== undefined) {
    const [start, end, extra] = values['dhcp-range'].split(',');
    if (!start || !end || extra !== undefined)
      throw new UsageError(
        `--dhcp-range takes FIRST,LAST (e.g. 10.0.0.100,10.0.0.199), not "${values['dhcp-range']}".`,
      );
    range = { start: start.trim(), end: end.trim() };
  }
  const httpPort = values['http-port'] === undefined ? undefined : Number(values['http-port']);
  if (httpPort !== undefined && !(Number.isInteger(httpPort) && httpPort >= 0 && httpPort < 65536)) {
    throw new UsageError(`--http-port takes a port number, not "${values['http-port']}".`);
  }
  const defaultIndex = positiveNumber(values['menu-default'], '--menu-default');
  const timeoutSeconds = positiveNumber(values['menu-timeout'], '--menu-timeout');
  const shown = new Map<string, string>();
  const onEvent = (event: ServeEvent): void => {
    if (context.json) return printJson(event);
    if (event.event === 'serving') {
      say(`Serving ${event.systems.map((s) => `${s.index}. ${s.name}`).join(', ')}`);
      say(
        `  on ${event.iface} (${event.address}), ${event.mode === 'proxy' ? "proxy DHCP beside the network's own DHCP server" : `full DHCP, ${event.range!.start} to ${event.range!.end}`}; iPXE gets ${event.url}`,
      );
      say('  Power on the machines to boot; Ctrl-C stops.');
    } else if (event.event === 'client') {
      // A line when a client changes state or finishes a file, not at every progress step.
      const key = `${event.client.state} ${event.client.files.filter((f) => f.done).length} ${event.client.ip}`;
      if (shown.get(event.client.mac) !== key) {
        shown.set(event.client.mac, key);
        say(clientLine(event.client));
      }
    } else if (event.event === 'notice') say(`  ! ${event.message}`);
    else if (event.event === 'reloaded') say('  Reloaded: new requests get the folders as they are now.');
    else if (event.event === 'stopped') say(`Stopped${event.reason ? `: ${event.reason}` : '.'}`);
  };
  const serving = await serve({
    dirs: values.dir,
    iface: values.interface,
    range,
    httpPort,
    assignments: new Map((values.assign ?? []).map(parseAssign)),
    menu: { defaultIndex, timeoutSeconds },
    onEvent,
  });
  // Stop on Ctrl-C (the context's signal), when the app that started us is
  // gone (our parent changed, or with --control-stdin our stdin closed), or
  // when told to on stdin.
  const parent = process.ppid;
  let reason: string | undefined;
  const stopped = new Promise<void>((resolve) => {
    context.signal.addEventListener('abort', () => resolve(), { once: true });
    const watch = setInterval(() => {
      if (process.ppid !== parent) {
        reason = 'the program that started it is gone';
        resolve();
      }
    }, 1000);
    watch.unref();
    if (values['control-stdin']) {
      const lines = createInterface({ input: process.stdin });
      lines.on('line', (line) => {
        if (line.trim() === 'stop') resolve();
        if (line.trim() === 'reload') {
          serving
            .reload()
            .catch((error: unknown) =>
              onEvent({ event: 'notice', message: `Not reloaded: ${(error as Error).message}` }),
            );
        }
      });
      lines.on('close', () => {
        reason ??= 'the program that started it is gone';
        resolve();
      });
    }
  });
  process.on('SIGUSR1', () => {
    serving
      .reload()
      .catch((error: unknown) => onEvent({ event: 'notice', message: `Not reloaded: ${(error as Error).message}` }));
  });
  const died = await Promise.race([serving.ended, stopped.then(() => undefined)]);
  await serving.stop();
  onEvent({ event: 'stopped', reason: died ?? reason });
  if (died !== undefined) {
    process.stderr.write(`error: ${died}\n`);
    return 1;
  }
  return context.signal.aborted ? 130 : 0;
}
