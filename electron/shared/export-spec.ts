/**
 * What makes an export's text fields valid, in one sentence each: the page
 * says it under the field, and main's schema (electron/main/schemas.ts)
 * refuses the same values, so the two cannot disagree.
 */

/** An example a homelab user recognises, used in the sentences below. */
export const BASE_URL_EXAMPLE = 'http://192.168.1.10/netboot/';

/**
 * Why `url` cannot be the base URL netboot.ipxe fetches the boot files from,
 * or undefined when it can: http or https, a host, and nothing after the path,
 * since iPXE appends the file names to it.
 */
export function baseUrlProblem(url: string): string | undefined {
  const text = url.trim();
  if (text === '') return `Give the address your HTTP server serves this folder at, e.g. ${BASE_URL_EXAMPLE}`;
  let parsed: URL;
  try {
    parsed = new URL(text);
  } catch {
    return `The base URL must be a web address starting with http:// or https://, e.g. ${BASE_URL_EXAMPLE}`;
  }
  if ((parsed.protocol !== 'http:' && parsed.protocol !== 'https:') || parsed.hostname === '') {
    return `The base URL must start with http:// or https:// and name a server, e.g. ${BASE_URL_EXAMPLE}`;
  }
  if (/\s/.test(text) || parsed.search !== '' || parsed.hash !== '' || text.includes('?') || text.includes('#')) {
    return 'The base URL cannot hold spaces, ? or #: netboot.ipxe adds the file names to its end.';
  }
  return undefined;
}

/** Why `name` cannot be the subfolder of a TFTP export, or undefined when it can (empty: none). */
export function subdirProblem(name: string): string | undefined {
  if (name === '') return undefined;
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(name) || name === '.' || name === '..') {
    return 'The subfolder is one folder name of letters, digits, ".", "-" or "_" (no "/"), e.g. nixos.';
  }
  return undefined;
}
