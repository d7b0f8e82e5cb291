import { describe, expect, it } from 'vitest';
import { BuildProgress, formatBytes, formatDuration } from '../../../electron/shared/progress.ts';
import { progressLine, TerminalRenderer } from '../../../electron/cli/render.ts';

const A = '/nix/store/c8ccy5gy6bmdpycl6bp3yyw3amz32paf-big-1.0';
const B = '/nix/store/0aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-small-1.0';
const C = '/nix/store/1aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-reused-1.0';

function started(): BuildProgress {
  const progress = new BuildProgress();
  progress.apply(
    {
      event: 'closure',
      paths: [
        { path: A, narSize: 600 },
        { path: B, narSize: 100 },
        { path: C, narSize: 300 },
      ],
      totalBytes: 1000,
    },
    0,
  );
  return progress;
}

describe('build progress', () => {
  it('counts bytes and paths, including the finished part of paths being packed', () => {
    const progress = started();
    progress.apply({ event: 'path-done', path: C, status: 'reused', narSize: 300, packedBytes: 30, seconds: 0 }, 0);
    progress.apply({ event: 'path-start', path: A }, 0);
    progress.apply({ event: 'path-progress', path: A, percent: 50 }, 2000);
    expect(progress.bytesNow()).toBe(600);
    expect(progress.fraction()).toBe(0.6);
    expect(progress.donePaths).toBe(1);
    expect(progress.active().map((p) => p.path)).toEqual([A]);
    // 300 bytes packed in 2 s: 400 left at 150 B/s. Reused bytes do not count towards the rate.
    expect(progress.secondsLeft(2000)).toBeCloseTo(400 / 150);
  });

  it('draws a bar that fits the terminal', () => {
    const progress = started();
    progress.apply({ event: 'path-start', path: A }, 0);
    progress.apply({ event: 'path-progress', path: A, percent: 50 }, 1500);
    const line = progressLine(progress, 1500, 80);
    expect(line.length).toBeLessThanOrEqual(80);
    expect(line).toMatch(/^\[#+-+\] {2}30% {2}300 B \/ 1000 B {2}0\/3 paths {2}1 packing/);
  });

  it('prints a line per finished path, with the bar redrawn below it on a terminal', () => {
    let text = '';
    const renderer = new TerminalRenderer({ write: (t: string) => (text += t), columns: 100 }, true, () => 0);
    renderer.handle({ event: 'closure', paths: [{ path: A, narSize: 2048 }], totalBytes: 2048 });
    renderer.handle({ event: 'path-done', path: A, status: 'packed', narSize: 2048, packedBytes: 1024, seconds: 1.5 });
    expect(text).toContain('  packed  big-1.0');
    expect(text).toContain('2.0 KiB -> 1.0 KiB');
    expect(text).toContain('1.5 s');
    expect(text.split('\n').at(-1)).toMatch(new RegExp(String.raw`^\r\u001b\[2K\[#+\] 100%`));
  });

  it('formats sizes and durations for people', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(600 * 1024 * 1024)).toBe('600 MiB');
    expect(formatDuration(75)).toBe('1:15');
    expect(formatDuration(3725)).toBe('1:02:05');
  });
});
