/**
 * The iPXE scripts the server makes on the fly: the entry every iPXE client
 * is sent to by DHCP (`boot.ipxe`), which asks again with its MAC address;
 * the answer is the system assigned to that MAC, the only system, or a menu
 * of every system (`menu.ipxe`).
 */
import type { ServedSystem } from './snapshot.ts';

export interface MenuOptions {
  /** The entry chosen when nobody presses a key: 1, 2, ... */
  defaultIndex: number;
  /** Seconds before the default is taken. */
  timeoutSeconds: number;
}

/** MAC addresses as we keep them: lower case, colons. */
export function normalMac(mac: string): string | undefined {
  const hex = mac.toLowerCase().replace(/[-:.]/g, '');
  if (!/^[0-9a-f]{12}$/.test(hex)) return undefined;
  return hex.match(/../g)!.join(':');
}

/**
 * What DHCP hands iPXE: it comes back with its MAC address. The URL is
 * absolute: iPXE would read a relative one with a colon in it as a scheme.
 */
export function entryScript(base: string): string {
  return `#!ipxe\nchain ${base}/select.ipxe?mac=\${netX/mac:hexhyp}\n`;
}

// eslint-disable-next-line no-control-regex
const CONTROL_OR_DOLLAR = /[\0-\x1f\x7f$]/g;

/** A menu line's text: iPXE takes the rest of the line as it is. */
function itemText(system: ServedSystem): string {
  const parts = [system.version ? `NixOS ${system.version}` : undefined, system.arch];
  const ram = system.ramBytes ? `needs ${Math.ceil(system.ramBytes / 2 ** 20)} MiB of RAM` : undefined;
  // A line break would end the item; iPXE would expand a ${...} in it.
  return [system.name, parts.filter(Boolean).join(', '), ram]
    .filter(Boolean)
    .join(' - ')
    .replace(CONTROL_OR_DOLLAR, ' ');
}

/** The menu of every system: a default, taken after a timeout. */
export function menuScript(systems: readonly ServedSystem[], options: MenuOptions): string {
  const chosen = systems.find((s) => s.index === options.defaultIndex) ?? systems[0]!;
  return [
    '#!ipxe',
    'menu Netboot Composer: choose a system',
    ...systems.map((s) => `item system${s.index} ${s.index}. ${itemText(s)}`),
    `choose --timeout ${Math.round(options.timeoutSeconds * 1000)} --default system${chosen.index} target || goto system${chosen.index}`,
    'goto ${target}',
    ...systems.flatMap((s) => [`:system${s.index}`, `chain ${s.index}/netboot.ipxe`]),
    '',
  ].join('\n');
}

/** The answer to `select.ipxe?mac=MAC`. */
export function selectScript(
  systems: readonly ServedSystem[],
  assignments: ReadonlyMap<string, number>,
  mac: string | undefined,
  options: MenuOptions,
): string {
  const assigned = mac === undefined ? undefined : assignments.get(mac);
  const system = systems.find((s) => s.index === assigned) ?? (systems.length === 1 ? systems[0] : undefined);
  if (system) return `#!ipxe\nchain ${system.index}/netboot.ipxe\n`;
  return menuScript(systems, options);
}
