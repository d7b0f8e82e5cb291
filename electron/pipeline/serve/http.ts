/**
 * The HTTP side of the server: the iPXE scripts and the files of the served
 * systems, from the snapshot (snapshot.ts), with Range and HEAD. Nothing else
 * is served: a path outside that set is refused (404) and reported.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { entryScript, menuScript, type MenuOptions, normalMac, selectScript } from './scripts.ts';
import type { ServedFile, ServedSystem } from './snapshot.ts';

/** What one request did, as the client table needs it. */
export interface HttpEvent {
  /** The client's address. */
  ip: string;
  /** The path asked for. */
  path: string;
  /** What it was: a script of ours, a system's file, or refused. */
  kind: 'script' | 'file' | 'refused';
  /** For a system's file: which system, which file, its size. */
  system?: number | undefined;
  file?: string | undefined;
  total?: number | undefined;
  /** Bytes sent so far for this request, and whether it is over (and how). */
  sent: number;
  state: 'started' | 'progress' | 'done' | 'aborted';
  /** The MAC address a `select.ipxe?mac=` request gave. */
  mac?: string | undefined;
  status: number;
}

export interface HttpServing {
  systems: readonly ServedSystem[];
  assignments: ReadonlyMap<string, number>;
  menu: MenuOptions;
  /** http://ADDRESS:PORT, what the scripts chain. */
  base: string;
}

/** A byte range of a file of `size` bytes, from a Range header; null when it cannot be satisfied. */
export function parseRange(
  header: string | undefined,
  size: number,
): { start: number; end: number } | null | undefined {
  if (header === undefined) return undefined;
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match || (match[1] === '' && match[2] === '')) return undefined;
  let start: number, end: number;
  if (match[1] === '') {
    start = Math.max(0, size - Number(match[2]));
    end = size - 1;
  } else {
    start = Number(match[1]);
    end = match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1);
  }
  if (start > end || start >= size) return null;
  return { start, end };
}

function clientIp(req: IncomingMessage): string {
  return (req.socket.remoteAddress ?? '').replace(/^::ffff:/, '');
}

/** How often a download reports its progress. */
const PROGRESS_MS = 250;
/** Bytes read and sent at a time. */
const CHUNK = 256 * 1024;

function sendFile(
  req: IncomingMessage,
  res: ServerResponse,
  file: ServedFile,
  event: Omit<HttpEvent, 'sent' | 'state' | 'status'>,
  onEvent: (e: HttpEvent) => void,
): void {
  const range = parseRange(req.headers.range, file.bytes);
  if (range === null) {
    res.writeHead(416, { 'Content-Range': `bytes */${file.bytes}` }).end();
    onEvent({ ...event, sent: 0, state: 'done', status: 416 });
    return;
  }
  const { start, end } = range ?? { start: 0, end: file.bytes - 1 };
  const length = file.bytes === 0 ? 0 : end - start + 1;
  const status = range ? 206 : 200;
  res.writeHead(status, {
    'Content-Type': 'application/octet-stream',
    'Content-Length': length,
    'Accept-Ranges': 'bytes',
    ...(range ? { 'Content-Range': `bytes ${start}-${end}/${file.bytes}` } : {}),
  });
  if (req.method === 'HEAD' || length === 0) {
    res.end();
    onEvent({ ...event, sent: 0, state: 'done', status });
    return;
  }
  onEvent({ ...event, sent: 0, state: 'started', status });
  let sent = 0;
  let last = Date.now();
  let closed = false;
  res.on('close', () => {
    closed = true;
    onEvent({ ...event, sent, state: res.writableFinished ? 'done' : 'aborted', status });
  });
  // Positional reads from the open file: no stream of ours ever closes it
  // (a ReadStream closes its descriptor when destroyed, whatever autoClose
  // says), and any number of machines read it at once.
  const pump = async (): Promise<void> => {
    const buffer = Buffer.alloc(CHUNK);
    for (let at = start; at <= end && !closed;) {
      const { bytesRead } = await file.handle.read(buffer, 0, Math.min(CHUNK, end - at + 1), at);
      if (bytesRead === 0) throw new Error('the file is shorter than its size');
      at += bytesRead;
      sent += bytesRead;
      const more = res.write(Buffer.from(buffer.subarray(0, bytesRead)));
      if (Date.now() - last >= PROGRESS_MS) {
        last = Date.now();
        onEvent({ ...event, sent, state: 'progress', status });
      }
      if (!more && !closed)
        await new Promise<void>((resolve) => {
          const go = (): void => {
            res.off('drain', go);
            res.off('close', go);
            resolve();
          };
          res.on('drain', go);
          res.on('close', go);
        });
    }
    res.end();
  };
  pump().catch(() => res.destroy());
}

