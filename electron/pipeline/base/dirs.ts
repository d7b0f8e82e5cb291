/**
 * Where the app keeps its own files between runs: the cache of packed store
 * paths and the facts it learns about the machine (the KVM probe).
 */
import { homedir } from 'node:os';
import { join } from 'node:path';

/** The cache folder used when none is given: `$XDG_CACHE_HOME/netboot-composer`. */
export function defaultCacheDir(): string {
  const fromEnv = process.env.NETBOOT_COMPOSER_CACHE;
  if (fromEnv) return fromEnv;
  const xdg = process.env.XDG_CACHE_HOME;
  return join(xdg && xdg.startsWith('/') ? xdg : join(homedir(), '.cache'), 'netboot-composer');
}

/** Where machine facts are kept between runs (the KVM probe): `$XDG_STATE_HOME/netboot-composer`. */
export function defaultStateDir(): string {
  const xdg = process.env.XDG_STATE_HOME;
  return join(xdg && xdg.startsWith('/') ? xdg : join(homedir(), '.local', 'state'), 'netboot-composer');
}
