/**
 * Serving, as the CLI's --json events, the app's IPC and its Serve panel
 * see it: the client table, the served systems, the interfaces to choose
 * from. The server itself is electron/pipeline/serve/.
 */

/** Where a machine is in its boot: DHCP, got its loader (TFTP), runs iPXE, downloads, has the kernel and initrds. */
export type ClientState = 'DHCP' | 'loader' | 'iPXE' | 'downloading' | 'booting';

export interface ClientFile {
  /** The file's name: a loader (snponly.efi), a script (select.ipxe, netboot.ipxe), the kernel, an initrd. */
  name: string;
  bytes: number;
  total?: number | undefined;
  /** Bytes per second over the transfer so far (the whole transfer, when done). */
  speed?: number | undefined;
  done: boolean;
  via: 'TFTP' | 'HTTP';
}

export interface ServeClient {
  mac: string;
  ip?: string | undefined;
  /** From DHCP option 93: BIOS, UEFI x86_64, UEFI arm64... */
  firmware?: string | undefined;
  state: ClientState;
  /** The system it loads (1, 2...), once known. */
  system?: number | undefined;
  files: ClientFile[];
  firstSeen: number;
  lastSeen: number;
}

/** A served system. */
export interface ServedSystemInfo {
  index: number;
  dir: string;
  name: string;
  version?: string | undefined;
  arch?: string | undefined;
  ramBytes?: number | undefined;
  files: { name: string; bytes: number }[];
}

export type ServeEvent =
  | {
      event: 'serving';
      iface: string;
      address: string;
      mode: 'proxy' | 'full';
      range?: { start: string; end: string } | undefined;
      url: string;
      systems: ServedSystemInfo[];
    }
  | { event: 'client'; client: ServeClient }
  | { event: 'notice'; message: string }
  | { event: 'reloaded'; systems: ServedSystemInfo[] }
  | { event: 'stopped'; reason?: string | undefined };

/** A network interface to serve on. */
export interface NetInterface {
  name: string;
  /** Its first IPv4 address, network and prefix (absent: none). */
  address?: string | undefined;
  network?: string | undefined;
  netmask?: string | undefined;
  prefix?: number | undefined;
  /** The kernel's operstate: up, down, unknown (a bridge without ports, a tap)... */
  state: string;
  up: boolean;
}

/** What the app asks to serve. */
export interface ServeRequest {
  dirs: string[];
  iface: string;
  /** Full DHCP with these addresses; absent: proxy DHCP. */
  range?: { start: string; end: string } | undefined;
}
