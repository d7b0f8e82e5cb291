/**
 * The network interfaces a server may answer on: name, IPv4 address and
 * network, and whether the link is up. The user picks one; we never answer
 * on every interface.
 */
import { readdir, readFile } from 'node:fs/promises';
import { networkInterfaces } from 'node:os';
import type { NetInterface } from '../../shared/serve.ts';
import { NetbootError } from '../base/errors.ts';

export type { NetInterface };

export function toNumber(address: string): number {
  return address.split('.').reduce((n, part) => n * 256 + Number(part), 0);
}

export function toAddress(n: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join('.');
}

export function maskOf(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

/** A name the kernel could give an interface (and safe in dnsmasq's configuration). */
export function isInterfaceName(name: string): boolean {
  return /^[A-Za-z0-9_.@-]{1,15}$/.test(name) && name !== '.' && name !== '..';
}

/** Every interface but loopback, in the kernel's order. */
export async function listInterfaces(): Promise<NetInterface[]> {
  const names = (await readdir('/sys/class/net').catch(() => [] as string[])).filter((n) => n !== 'lo').sort();
  const addresses = networkInterfaces();
  const list: NetInterface[] = [];
  for (const name of names) {
    const state = (await readFile(`/sys/class/net/${name}/operstate`, 'utf8').catch(() => 'unknown')).trim();
    const flags = Number((await readFile(`/sys/class/net/${name}/flags`, 'utf8').catch(() => '0')).trim());
    const v4 = (addresses[name] ?? []).find((a) => a.family === 'IPv4');
    const prefix = v4 ? Number(v4.cidr?.split('/')[1] ?? 24) : undefined;
    list.push({
      name,
      state,
      // IFF_UP, and a carrier (or a kernel that cannot tell: bridges, taps say "unknown").
      up: (flags & 1) === 1 && state !== 'down' && state !== 'lowerlayerdown',
      ...(v4 && prefix !== undefined
        ? {
            address: v4.address,
            prefix,
            netmask: toAddress(maskOf(prefix)),
            network: toAddress((toNumber(v4.address) & maskOf(prefix)) >>> 0),
          }
        : {}),
    });
  }
  return list;
}

/** The interface `name`, up and with an IPv4 address, or one sentence saying what is wrong. */
export async function usableInterface(name: string): Promise<Required<NetInterface>> {
  const all = await listInterfaces();
  const found = all.find((i) => i.name === name);
  const names = all.map((i) => i.name).join(', ') || 'none';
  if (!isInterfaceName(name) || !found) {
    throw new NetbootError(
      `There is no network interface "${name}" on this machine (there are: ${names}); pick one of those.`,
    );
  }
  if (!found.up) {
    throw new NetbootError(
      `The link of ${name} is down (${found.state}); plug its cable in or bring it up, then serve again.`,
    );
  }
  if (!found.address) {
    throw new NetbootError(
      `${name} has no IPv4 address, so machines could not reach this one there; give it one, or pick another interface.`,
    );
  }
  return found as Required<NetInterface>;
}
