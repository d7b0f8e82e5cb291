/**
 * Why a test boot failed, from one console line: the kernel ran out of
 * memory, found no initramfs, panicked; iPXE, GRUB or the firmware gave up;
 * the demo reported a problem. Each reason says what to do about it.
 */
import { DEMO_FAILURE_MARKER } from '../media/markers.ts';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Firmware } from '../../shared/types.ts';
import { firstMisalignedStart } from '../media/initrd-padding.ts';

/** The panic message of a kernel's panic line. */
function panicText(line: string): string {
  return line.slice(line.indexOf('Kernel panic - not syncing:') + 'Kernel panic - not syncing:'.length).trim();
}

/** Console lines that mean the boot failed, with the reason to report. */
const FAILURES: { pattern: RegExp; reason: (line: string, context: FailureContext) => string }[] = [
  {
    pattern: /Kernel panic - not syncing: Out of memory|Out of memory: Killed process/,
    reason: () => 'the guest ran out of memory; give it more with --memory',
  },
  {
    // "write error" and "can't allocate buffers": the unpacked files did not fit in RAM.
    pattern: /Initramfs unpacking failed: (write error|can't allocate)/,
    reason: () => 'the kernel could not unpack the initrds: too little memory; give it more with --memory',
  },
  {
    // Any other: the bytes where an archive should start are not one
    // ("invalid magic at start of compressed archive", "junk within ...").
    pattern: /Initramfs unpacking failed/,
    reason: (_line, context) => {
      const at = context.misalignedAt;
      return at === undefined
        ? 'the kernel found no valid initramfs archive: an initrd that is misaligned or corrupt'
        : `the kernel found no valid initramfs archive after byte ${at}: an initrd that is misaligned or corrupt (the one starting there is not on a 4-byte boundary; build the boot folder again, which pads each initrd)`;
    },
  },
  {
    pattern:
      /Kernel panic - not syncing: (VFS: Unable to mount root fs|No working init found|Requested init \S+ failed)/,
    reason: (line) =>
      `the kernel could not find its init (${panicText(line)}); check the init= and initrd lines of netboot.ipxe`,
  },
  { pattern: /Kernel panic - not syncing/, reason: (line) => `the kernel panicked: ${panicText(line)}` },
  {
    pattern: new RegExp(DEMO_FAILURE_MARKER),
    reason: (line) => `the system reported a failure: ${line.slice(line.indexOf(DEMO_FAILURE_MARKER)).trim()}`,
  },
  {
    pattern: /Not enough (space|memory)|Cannot allocate memory/,
    reason: (line) => `the guest has too little RAM for the image (${line.trim()}); give it more with --memory`,
  },
  // iPXE's errors end with a link to their explanation.
  { pattern: /\(https?:\/\/ipxe\.org\/[0-9a-f]{8}\)/, reason: (line) => `iPXE failed: ${line.trim()}` },
  {
    pattern: /No bootable device|No bootable option or device was found/,
    reason: () => 'the firmware found nothing to boot',
  },
  // GRUB (a USB image under UEFI) that cannot read the kernel or an initrd
  // stops at its prompt, where it would wait out the whole timeout.
  {
    pattern: /^error: (file `[^']*' not found|you need to load the kernel first)/,
    reason: (line) => `GRUB could not load the system from the stick (${line.trim()})`,
  },
  // OVMF starts its shell when every other boot option failed (OVMF 2025
  // offers no network boot at all without a random-number device).
  {
    pattern: /BdsDxe: (loading|starting) Boot\w+ "EFI Internal Shell"|UEFI Interactive Shell/,
    reason: () => 'the firmware found nothing to boot and started its EFI shell',
  },
];

/** What is known of the boot that a failure's reason can name. */
export interface FailureContext {
  /**
   * Where the first initrd starts off a 4-byte boundary when the initrds
   * are joined with no padding (as Linux's EFI stub joins `initrd=` files):
   * see `firstMisalignedStart` in initrd.ts.
   */
  misalignedAt?: number | undefined;
}

/** Judge one console line: a failure reason, or undefined. Pure: tested on its own. */
export function failureIn(line: string, context: FailureContext = {}): string | undefined {
  const failure = FAILURES.find((f) => f.pattern.test(line));
  return failure?.reason(line, context);
}

/**
 * The {@link FailureContext} of netbooting the boot folder `dir` under
 * `firmware`: under UEFI the kernel's EFI stub may join the initrds with no
 * padding, so a misaligned one is known before the boot. (BIOS iPXE pads each.)
 */
export async function failureContext(dir: string | undefined, script: string | undefined, firmware: Firmware) {
  if (dir === undefined || script === undefined || firmware !== 'uefi') return {};
  const names = [...script.matchAll(/^initrd\b(?:\s+--\S+)*\s+(\S+)/gm)].map((m) => m[1]!);
  const sizes = await Promise.all(
    names.map(async (name) => (await stat(join(dir, name)).catch(() => undefined))?.size),
  );
  if (sizes.some((size) => size === undefined)) return {};
  return { misalignedAt: firstMisalignedStart(sizes as number[]) };
}
