/**
 * Is there a DHCP server on this link already? Before we hand out addresses
 * ourselves (full DHCP), we send one DHCPDISCOVER out of the interface and
 * listen a few seconds (6) for an offer. Two DHCP servers on one link would hand
 * machines conflicting addresses.
 */
import { createSocket, type Socket } from 'node:dgram';
import { randomBytes } from 'node:crypto';

/** A DHCPDISCOVER from the made-up, locally administered MAC `mac`, asking for a broadcast answer. */
export function discoverPacket(xid: Buffer, mac: Buffer): Buffer {
  const packet = Buffer.alloc(300);
  packet[0] = 1; // BOOTREQUEST
  packet[1] = 1; // Ethernet
  packet[2] = 6;
  xid.copy(packet, 4);
  packet.writeUInt16BE(0x8000, 10); // broadcast flag: answer to 255.255.255.255
  mac.copy(packet, 28);
  packet.writeUInt32BE(0x63825363, 236); // magic cookie
  Buffer.from([53, 1, 1, 55, 2, 1, 3, 255]).copy(packet, 240);
  return packet;
}

/** The server identifier (option 54) of an offer for `xid`, or undefined when `packet` is not one. */
export function offerFrom(packet: Buffer, xid: Buffer): string | undefined {
  if (packet.length < 241 || packet[0] !== 2 || !packet.subarray(4, 8).equals(xid)) return undefined;
  if (packet.readUInt32BE(236) !== 0x63825363) return undefined;
  let type: number | undefined;
  let server: string | undefined;
  for (let i = 240; i < packet.length;) {
    const code = packet[i]!;
    if (code === 255) break;
    if (code === 0) {
      i++;
      continue;
    }
    const len = packet[i + 1] ?? 0;
    const value = packet.subarray(i + 2, i + 2 + len);
    if (code === 53) type = value[0];
    if (code === 54 && len === 4) server = [...value].join('.');
    i += 2 + len;
  }
  return type === 2 ? (server ?? 'an unnamed server') : undefined;
}

function bound(address: string, port: number, reuseAddr = false): Promise<Socket> {
  // Not reuseAddr unless we must: Node's sets SO_REUSEPORT too, and a socket
  // of such a group was not given the broadcast offers here.
  const socket = createSocket({ type: 'udp4', reuseAddr });
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(port, address, () => {
      socket.off('error', reject);
      resolve(socket);
    });
  });
}

/**
 * Send a DISCOVER out of the interface whose address is `address` (a
 * broadcast from a socket bound to it leaves by that interface) and wait
 * `seconds` for an offer; resolves to the offering server, or undefined.
 */
export async function findDhcpServer(address: string, seconds = 6): Promise<string | undefined> {
  const xid = randomBytes(4);
  const mac = Buffer.concat([Buffer.from([0x02]), randomBytes(5)]);
  // Port 68 may be a DHCP client's of this machine (dhclient): then shared.
  const listener = await bound('0.0.0.0', 68).catch(() => bound('0.0.0.0', 68, true));
  let sender: Socket | undefined;
  try {
    // From any port: servers answer a client on port 68 whatever port it asked from.
    sender = await bound(address, 0);
    sender.setBroadcast(true);
    const offer = new Promise<string | undefined>((resolve) => {
      const timer = setTimeout(() => resolve(undefined), seconds * 1000);
      listener.on('message', (packet) => {
        const server = offerFrom(packet, xid);
        if (server !== undefined) {
          clearTimeout(timer);
          resolve(server);
        }
      });
    });
    const packet = discoverPacket(xid, mac);
    const send = (): Promise<void> =>
      new Promise<void>((resolve, reject) =>
        sender!.send(packet, 67, '255.255.255.255', (error) => (error ? reject(error) : resolve())),
      );
    await send();
    // Again every 2 s, as clients do: a server may wait for its own check
    // (dnsmasq pings an address for up to 3 s before it offers it).
    const again = setInterval(() => void send().catch(() => undefined), 2000);
    try {
      return await offer;
    } finally {
      clearInterval(again);
    }
  } finally {
    listener.close();
    sender?.close();
  }
}
