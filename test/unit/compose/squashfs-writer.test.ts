/**
 * The in-process squashfs writer's proof, against the real mksquashfs and
 * unsquashfs: for each tree, `unsquashfs -lls` of our image is the same
 * bytes as of mksquashfs's (with our flags, packStorePath), both images
 * extract to the same tree (types, modes, contents, symlink targets, hard
 * links, times), and that tree is the store path's. Written-out trees cover
 * the edges (block and fragment boundaries, sparse files, hard links, long
 * symlinks, deep folders, a folder of 3,000 entries with its index, odd
 * names, modes, a path that is one file or one symlink); fast-check makes
 * more, seeded. The kernel reads the same images in the demo's boot
 * (test/e2e/demo-boot.test.ts: the writer is the default for small paths).
 */
import fc from 'fast-check';
import { execFileSync } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BLOCK_SIZE, NotForBuiltinError, writeSquashfs } from '../../../electron/pipeline/compose/squashfs-writer.ts';
import type { SquashfsCompression } from '../../../electron/shared/types.ts';
import { tempDir } from '../../helpers/fixtures.ts';
import { makeTree, roundTrip, treeFacts, type Spec } from '../../helpers/squashfs-roundtrip.ts';

const COMPRESSIONS: SquashfsCompression[] = [
  { name: 'zstd', level: 6 },
  { name: 'gzip', level: 9 },
];
/** Levels other than the default: the compressor options block after the superblock. */
const OTHER_LEVELS: SquashfsCompression[] = [{ name: 'gzip', level: 6 }, { name: 'zstd' }, { name: 'zstd', level: 19 }];

const STORE_NAME = '0123456789abcdfghijklmnpqrsvwxyz-test-1.0';

/** Make `spec` as a "store path" in a new folder, pack it both ways and check what the brief asks. */
async function check(spec: Spec, compression: SquashfsCompression, name = STORE_NAME): Promise<void> {
  const work = await tempDir('nbc-sqw-');
  const storePath = join(work, name);
  await makeTree(Buffer.from(storePath), spec);
  const result = await roundTrip(storePath, work, compression);
  expect(result.listings.builtin).toBe(result.listings.mksquashfs);
  expect(result.extracted.builtin).toEqual(result.extracted.mksquashfs);
  expect(result.fromBuiltin).toEqual(result.source);
  // The same choices (blocks, fragments, sparse blocks, duplicates stored once): about mksquashfs's size.
  expect(result.sizes.builtin).toBeLessThanOrEqual(result.sizes.mksquashfs * 1.03 + 512);
}

const file = (size: number, kind: 'text' | 'random' | 'zero' | 'sparse' = 'text', mode = 0o444, seed = size): Spec => ({
  kind: 'file',
  mode,
  content: { kind, size, seed },
});
const dir = (entries: Record<string, Spec>, mode = 0o555): Spec => ({
  kind: 'dir',
  mode,
  entries: Object.entries(entries).map(([name, spec]) => ({ name, spec })),
});

/** Sizes at and around the block size and the fragment block's fill. */
const EDGE_SIZES = [
  0,
  1,
  2,
  4095,
  4096,
  BLOCK_SIZE - 1,
  BLOCK_SIZE,
  BLOCK_SIZE + 1,
  2 * BLOCK_SIZE,
  2 * BLOCK_SIZE + 1,
];

function edgeTree(): Spec {
  const files: Record<string, Spec> = {};
  for (const size of EDGE_SIZES) {
    files[`text-${size}`] = file(size, 'text');
    files[`random-${size}`] = file(size, 'random', 0o555);
  }
  // Fragments that fill a fragment block exactly, and one byte over.
  for (let i = 0; i < 4; i++) files[`quarter-${i}`] = file(BLOCK_SIZE / 4, 'random', 0o444, 100 + i);
  files['over-by-one'] = file(1, 'random', 0o444, 7);
  files['zeros-small'] = file(1000, 'zero');
  files['zeros-3-blocks'] = file(3 * BLOCK_SIZE + 5, 'zero');
  files['sparse-1m'] = file(1024 * 1024 + 3, 'sparse');
  files['sparse-tail'] = file(BLOCK_SIZE + 10, 'sparse');
  // Duplicates, stored once: whole blocks and fragments.
  files['dup-a'] = file(2 * BLOCK_SIZE + 7, 'random', 0o444, 42);
  files['dup-b'] = file(2 * BLOCK_SIZE + 7, 'random', 0o444, 42);
  files['dup-small-a'] = file(300, 'random', 0o444, 43);
  files['dup-small-b'] = file(300, 'random', 0o555, 43);
  return dir({ share: dir(files), empty: dir({}, 0o755) });
}

