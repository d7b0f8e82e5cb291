/**
 * The iPXE loaders this machine has (Debian's `ipxe` package): what a TFTP
 * export copies for PXE firmware, and what a UEFI test boot chainloads.
 */
import { accessSync, constants } from 'node:fs';
import { join } from 'node:path';

/** The iPXE loaders a TFTP export offers, and where distributions put them. */
export const IPXE_LOADERS = {
  /** BIOS: iPXE on top of the card's own PXE stack (UNDI); loads from any PXE ROM. */
  'undionly.kpxe': ['/usr/lib/ipxe/undionly.kpxe', '/usr/share/ipxe/undionly.kpxe'],
  /** UEFI, with the firmware's network driver (SNP): works on any card the firmware netboots from. */
  'snponly.efi': [
    '/usr/lib/ipxe/snponly.efi',
    '/usr/share/ipxe/snponly.efi',
    '/usr/share/ipxe/ipxe-snponly-x86_64.efi',
    '/usr/share/ipxe/x86_64/snponly.efi',
  ],
  /** UEFI, with iPXE's own drivers. */
  'ipxe.efi': [
    '/usr/lib/ipxe/ipxe.efi',
    '/usr/share/ipxe/ipxe.efi',
    '/usr/share/ipxe/ipxe-x86_64.efi',
    '/usr/share/ipxe/x86_64/ipxe.efi',
  ],
} as const;

export type LoaderName = keyof typeof IPXE_LOADERS;

/** The Debian package with the loaders. */
export const IPXE_PACKAGE = 'ipxe';

/**
 * Where each loader is on this machine (absent: not found). The variable
 * NETBOOT_COMPOSER_IPXE_DIR names the one folder to look in instead.
 */
export function findIpxeLoaders(
  dir: string | undefined = process.env.NETBOOT_COMPOSER_IPXE_DIR,
): Partial<Record<LoaderName, string>> {
  const found: Partial<Record<LoaderName, string>> = {};
  for (const [name, candidates] of Object.entries(IPXE_LOADERS) as [LoaderName, readonly string[]][]) {
    for (const candidate of dir === undefined ? candidates : [join(dir, name)]) {
      try {
        accessSync(candidate, constants.R_OK);
        found[name] = candidate;
        break;
      } catch {
        // not here
      }
    }
  }
  return found;
}
