/** The names of a boot folder's files: what the build writes and the app shows. */
import type { Arch } from './types.ts';

/** The initrds, in the order iPXE loads them. */
export const INITRD_NAMES = ['initrd', 'manifest', 'nix-store'] as const;
export const SCRIPT_NAME = 'netboot.ipxe';

/** The kernel's file name in the boot folder: what the architecture's boot loaders expect. */
export function kernelFileName(arch: Arch): string {
  return arch === 'aarch64-linux' ? 'Image' : 'bzImage';
}

/**
 * Why `subdir` cannot be the subfolder of a TFTP root that a TFTP export puts
 * the boot files in, in one sentence, or undefined when it can. Plain names
 * only: they end up in dnsmasq's configuration and in TFTP requests.
 */
export function subdirProblem(subdir: string): string | undefined {
  const parts = subdir.split('/');
  if (subdir.length > 0 && parts.every((part) => /^[A-Za-z0-9_-][A-Za-z0-9._-]*$/.test(part))) return undefined;
  return `"${subdir}" is not a subfolder name: use letters, digits, ".", "_" and "-" (and "/" between folders), not starting with ".", like router or lab/router.`;
}