function linksTree(): Spec {
  return dir({
    bin: dir({
      tool: { kind: 'file', mode: 0o555, content: { kind: 'random', size: 5000, seed: 1 }, links: 2 },
      big: { kind: 'file', mode: 0o555, content: { kind: 'text', size: BLOCK_SIZE * 2 + 3, seed: 2 }, links: 1 },
      empty: { kind: 'file', mode: 0o444, content: { kind: 'text', size: 0, seed: 0 }, links: 1 },
      short: { kind: 'symlink', target: 'tool' },
      absolute: { kind: 'symlink', target: '/nix/store/0123456789abcdfghijklmnpqrsvwxyz-other/bin/x' },
      long: { kind: 'symlink', target: `${'../'.repeat(300)}${'d/'.repeat(1500)}end` },
      dangling: { kind: 'symlink', target: 'does-not-exist' },
      'to-dir': { kind: 'symlink', target: '../lib' },
    }),
    lib: dir({}),
  });
}

function deepTree(): Spec {
  let spec: Spec = dir({ bottom: file(10) });
  for (let depth = 0; depth < 60; depth++) spec = dir({ [`level-${depth}`]: spec, [`f${depth}`]: file(depth) });
  return spec;
}

function wideTree(count: number, nameLength: number): Spec {
  const entries: Record<string, Spec> = {};
  for (let i = 0; i < count; i++) {
    const name = `${String(i).padStart(5, '0')}-${'n'.repeat(nameLength)}`;
    entries[name] = i % 3 === 0 ? dir({}) : i % 3 === 1 ? file(i % 50) : { kind: 'symlink', target: name };
  }
  return dir(entries);
}

function oddNamesTree(): Spec {
  const names: (string | Buffer)[] = [
    'ü-umlaut',
    'naïve file',
    '日本語のファイル',
    'emoji-😀',
    'e\u0301-nfd',
    '-leading-dash',
    ' leading space',
    'trailing space ',
    'tab\tname',
    'new\nline',
    'back\\slash',
    'quote\'"',
    '$(not-run)',
    '*?[glob]',
    '.hidden',
    '..dots',
    'x'.repeat(255),
    Buffer.from([0x6c, 0x61, 0x74, 0x69, 0x6e, 0x31, 0xe9, 0xff]),
    Buffer.from([0x80, 0x81]),
  ];
  return {
    kind: 'dir',
    mode: 0o555,
    entries: names.map((name, i) => ({ name, spec: i % 2 ? file(i * 10) : dir({ [`in-${i}`]: file(i) }) })),
  };
}

function modesTree(): Spec {
  const modes = [0o444, 0o555, 0o644, 0o755, 0o600, 0o4755, 0o2755, 0o6711, 0o1755, 0o000, 0o777];
  const entries: Record<string, Spec> = {};
  for (const mode of modes) {
    entries[`file-${mode.toString(8)}`] = file(mode, 'text', mode);
    entries[`dir-${mode.toString(8)}`] = dir({ x: file(1) }, mode | 0o500);
  }
  entries['sticky-dir'] = dir({}, 0o1777);
  return dir(entries, 0o755);
}

describe.each(COMPRESSIONS)('the built-in writer with $name:$level reads back as mksquashfs’s image', (compression) => {
  it('files at and around the block and fragment boundaries, zeros, sparse files and duplicates', async () => {
    await check(edgeTree(), compression);
  });

  it('hard links, empty files, short, long, absolute and dangling symlinks', async () => {
    await check(linksTree(), compression);
  });

  it('60 folders deep', async () => {
    await check(deepTree(), compression);
  });

  it('a folder of 300 entries, and one of 3,000 with long names (a listing past 64 KiB, with an index)', async () => {
    await check(wideTree(300, 10), compression);
    await check(wideTree(3000, 60), compression);
  });

  it('unicode, odd and non-UTF-8 names', async () => {
    await check(oddNamesTree(), compression);
  });

  it('modes: Nix’s 0444 and 0555, setuid, setgid, sticky, none', async () => {
    await check(modesTree(), compression);
  });

  it('a store path that is one file, one empty file, one symlink, an empty folder', async () => {
    await check(file(200_000, 'random', 0o555), compression);
    await check(file(0), compression);
    await check({ kind: 'symlink', target: '/nix/store/0123456789abcdfghijklmnpqrsvwxyz-target' }, compression);
    await check(dir({}), compression);
  });
});

