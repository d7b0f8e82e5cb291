/** The names of a boot folder's files: what the build writes and the app shows. */
import type { Arch } from './types.ts';

/**
 * The initrds of a boot folder with one store file, in the order iPXE loads
 * them: a boot folder made before the store was split, and the smallest
 * closures. A bigger store is several files: see {@link initrdNames}.
 */
export const INITRD_NAMES = ['initrd', 'manifest', 'nix-store'] as const;
export const SCRIPT_NAME = 'netboot.ipxe';

/** The store's files: `nix-store`, `nix-store-1`, `nix-store-2`, ... */
const STORE_FILE = /^nix-store(?:-([1-9][0-9]{0,3}))?$/;

/** The name of the store's file number `index` (0: `nix-store`, the name a boot folder with one store file has always had). */
export function storeFileName(index: number): string {
  return index === 0 ? 'nix-store' : `nix-store-${index}`;
}

/** Whether `name` is one of the store's initrd files. */
export function isStoreFile(name: string): boolean {
  return STORE_FILE.test(name);
}

/** The number of the store file `name` (see {@link storeFileName}). */
function storeFileIndex(name: string): number {
  return Number(STORE_FILE.exec(name)?.[1] ?? 0);
}

/**
 * The initrds among a boot folder's file names, in the order they are loaded:
 * the system's `initrd`, `manifest`, then the store's files by number.
 */
export function initrdNames(names: readonly string[]): string[] {
  const store = names.filter(isStoreFile).sort((a, b) => storeFileIndex(a) - storeFileIndex(b));
  return [...['initrd', 'manifest'].filter((name) => names.includes(name)), ...store];
}

/** Whether `name` is an initrd of a boot folder. */
export function isInitrdName(name: string): boolean {
  return name === 'initrd' || name === 'manifest' || isStoreFile(name);
}

/** The kernel's file name in the boot folder: what the architecture's boot loaders expect. */
export function kernelFileName(arch: Arch): string {
  return arch === 'aarch64-linux' ? 'Image' : 'bzImage';
}
