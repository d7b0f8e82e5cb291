import { execFileSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync, zstdCompressSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { cpioBytes, cpioParts } from '../../../electron/pipeline/compose/cpio.ts';
import { initrdFormat, inspectStageOne } from '../../../electron/pipeline/compose/inspect.ts';
import { tempDir } from '../../helpers/fixtures.ts';

async function archive(init: string): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  // Enough other bytes that the stage 1 text is not in the first chunk read.
  const filler = Buffer.alloc(3 * 1024 * 1024, 'x');
  const parts = cpioParts([
    { kind: 'file', name: 'filler', data: filler },
    { kind: 'file', name: 'init', mode: 0o755, data: Buffer.from(init) },
  ]);
  for await (const chunk of cpioBytes(parts)) chunks.push(chunk);
  return Buffer.concat(chunks);
}

const NETBOOT = 'for f in $(cat /nix-store-squashes/squashes | sed "s/ //"); do :; done';
const DISK = 'mount /dev/sda1 /mnt-root';

describe("reading a system's stage 1", () => {
  it.each([
    ['cpio', (b: Buffer) => b],
    ['gzip', (b: Buffer) => gzipSync(b)],
    ['zstd', (b: Buffer) => zstdCompressSync(b)],
    ['xz', (b: Buffer) => execFileSync('xz', ['--check=crc32', '-c'], { input: b, maxBuffer: 1 << 30 })],
  ])('finds the netboot module in a %s initrd, and its absence', async (format, compress) => {
    const dir = await tempDir();
    const yes = join(dir, 'yes');
    const no = join(dir, 'no');
    await writeFile(yes, compress(await archive(NETBOOT)));
    await writeFile(no, compress(await archive(DISK)));
    expect(initrdFormat(compress(await archive(DISK)).subarray(0, 6))).toBe(format);
    expect(await inspectStageOne(yes)).toBe('loads-squashes');
    expect(await inspectStageOne(no)).toBe('no-squashes');
  });

  it('says it does not know when it cannot read the initrd', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'lz4'), Buffer.from([0x02, 0x21, 0x4c, 0x18, 0, 0, 0, 0]));
    expect(await inspectStageOne(join(dir, 'lz4'))).toBe('unknown');
  });
});
