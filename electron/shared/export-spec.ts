/**
 * What makes an export's text fields valid, in one sentence each: the page
 * says it under the field, and main's schema (electron/main/schemas.ts)
 * refuses the same values, so the two cannot disagree.
 */

/** Above this download, TFTP is slow enough to say so (one round trip per ~1.5 KB block): prefer HTTP. */
export const TFTP_SLOW_BYTES = 100 * 1024 * 1024;

/** An example a homelab user recognises, used in the sentences below. */
export const BASE_URL_EXAMPLE = 'http://192.168.1.10/netboot/';

/**
 * Why `url` cannot be the base URL netboot.ipxe fetches the boot files from,
 * or undefined when it can: http or https, a host, and nothing after the path,
 * since iPXE appends the file names to it. iPXE's own settings
 * (`${next-server}`) are allowed: iPXE expands them when it runs the script.
 * Surrounding spaces are ignored (callers trim).
 */
export function baseUrlProblem(url: string): string | undefined {
  const text = url.trim();
  if (text === '') return `Give the address your HTTP server serves this folder at, e.g. ${BASE_URL_EXAMPLE}`;
  let parsed: URL;
  try {
    parsed = new URL(text.replace(/\$\{[^}\s]+\}/g, 'ipxe-setting'));
  } catch {
    return `The base URL must be a web address starting with http:// or https://, e.g. ${BASE_URL_EXAMPLE}`;
  }
  if ((parsed.protocol !== 'http:' && parsed.protocol !== 'https:') || parsed.hostname === '') {
    return `The base URL must start with http:// or https:// and name a server, e.g. ${BASE_URL_EXAMPLE}`;
  }
  if (/\s/.test(text) || text.includes('?') || text.includes('#')) {
    return 'The base URL cannot hold spaces, ? or #: netboot.ipxe adds the file names to its end.';
  }
  return undefined;
}

/**
 * Why `name` cannot be the subfolder of a TFTP root that a TFTP export puts
 * the boot files in, or undefined when it can (empty: none). Plain names
 * only, nested with "/" if wanted: they end up in dnsmasq's configuration and
 * in TFTP requests. A trailing "/" is ignored (callers strip it).
 */
export function subdirProblem(name: string): string | undefined {
  const subdir = name.trim().replace(/\/+$/, '');
  if (name.trim() === '') return undefined;
  if (subdir.length <= 200 && subdir.split('/').every((part) => /^[A-Za-z0-9_-][A-Za-z0-9._-]*$/.test(part))) {
    return undefined;
  }
  return `"${name}" is not a subfolder name: use letters, digits, ".", "_" and "-" (and "/" between folders), not starting with ".", like nixos or lab/router.`;
}
