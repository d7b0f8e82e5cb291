/**
 * Store path names and the layout of the squashfs files inside the initramfs,
 * as the seed's stage 1 (assets/nix/quickly.nix, postMountCommands) reads it.
 */
export const STORE_DIR = '/nix/store';

/** Characters Nix allows in a store path's name (after the hash and dash). */
const STORE_BASENAME = /^[0-9a-df-np-sv-z]{32}-[A-Za-z0-9+\-._?=]+$/;

/** True for `/nix/store/HASH-NAME` (not a file inside one). */
export function isStorePath(path: string): boolean {
  if (!path.startsWith(`${STORE_DIR}/`)) return false;
  return STORE_BASENAME.test(path.slice(STORE_DIR.length + 1));
}

/** `HASH-NAME` of a store path. */
export function storeBaseName(storePath: string): string {
  return storePath.slice(STORE_DIR.length + 1);
}

/** The name part of a store path, without the hash: `nixos-system-demo-25.11`. */
export function storeName(storePath: string): string {
  return storeBaseName(storePath).slice(33);
}

/** The store path a path inside the store belongs to, or undefined outside the store. */
export function owningStorePath(path: string): string | undefined {
  if (!path.startsWith(`${STORE_DIR}/`)) return undefined;
  const base = path.slice(STORE_DIR.length + 1).split('/')[0] ?? '';
  const storePath = `${STORE_DIR}/${base}`;
  return isStorePath(storePath) ? storePath : undefined;
}

/** Where the manifest and the squashfs files live in the initramfs. */
export const SQUASHES_DIR = '/nix-store-squashes';
export const SQUASHES_LIST = `${SQUASHES_DIR}/squashes`;
export const REGISTRATION = `${SQUASHES_DIR}/registration.gz`;

/**
 * Where the squashfs of `storePath` sits in the initramfs. Stage 1 rebuilds
 * `HASH-NAME` by joining the last two components, so the first 8 characters
 * of the base name are the folder and the rest the file name, as netboot.nix
 * does. Nix's hash alphabet has no "e", "o", "t" or "u", so no folder can
 * collide with `squashes`.
 */
export function squashfsLocation(storePath: string): string {
  const base = storeBaseName(storePath);
  return `${SQUASHES_DIR}/${base.slice(0, 8)}/${base.slice(8)}`;
}

/**
 * One line of `/nix-store-squashes/squashes`: the location with a space after
 * the first 20 characters, which stage 1 removes (`sed 's/ //'`). netboot.nix
 * splits the line so that Nix sees no store reference in the manifest.
 */
export function manifestLine(storePath: string): string {
  const location = squashfsLocation(storePath);
  return `${location.slice(0, 20)} ${location.slice(20)}`;
}

/** The whole `squashes` file for a closure, one line per path, sorted. */
export function manifestText(storePaths: readonly string[]): string {
  return [...storePaths]
    .sort()
    .map((p) => `${manifestLine(p)}\n`)
    .join('');
}
