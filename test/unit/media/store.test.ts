import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import {
  isStorePath,
  manifestLine,
  manifestText,
  owningStorePath,
  squashfsLocation,
  storeName,
} from '../../../electron/pipeline/media/store.ts';

const PATH = '/nix/store/c8ccy5gy6bmdpycl6bp3yyw3amz32paf-nixos-system-demo-25.11';

describe('store paths and the squashes manifest', () => {
  it('recognises store paths and nothing inside or outside them', () => {
    expect(isStorePath(PATH)).toBe(true);
    expect(isStorePath(`${PATH}/init`)).toBe(false);
    expect(isStorePath('/nix/store/tooshort-x')).toBe(false);
    expect(isStorePath('/home/me/result')).toBe(false);
    // "e", "o", "t" and "u" are not in Nix's hash alphabet.
    expect(isStorePath('/nix/store/e8ccy5gy6bmdpycl6bp3yyw3amz32paf-x')).toBe(false);
    expect(owningStorePath(`${PATH}/sw/bin/sh`)).toBe(PATH);
    expect(storeName(PATH)).toBe('nixos-system-demo-25.11');
  });

  it('splits each line after 20 characters, as netboot.nix does', () => {
    expect(manifestLine(PATH)).toBe('/nix-store-squashes/ c8ccy5gy/6bmdpycl6bp3yyw3amz32paf-nixos-system-demo-25.11');
    expect(squashfsLocation(PATH)).toBe(
      '/nix-store-squashes/c8ccy5gy/6bmdpycl6bp3yyw3amz32paf-nixos-system-demo-25.11',
    );
  });

  it("gives stage 1's own shell commands back the squashfs file and the store path name", () => {
    // The commands of the seed's postMountCommands that read the manifest, run by a real shell.
    const text = manifestText([PATH, '/nix/store/0aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-single-file.txt']);
    const script = `
      for f in $(cat | sed 's/ //'); do
        prefix=$(basename "$(dirname "$f")")
        suffix=$(basename "$f")
        dest="$prefix$suffix"
        echo "$f $dest"
      done`;
    const out = execFileSync('sh', ['-c', script], { input: text, encoding: 'utf8' });
    expect(out.trim().split('\n')).toEqual([
      '/nix-store-squashes/0aaaaaaa/aaaaaaaaaaaaaaaaaaaaaaaa-single-file.txt 0aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-single-file.txt',
      `${squashfsLocation(PATH)} ${PATH.slice('/nix/store/'.length)}`,
    ]);
  });

  it('holds no store path in the manifest, so Nix sees no reference in it', () => {
    expect(manifestText([PATH])).not.toContain('c8ccy5gy6bmdpycl6bp3yyw3amz32paf');
  });
});
