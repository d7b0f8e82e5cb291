/** The names of a boot folder's files: what the build writes and the app shows. */
import type { Arch } from './types.ts';

/** The initrds, in the order iPXE loads them. */
export const INITRD_NAMES = ['initrd', 'manifest', 'nix-store'] as const;
export const SCRIPT_NAME = 'netboot.ipxe';

/** The kernel's file name in the boot folder: what the architecture's boot loaders expect. */
export function kernelFileName(arch: Arch): string {
  return arch === 'aarch64-linux' ? 'Image' : 'bzImage';
}
