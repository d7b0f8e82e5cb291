/**
 * Serving from the app: main starts the CLI's `serve` as a helper process
 * (the same engine, electron/pipeline/serve/) and relays its --json events to
 * the page. The ports need root: as root it runs directly; otherwise through
 * pkexec (polkit asks the user once), and the page is told the exact command
 * first. Only that helper runs as root. It reads "reload" and "stop" on its
 * stdin (Reload writes the first), and stops when its stdin closes: Stop, a closed window, and a crash of the app
 * all end it, and its dnsmasq with it.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { shellQuote } from '../pipeline/base/quote.ts';
import { CanceledError, NetbootError } from '../pipeline/base/errors.ts';
import { listInterfaces } from '../pipeline/serve/interfaces.ts';
import type { ServeJobEvent } from '../shared/ipc.ts';
import type { NetInterface, ServeEvent, ServeRequest } from '../shared/serve.ts';

/** The CLI the helper runs (the app's own checkout; a packaged app passes its path). */
export const DEFAULT_CLI = resolve(import.meta.dirname, '..', 'cli', 'netboot-composer.ts');

export interface ServeHelperOptions {
  cliPath?: string | undefined;
  /**
   * Words put before the helper's command, e.g. `ip netns exec NS` for the
   * tests' private network (NETBOOT_COMPOSER_SERVE_WRAP). Never set by the app.
   */
  wrap?: string[] | undefined;
  /** Gets the running helper's controls once it is started (main keeps them for `serve:reload`). */
  onControl?: ((control: ServeControl) => void) | undefined;
}

/** What the app can tell a running helper. */
export interface ServeControl {
  /** New requests get the folders as they are now; the helper answers with `reloaded` or a "Not reloaded" notice. */
  reload(): void;
}

function wrapFromEnv(): string[] {
  const text = process.env.NETBOOT_COMPOSER_SERVE_WRAP?.trim();
  return text ? text.split(/\s+/) : [];
}

/** The helper's command line: node (Electron as node) and the CLI, through pkexec when we are not root. */
export function serveCommand(
  args: string[],
  options: ServeHelperOptions = {},
): { argv: string[]; elevated: boolean; text: string } {
  const elevated = process.getuid?.() !== 0;
  const argv = [
    ...(elevated ? ['pkexec'] : []),
    ...(options.wrap ?? wrapFromEnv()),
    ...(elevated && process.versions.electron ? ['env', 'ELECTRON_RUN_AS_NODE=1'] : []),
    process.execPath,
    options.cliPath ?? DEFAULT_CLI,
    ...args,
  ];
  return { argv, elevated, text: argv.map(shellQuote).join(' ') };
}

function spawnHelper(argv: string[]): ChildProcess {
  return spawn(argv[0]!, argv.slice(1), {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, ...(process.versions.electron ? { ELECTRON_RUN_AS_NODE: '1' } : {}) },
  });
}

/** The interfaces to choose from (listed where the helper will run: the tests' namespace, else here). */
export async function serveInterfaces(options: ServeHelperOptions = {}): Promise<NetInterface[]> {
  const wrap = options.wrap ?? wrapFromEnv();
  if (wrap.length === 0) return listInterfaces();
  const child = spawnHelper([
    ...wrap,
    process.execPath,
    options.cliPath ?? DEFAULT_CLI,
    'serve',
    '--list-interfaces',
    '--json',
  ]);
  child.stdin!.end();
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  await new Promise((r) => child.on('close', r));
  const line = out.split('\n').find((l) => l.startsWith('{"event":"interfaces"'));
  if (!line) throw new NetbootError('The network interfaces could not be listed.');
  return (JSON.parse(line) as { interfaces: NetInterface[] }).interfaces;
}

/**
 * Serve `request` until `signal` aborts (Stop, the window closed) or the
 * helper ends; `emit` gets the command, then every event of the server.
 */
export async function runServeHelper(
  request: ServeRequest,
  signal: AbortSignal,
  emit: (event: ServeJobEvent) => void,
  options: ServeHelperOptions = {},
): Promise<{ reason?: string | undefined }> {
  const args = [
    'serve',
    ...request.dirs.flatMap((dir) => ['--dir', dir]),
    '--interface',
    request.iface,
    ...(request.range ? ['--dhcp-range', `${request.range.start},${request.range.end}`] : ['--proxy']),
    '--json',
    '--control-stdin',
  ];
  const command = serveCommand(args, options);
  emit({ event: 'serve-command', command: command.text, elevated: command.elevated });
  const child = spawnHelper(command.argv);
  let error: string | undefined;
  let stopped: string | undefined;
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  createInterface({ input: child.stdout! }).on('line', (line) => {
    if (!line.startsWith('{')) return;
    const event = JSON.parse(line) as ServeEvent | { event: 'error'; message: string };
    if (event.event === 'error') error = event.message;
    else {
      if (event.event === 'stopped') stopped = event.reason ?? '';
      emit({ event: 'serve', data: event });
    }
  });
  options.onControl?.({
    reload: () => {
      if (child.stdin!.writable) child.stdin!.write('reload\n');
    },
  });
  const onAbort = (): void => {
    child.stdin!.write('stop\n');
    child.stdin!.end();
  };
  signal.addEventListener('abort', onAbort, { once: true });
  const code = await new Promise<number | null>((resolve) => {
    child.on('error', () => resolve(null));
    child.on('close', (c) => resolve(c));
  });
  signal.removeEventListener('abort', onAbort);
  if (signal.aborted) throw new CanceledError();
  if (error) throw new NetbootError(error);
  // pkexec: 126 the user dismissed the password dialog, 127 not authorized.
  if (command.elevated && (code === 126 || code === 127) && stopped === undefined) {
    throw new NetbootError(
      'Serving needs root, and the request to run it as root was refused or canceled; try again, or run the CLI with sudo.',
    );
  }
  if (code !== 0 && stopped === undefined) {
    throw new NetbootError(
      stderr
        .trim()
        .split('\n')
        .at(-1)
        ?.replace(/^error: /, '') || `The server stopped (exit code ${code}).`,
    );
  }
  return { reason: stopped || undefined };
}
