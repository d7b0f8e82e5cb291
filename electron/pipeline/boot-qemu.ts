/**
 * What every QEMU run of ours shares, the KVM probe's and the test boots':
 * one small PC, its console on stdout, no display, no monitor, no reboot.
 */
import { resolve } from 'node:path';
import type { Accel } from '../shared/types.ts';

/** A path as a QEMU option value: absolute, its commas doubled. */
export const comma = (path: string): string => resolve(path).replace(/,/g, ',,');

/** The machine, the accelerator (KVM with the host's CPU), RAM and the serial console on stdout. Pure. */
export function baseQemuArgs(accel: Accel, memoryMiB: number): string[] {
  return [
    '-machine',
    'pc',
    '-accel',
    accel,
    ...(accel === 'kvm' ? ['-cpu', 'host'] : []),
    '-m',
    String(memoryMiB),
    '-smp',
    '1',
    '-nodefaults',
    '-display',
    'none',
    '-serial',
    'stdio',
    '-monitor',
    'none',
    '-no-reboot',
  ];
}