describe('the built-in writer', () => {
  it.each(OTHER_LEVELS)('writes the compressor options mksquashfs writes: $name:$level', async (compression) => {
    await check(linksTree(), compression);
  });

  it('gives trees of generated shapes back as mksquashfs does (fast-check, seeded)', async () => {
    const name = fc.oneof(
      fc.stringMatching(/^[a-zA-Z0-9._+-]{1,16}$/),
      fc.string({ unit: 'grapheme', minLength: 1, maxLength: 8 }),
    );
    const size = fc.oneof(
      fc.constantFrom(0, 1, BLOCK_SIZE - 1, BLOCK_SIZE, BLOCK_SIZE + 1, 2 * BLOCK_SIZE),
      fc.integer({ min: 0, max: 70_000 }),
    );
    const fileSpec = fc.record({
      kind: fc.constant('file' as const),
      mode: fc.constantFrom(0o444, 0o555, 0o644, 0o755, 0o4555),
      content: fc.record({
        kind: fc.constantFrom('text' as const, 'random' as const, 'zero' as const, 'sparse' as const),
        size,
        seed: fc.integer({ min: 0, max: 5 }),
      }),
      links: fc.constantFrom(0, 0, 0, 1),
    });
    const linkSpec = fc.record({
      kind: fc.constant('symlink' as const),
      target: fc.oneof(fc.stringMatching(/^[a-z./]{1,40}$/), fc.string({ minLength: 100, maxLength: 600 })),
    });
    const tree = fc.letrec<{ dir: Spec; node: Spec }>((tie) => ({
      node: fc.oneof({ depthSize: 'small', withCrossShrink: true }, fileSpec, linkSpec, tie('dir')),
      dir: fc.record({
        kind: fc.constant('dir' as const),
        mode: fc.constantFrom(0o555, 0o755),
        entries: fc.uniqueArray(fc.record({ name, spec: tie('node') }), {
          maxLength: 6,
          // Names unique per folder, with room for the hard links' ".hlN" names.
          selector: (entry) => entry.name.replace(/\.hl\d$/, ''),
        }),
      }),
    }));
    const valid = (text: string): boolean =>
      text !== '.' && text !== '..' && !/[/\0]/.test(text) && !/\.hl\d$/.test(text);
    const nonEmpty = (target: string): boolean => target.length > 0 && !target.includes('\0');
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(
        tree.dir.filter((spec) => JSON.stringify(spec).length < 20_000),
        fc.constantFrom(...COMPRESSIONS),
        async (spec, compression) => {
          fc.pre(specOk(spec, valid, nonEmpty));
          runs++;
          await check(spec, compression);
        },
      ),
      { seed: 20261130, numRuns: 24, endOnFailure: true },
    );
    expect(runs).toBeGreaterThan(12);
  });

  it('gives a tree with a FIFO, or more bytes than its limit, back to mksquashfs', async () => {
    const work = await tempDir('nbc-sqw-');
    const storePath = join(work, STORE_NAME);
    await mkdir(storePath);
    execFileSync('mkfifo', [join(storePath, 'fifo')]);
    await expect(writeSquashfs(storePath, join(work, 'a.sqsh'), { name: 'zstd' })).rejects.toThrow(NotForBuiltinError);
    const big = join(work, 'big');
    await makeTree(Buffer.from(big), dir({ a: file(5000), b: file(5000) }));
    await expect(
      writeSquashfs(big, join(work, 'b.sqsh'), { name: 'zstd' }, { limits: { maxBytes: 9000, maxEntries: 100 } }),
    ).rejects.toThrow(NotForBuiltinError);
  });
});

function specOk(spec: Spec, valid: (name: string) => boolean, target: (t: string) => boolean): boolean {
  if (spec.kind === 'symlink') return target(String(spec.target));
  if (spec.kind === 'file') return true;
  return spec.entries.every((entry) => valid(String(entry.name)) && specOk(entry.spec, valid, target));
}

describe('the kernel', () => {
  // unsquashfs reads more than the kernel does: a zstd frame asking for a
  // window past the block size extracts fine but does not mount-read. This
  // machine's kernel reads each image, loop-mounted (the tests run as root).
  it.each(COMPRESSIONS)(
    'reads what the writer makes with $name:$level: lookups through the index, contents, links',
    async (compression) => {
      const work = await tempDir('nbc-sqw-kernel-');
      const storePath = join(work, STORE_NAME);
      const spec = dir({
        edges: edgeTree(),
        links: linksTree(),
        wide: wideTree(3000, 60),
        odd: oddNamesTree(),
        modes: modesTree(),
      });
      await makeTree(Buffer.from(storePath), spec);
      const image = join(work, 'image.sqsh');
      await writeSquashfs(storePath, image, compression);
      const mountPoint = join(work, 'mnt');
      await mkdir(mountPoint);
      execFileSync('mount', ['-t', 'squashfs', '-o', 'loop,ro', image, mountPoint]);
      try {
        const mounted = await treeFacts(Buffer.from(join(mountPoint, STORE_NAME)), { times: false });
        expect(mounted).toEqual(await treeFacts(Buffer.from(storePath), { times: false }));
        const times = await treeFacts(Buffer.from(mountPoint), { times: true });
        expect(times.every((line) => / t=1000$/.test(line))).toBe(true);
      } finally {
        execFileSync('umount', [mountPoint]);
      }
    },
  );
});
