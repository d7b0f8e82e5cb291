/**
 * The iPXE scripts the server makes on the fly: the entry every iPXE client
 * is sent to by DHCP (`boot.ipxe`), which asks again with its MAC address;
 * the answer is the system assigned to that MAC, the only system, or a menu
 * of every system (`menu.ipxe`). The entry also sends iPXE's own
 * architecture (`${buildarch}`), and a machine is only offered the systems
 * built for it: an x86 machine never gets an aarch64 system, nor the reverse.
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
  return `#!ipxe\nchain ${base}/select.ipxe?mac=\${netX/mac:hexhyp}&arch=\${buildarch}\n`;
}

/** The systems an iPXE of `buildarch` can boot (i386 and x86_64: x86_64-linux; arm64: aarch64-linux); unknown: all. */
export function systemsFor<S extends { arch?: string | undefined }>(systems: readonly S[], buildarch?: string): S[] {
  const arch =
    buildarch === 'i386' || buildarch === 'x86_64'
      ? 'x86_64-linux'
      : buildarch === 'arm64'
        ? 'aarch64-linux'
        : undefined;
  return arch ? systems.filter((s) => s.arch === undefined || s.arch === arch) : [...systems];
}

/** The answer to a machine none of the served systems is built for. */
// eslint-disable-next-line no-control-regex
const CONTROL_OR_DOLLAR = /[\0-\x1f\x7f$]/g;

/** The answer to a machine none of the served systems is built for. */
function noSystemScript(buildarch: string, systems: readonly ServedSystem[]): string {
  const served = [...new Set(systems.map((s) => s.arch ?? '?'))].join(', ').replace(CONTROL_OR_DOLLAR, ' ');
  return `#!ipxe\necho Netboot Composer serves no system for this machine (iPXE ${buildarch}); the systems served are for ${served}.\nexit 1\n`;
}

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

/** The menu of every system (for `buildarch`, when given): a default, taken after a timeout. */
export function menuScript(all: readonly ServedSystem[], options: MenuOptions, buildarch?: string): string {
  const systems = systemsFor(all, buildarch);
  if (systems.length === 0) return noSystemScript(buildarch ?? '', all);
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
  all: readonly ServedSystem[],
  assignments: ReadonlyMap<string, number>,
  mac: string | undefined,
  options: MenuOptions,
  buildarch?: string,
): string {
  const systems = systemsFor(all, buildarch);
  if (systems.length === 0) return noSystemScript(buildarch ?? '', all);
  // An assignment to a system of another architecture is not followed: the machine could not boot it.
  const assigned = mac === undefined ? undefined : assignments.get(mac);
  const system = systems.find((s) => s.index === assigned) ?? (systems.length === 1 ? systems[0] : undefined);
  if (system) return `#!ipxe\nchain ${system.index}/netboot.ipxe\n`;
  return menuScript(systems, options);
}
