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
  // Before trimming: a line break at the end is no less a line break in netboot.ipxe.
  // eslint-disable-next-line no-control-regex
  if (/[\0-\x1f\x7f]/.test(url)) {
    return 'The base URL cannot hold line breaks or other control characters: netboot.ipxe fetches from it as typed.';
  }
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
 * in TFTP requests, and none starts with "-" (nothing reads it as an
 * option). A trailing "/" is ignored (callers strip it).
 */
export function subdirProblem(name: string): string | undefined {
  const subdir = name.trim().replace(/\/+$/, '');
  // eslint-disable-next-line no-control-regex
  const control = /[\0-\x1f\x7f]/.test(name);
  if (name.trim() === '' && !control) return undefined;
  if (
    !control &&
    subdir.length <= 200 &&
    subdir.split('/').every((part) => /^[A-Za-z0-9_][A-Za-z0-9._-]*$/.test(part))
  ) {
    return undefined;
  }
  // eslint-disable-next-line no-control-regex
  const printable = name.replace(/[\0-\x1f\x7f]/g, '?');
  const shown = printable.length > 60 ? `${printable.slice(0, 60)}…` : printable;
  return `"${shown}" is not a subfolder name: use letters, digits, ".", "_" and "-" (and "/" between folders), not starting with "." or "-", like nixos or lab/router.`;
}
