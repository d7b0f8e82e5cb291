import { describe, expect, it } from 'vitest';
import {
  formatCompression,
  mksquashfsCompressionArgs,
  parseInitrdCompression,
  parseSquashfsCompression,
} from '../../../electron/pipeline/compose/compression.ts';

describe('compressor settings', () => {
  it('reads NAME and NAME:LEVEL', () => {
    expect(parseSquashfsCompression('zstd:19')).toEqual({ name: 'zstd', level: 19 });
    expect(parseSquashfsCompression('XZ')).toEqual({ name: 'xz' });
    expect(parseInitrdCompression('none')).toEqual({ name: 'none' });
    expect(parseInitrdCompression('gzip:1')).toEqual({ name: 'gzip', level: 1 });
    expect(formatCompression({ name: 'zstd', level: 6 })).toBe('zstd:6');
  });

  it('says which compressors and levels exist when given others', () => {
    expect(() => parseSquashfsCompression('brotli')).toThrow('use one of gzip, xz, zstd, lz4, lzo');
    expect(() => parseSquashfsCompression('zstd:23')).toThrow('a whole number from 1 to 22');
    expect(() => parseSquashfsCompression('gzip:fast')).toThrow('"fast" is not a gzip level');
    expect(() => parseSquashfsCompression('xz:9')).toThrow('xz takes no level');
    expect(() => parseInitrdCompression('lz4')).toThrow('use one of none, gzip, zstd, xz');
    expect(() => parseInitrdCompression('none:3')).toThrow('none takes no level');
  });

  it('turns a setting into mksquashfs arguments', () => {
    expect(mksquashfsCompressionArgs({ name: 'zstd', level: 6 })).toEqual([
      '-comp',
      'zstd',
      '-Xcompression-level',
      '6',
    ]);
    expect(mksquashfsCompressionArgs({ name: 'lz4' })).toEqual(['-comp', 'lz4']);
  });
});
