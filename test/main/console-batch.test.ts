import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ConsoleBatcher } from '../../electron/main/console-batch.ts';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('ConsoleBatcher', () => {
  it('sends what arrived within 50 ms as one message, in order, and nothing when nothing arrived', () => {
    const sent: string[] = [];
    const batch = new ConsoleBatcher((data) => sent.push(data));
    for (let i = 0; i < 200; i++) batch.push(`line ${i}\r\n`);
    expect(sent).toEqual([]);
    vi.advanceTimersByTime(49);
    expect(sent).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(sent).toHaveLength(1);
    expect(sent[0]!.split('\r\n')).toHaveLength(201);
    vi.advanceTimersByTime(1000);
    expect(sent).toHaveLength(1);
    batch.push('\x1b[2J');
    batch.push('');
    vi.advanceTimersByTime(50);
    expect(sent).toEqual([expect.any(String), '\x1b[2J']);
  });

  it('sends at once when 64 KiB pile up, and flush() sends the rest before the result', () => {
    const sent: string[] = [];
    const batch = new ConsoleBatcher((data) => sent.push(data));
    batch.push('x'.repeat(40 * 1024));
    batch.push('y'.repeat(30 * 1024));
    expect(sent.map((s) => s.length)).toEqual([70 * 1024]);
    batch.push('tail');
    batch.flush();
    expect(sent.at(-1)).toBe('tail');
    vi.advanceTimersByTime(100);
    expect(sent).toHaveLength(2);
  });
});
