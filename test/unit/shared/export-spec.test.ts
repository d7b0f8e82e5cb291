import { describe, expect, it } from 'vitest';
import { baseUrlProblem, subdirProblem } from '../../../electron/shared/export-spec.ts';

describe('baseUrlProblem', () => {
  it('accepts http and https addresses with a host and a path, with or without the last slash', () => {
    for (const url of [
      'http://192.168.1.10/netboot/',
      'https://boot.lan',
      'http://[fd00::1]:8080/nb',
      ' http://x/y ',
      'http://${next-server}/nbc',
    ]) {
      expect(baseUrlProblem(url), url).toBeUndefined();
    }
  });

  it('says in one sentence what is wrong: nothing given, not a URL, another scheme, ? # or spaces', () => {
    expect(baseUrlProblem('')).toMatch(/^Give the address your HTTP server serves this folder at, e\.g\. http:/);
    expect(baseUrlProblem('192.168.1.10/netboot')).toMatch(/^The base URL must be a web address starting with http/);
    expect(baseUrlProblem('tftp://192.168.1.10/')).toMatch(/^The base URL must start with http:\/\/ or https:\/\//);
    expect(baseUrlProblem('http://x/boot?v=1')).toBe(
      'The base URL cannot hold spaces, ? or #: netboot.ipxe adds the file names to its end.',
    );
    expect(baseUrlProblem('http://x/a b/')).toMatch(/cannot hold spaces/);
    expect(baseUrlProblem('http://x/#')).toMatch(/cannot hold spaces/);
  });
});

describe('subdirProblem', () => {
  it('takes no subfolder, or plain folder names, nested with /; not .., not hidden, not absolute', () => {
    expect(subdirProblem('')).toBeUndefined();
    expect(subdirProblem('nixos-25.11_router')).toBeUndefined();
    expect(subdirProblem('lab/router')).toBeUndefined();
    expect(subdirProblem('lab/router/')).toBeUndefined();
    for (const bad of ['..', '.', '../up', '/abs', 'a//b', '.hidden', 'with space', '-rf', 'lab/-x']) {
      expect(subdirProblem(bad), bad).toBe(
        `"${bad}" is not a subfolder name: use letters, digits, ".", "_" and "-" (and "/" between folders), not starting with "." or "-", like nixos or lab/router.`,
      );
    }
    // A long one is named in part.
    expect(subdirProblem('x'.repeat(201))).toMatch(/^"x{60}…" is not a subfolder name/);
  });
});
