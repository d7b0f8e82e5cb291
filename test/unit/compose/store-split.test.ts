/**
 * The split of the store into initrd files is stable: a path's file depends
 * on its package name and the number of files only, so a one-path change
 * (a new hash, the same name) rewrites one file, not all.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_STORE_FILE_TARGET,
  MAX_STORE_FILE_BYTES,
  packageName,
  splitStore,
} from '../../../electron/pipeline/compose/store-split.ts';

const MiB = 1024 * 1024;

/** A made-up store path with a Nix-looking hash. */
function storePath(name: string): string {
  const hash = createHash('sha256')
    .update(name)
    .digest('hex')
    .slice(0, 32)
    .replace(/[eotu]/g, 'a');
  return `/nix/store/${hash}-${name}`;
}

/** A server-shaped closure: many small paths, a few big ones. */
function closure(count: number): { path: string; narSize: number }[] {
  return Array.from({ length: count }, (_, i) => ({
    path: storePath(`pkg${i}-1.${i % 7}`),
    narSize: i % 100 === 0 ? 100 * MiB : ((i * 7919) % 2000) * 1024 + 4096,
  }));
}

/** The paths of each file, as sets of names. */
function files(paths: readonly { path: string }[], fileOf: readonly number[]): Map<number, string[]> {
  const byFile = new Map<number, string[]>();
  paths.forEach((p, i) => byFile.set(fileOf[i]!, [...(byFile.get(fileOf[i]!) ?? []), p.path].sort()));
  return byFile;
}

describe('splitStore', () => {
  it('keeps a small closure in one file, the nix-store of every boot folder before the split', () => {
    expect(splitStore(closure(30).slice(1)).files).toBe(1);
    expect(splitStore([]).files).toBe(1);
  });

  it('aims at the target: a power of two of files, each a share of the closure', () => {
    const paths = closure(1500);
    const total = paths.reduce((s, p) => s + p.narSize, 0);
    const split = splitStore(paths, 64 * MiB);
    expect(split.files).toBe(Math.min(32, 2 ** Math.ceil(Math.log2(total / (64 * MiB)))));
    expect(splitStore(paths, 512 * MiB).files).toBe(2 ** Math.ceil(Math.log2(total / (512 * MiB))));
    expect(new Set(split.fileOf).size).toBeGreaterThan(split.files / 2);
  });

  it('changes one file when one path changes, and leaves every other path where it was', () => {
    const before = closure(1500);
    // pkg700 at another version: a new hash, the same package name.
    const after = before.map((p, i) => (i === 700 ? { path: storePath('pkg700-1.1-patched'), narSize: p.narSize } : p));
    const a = splitStore(before, 64 * MiB);
    const b = splitStore(after, 64 * MiB);
    expect(b.files).toBe(a.files);
    const changed = [...files(before, a.fileOf)].filter(
      ([file, names]) => JSON.stringify(files(after, b.fileOf).get(file)) !== JSON.stringify(names),
    );
    // The file the old version was in, which the new one takes.
    expect(changed).toHaveLength(1);
    before.forEach((_, i) => expect(b.fileOf[i]).toBe(a.fileOf[i]));
  });

  it('puts a path in the same file whatever order the closure is listed in', () => {
    const paths = closure(400);
    const reversed = [...paths].reverse();
    const a = splitStore(paths, 16 * MiB);
    const b = splitStore(reversed, 16 * MiB);
    paths.forEach((p, i) => expect(b.fileOf[paths.length - 1 - i]).toBe(a.fileOf[i]));
  });

  it('keeps every file under the FAT32 limit, with more files when the target would not', () => {
    // 40 paths of 1 GiB: 40 GiB at most 32 files would put two or more in some file.
    const paths = Array.from({ length: 40 }, (_, i) => ({ path: storePath(`big${i}-1`), narSize: 1024 * MiB }));
    const split = splitStore(paths, DEFAULT_STORE_FILE_TARGET);
    const sizes = new Map<number, number>();
    paths.forEach((p, i) => sizes.set(split.fileOf[i]!, (sizes.get(split.fileOf[i]!) ?? 0) + p.narSize));
    expect(Math.max(...sizes.values())).toBeLessThanOrEqual(MAX_STORE_FILE_BYTES);
    // A single path over the limit is a file of its own, not a reason for ever more files.
    const huge = splitStore([{ path: storePath('huge'), narSize: 5 * 1024 * MiB }]);
    expect(huge.files).toBe(1);
    // Big paths of one name (a flake's many `source` inputs): split by whole store path instead.
    const sources = Array.from({ length: 12 }, (_, i) => ({ path: storePath(`source#${i}`), narSize: 1024 * MiB }));
    const bySource = splitStore(
      sources.map((p) => ({ ...p, path: p.path.replace(/source#\d+$/, 'source') })),
      DEFAULT_STORE_FILE_TARGET,
    );
    const perFile = new Map<number, number>();
    bySource.fileOf.forEach((file) => perFile.set(file, (perFile.get(file) ?? 0) + 1024 * MiB));
    expect(Math.max(...perFile.values())).toBeLessThanOrEqual(MAX_STORE_FILE_BYTES);
  });

  it('reads the package name as Nix does (parseDrvName)', () => {
    expect(packageName(storePath('hello-2.12.1'))).toBe('hello');
    expect(packageName(storePath('nixos-system-myhost-25.11.20251130.abcdef'))).toBe('nixos-system-myhost');
    expect(packageName(storePath('unit-dbus.service'))).toBe('unit-dbus.service');
    expect(packageName(storePath('etc'))).toBe('etc');
    expect(packageName(storePath('python3.12-requests-2.32.3'))).toBe('python3.12-requests');
  });
});
