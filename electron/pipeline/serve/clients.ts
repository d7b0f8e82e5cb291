/**
 * The live table of the machines that boot from us, fed by dnsmasq's log
 * (DHCP: MAC, address, firmware by option 93, iPXE by its user class; TFTP:
 * the loader) and by our HTTP server's requests (the scripts, the kernel and
 * each initrd, with bytes and speed).
 */
import { firmwareName } from './dnsmasq-config.ts';
import type { HttpEvent } from './http.ts';
import { normalMac } from './scripts.ts';
import type { ClientFile, ClientState, ServeClient as Client } from '../../shared/serve.ts';

export type { Client, ClientFile, ClientState };

const ORDER: ClientState[] = ['DHCP', 'loader', 'iPXE', 'downloading', 'booting'];

/** A line of dnsmasq's log: its facility, transaction number (DHCP) and the rest. */
function parseLine(line: string): { facility: string; xid?: string | undefined; text: string } | undefined {
  const match = /^dnsmasq(?:-(\w+))?(?:\[\d+\])?: (?:(\d+) )?(.*)$/.exec(line);
  return match ? { facility: match[1] ?? '', xid: match[2], text: match[3]! } : undefined;
}

/** The kernel and the initrds a system's script loads: when all are fetched, the kernel has them. */
export type BootFilesOf = (system: number) => readonly string[];

export class ClientTable {
  private readonly byMac = new Map<string, Client>();
  private readonly macOfIp = new Map<string, string>();
  /** What a DHCP transaction said before its MAC showed (vendor class, user class). */
  private readonly pending = new Map<string, { arch?: number; ipxe?: boolean }>();
  private readonly transfers = new Map<string, { started: number }>();
  /** Loaders sent by TFTP to an address whose MAC we learn later (proxy DHCP: the router gave the address). */
  private readonly tftpOfIp = new Map<string, string[]>();
  /** The sizes of the loaders TFTP serves (dnsmasq's log gives only the name). */
  readonly loaderBytes = new Map<string, number>();

  private readonly bootFiles: BootFilesOf;
  private readonly onChange: (client: Client) => void;
  private readonly now: () => number;

  constructor(bootFiles: BootFilesOf, onChange: (client: Client) => void, now: () => number = Date.now) {
    this.bootFiles = bootFiles;
    this.onChange = onChange;
    this.now = now;
  }

  list(): Client[] {
    return [...this.byMac.values()].map((c) => structuredClone(c));
  }

  private client(mac: string): Client {
    let client = this.byMac.get(mac);
    if (!client) {
      client = { mac, state: 'DHCP', files: [], firstSeen: this.now(), lastSeen: this.now() };
      this.byMac.set(mac, client);
    }
    client.lastSeen = this.now();
    return client;
  }

  private advance(client: Client, state: ClientState): void {
    if (ORDER.indexOf(state) > ORDER.indexOf(client.state)) client.state = state;
  }

  private setIp(client: Client, ip: string): void {
    client.ip = ip;
    this.macOfIp.set(ip, client.mac);
    for (const name of this.tftpOfIp.get(ip) ?? []) this.tftpSent(client, name);
    this.tftpOfIp.delete(ip);
  }

  private tftpSent(client: Client, name: string): void {
    const file = client.files.find((f) => f.name === name && f.via === 'TFTP');
    if (file) file.done = true;
    else {
      const bytes = this.loaderBytes.get(name) ?? 0;
      client.files.push({ name, bytes, total: bytes || undefined, done: true, via: 'TFTP' });
    }
    this.advance(client, 'loader');
  }

  /** A line of dnsmasq's log. */
  dnsmasqLine(line: string): void {
    const parsed = parseLine(line);
    if (!parsed) return;
    const { facility, xid, text } = parsed;
    if (facility === 'dhcp' && xid !== undefined) {
      const info = this.pending.get(xid) ?? {};
      const arch = /^vendor class: PXEClient:Arch:(\d{5})/.exec(text);
      if (arch) info.arch = Number(arch[1]);
      if (/^user class: iPXE/.test(text)) info.ipxe = true;
      this.pending.set(xid, info);
      if (this.pending.size > 1000) this.pending.delete(this.pending.keys().next().value!);
      // DHCPACK(br0) 10.77.0.150 52:54:00:12:34:56 [name], PXE(br0) 52:54:00:... proxy, PXE(br0) IP MAC file
      const seen = /^(DHCP\w+|PXE)\([^)]*\) (?:(\d+\.\d+\.\d+\.\d+) )?([0-9a-f]{2}(?::[0-9a-f]{2}){5})\b/i.exec(text);
      if (!seen) return;
      const client = this.client(normalMac(seen[3]!)!);
      if (seen[2] && (seen[1] === 'DHCPACK' || seen[1] === 'PXE')) this.setIp(client, seen[2]);
      if (info.arch !== undefined) client.firmware = firmwareName(info.arch);
      if (info.ipxe) this.advance(client, 'iPXE');
      this.onChange(structuredClone(client));
      return;
    }
    if (facility === 'tftp') {
      const sent = /^sent (\S+) to (\d+\.\d+\.\d+\.\d+)/.exec(text);
      if (!sent) return;
      const name = sent[1]!.split('/').pop()!;
      const mac = this.macOfIp.get(sent[2]!);
      if (!mac) {
        this.tftpOfIp.set(sent[2]!, [...(this.tftpOfIp.get(sent[2]!) ?? []), name]);
        return;
      }
      const client = this.client(mac);
      this.tftpSent(client, name);
      this.onChange(structuredClone(client));
    }
  }

  /** A request to our HTTP server. */
  http(event: HttpEvent): void {
    if (event.mac) {
      const client = this.client(event.mac);
      this.setIp(client, event.ip);
    }
    const mac = this.macOfIp.get(event.ip);
    if (!mac) return;
    const client = this.client(mac);
    if (event.kind === 'refused') return this.onChange(structuredClone(client));
    this.advance(client, 'iPXE');
    const name = event.kind === 'script' ? event.path.replace(/^\//, '') : event.file!;
    const key = `${event.ip} ${event.path}`;
    if (event.state === 'started') this.transfers.set(key, { started: this.now() });
    const started = this.transfers.get(key)?.started ?? this.now();
    const seconds = (this.now() - started) / 1000;
    let file = client.files.find((f) => f.name === name && f.via === 'HTTP');
    if (!file) {
      file = { name, bytes: 0, total: event.total, done: false, via: 'HTTP' };
      client.files.push(file);
    }
    file.bytes = event.sent;
    file.total = event.total;
    file.done = event.state === 'done';
    if (seconds > 0 && event.sent > 0) file.speed = Math.round(event.sent / seconds);
    if (event.state === 'done' || event.state === 'aborted') this.transfers.delete(key);
    if (event.system !== undefined) {
      client.system = event.system;
      if (event.kind === 'file' && event.file !== 'netboot.ipxe') this.advance(client, 'downloading');
      const wanted = this.bootFiles(event.system);
      const fetched = (n: string): boolean => client.files.some((f) => f.name === n && f.via === 'HTTP' && f.done);
      if (wanted.length > 0 && wanted.every(fetched)) this.advance(client, 'booting');
    }
    this.onChange(structuredClone(client));
  }
}