function handle(
  serving: () => HttpServing,
  req: IncomingMessage,
  res: ServerResponse,
  onEvent: (e: HttpEvent) => void,
): void {
  const ip = clientIp(req);
  const url = new URL(req.url ?? '/', 'http://x');
  const path = url.pathname;
  const { systems, assignments, menu, base } = serving();
  const script = (text: string, mac?: string): void => {
    const body = Buffer.from(text);
    res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': body.length });
    res.end(req.method === 'HEAD' ? undefined : body);
    onEvent({ ip, path, kind: 'script', sent: body.length, state: 'done', status: 200, mac });
  };
  const refuse = (status: number): void => {
    res
      .writeHead(status, { 'Content-Type': 'text/plain' })
      .end(status === 405 ? 'Only GET and HEAD.\n' : 'Not served here.\n');
    onEvent({ ip, path, kind: 'refused', sent: 0, state: 'done', status });
  };
  if (req.method !== 'GET' && req.method !== 'HEAD') return refuse(405);
  if (path === '/boot.ipxe') return script(entryScript(base));
  // iPXE's ${buildarch}: a word of letters, digits and _ (anything else is not followed).
  const buildarch = /^\w{1,16}$/.exec(url.searchParams.get('arch') ?? '')?.[0];
  if (path === '/menu.ipxe') return script(menuScript(systems, menu, buildarch));
  if (path === '/select.ipxe') {
    const mac = normalMac(url.searchParams.get('mac') ?? '');
    return script(selectScript(systems, assignments, mac, menu, buildarch), mac);
  }
  const match = /^\/(\d+)\/([^/]+)$/.exec(path);
  if (!match) return refuse(404);
  const system = systems.find((s) => s.index === Number(match[1]));
  let name: string;
  try {
    name = decodeURIComponent(match[2]!);
  } catch {
    return refuse(404);
  }
  if (!system) return refuse(404);
  if (name === 'netboot.ipxe') {
    res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': system.script.length });
    res.end(req.method === 'HEAD' ? undefined : system.script);
    onEvent({
      ip,
      path,
      kind: 'file',
      system: system.index,
      file: name,
      total: system.script.length,
      sent: system.script.length,
      state: 'done',
      status: 200,
    });
    return;
  }
  const file = system.files.get(name);
  if (!file) return refuse(404);
  sendFile(req, res, file, { ip, path, kind: 'file', system: system.index, file: name, total: file.bytes }, onEvent);
}

/** Start the HTTP server on `address`:`port` (0: any free port); `serving` is read at each request (a reload swaps it). */
export async function startHttp(
  address: string,
  port: number,
  serving: () => HttpServing,
  onEvent: (e: HttpEvent) => void,
): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    try {
      handle(serving, req, res, onEvent);
    } catch {
      // A bug must not stop the server for every other machine: this request fails alone.
      if (!res.headersSent) res.writeHead(500);
      res.end();
    }
  });
  // iPXE keeps a connection for the next file, which a slow machine may ask
  // for many seconds later: a connection we closed meanwhile fails that
  // request (iPXE 1.0 says "Error 0x420c6095", a protocol error).
  server.keepAliveTimeout = 120_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, address, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return { server, port: (server.address() as AddressInfo).port };
}
