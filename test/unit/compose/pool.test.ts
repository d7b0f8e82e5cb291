import { describe, expect, it } from 'vitest';
import { runPool } from '../../../electron/pipeline/compose/pool.ts';

const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      reject(new Error('aborted'));
    });
  });

describe('the job pool', () => {
  it('runs at most `concurrency` jobs at once and returns results in order', async () => {
    let running = 0;
    let most = 0;
    const jobs = Array.from({ length: 6 }, (_, i) => ({
      run: async () => {
        running++;
        most = Math.max(most, running);
        await sleep(10);
        running--;
        return i * 2;
      },
    }));
    expect(await runPool(jobs, 2)).toEqual([0, 2, 4, 6, 8, 10]);
    expect(most).toBe(2);
  });

  it('gives the last job the cores the others leave idle', async () => {
    const shares: number[] = [];
    const jobs = Array.from({ length: 3 }, () => ({
      run: async (_signal: AbortSignal, share: number) => {
        shares.push(share);
        await sleep(5);
      },
    }));
    await runPool(jobs, 4);
    expect(shares).toEqual([1, 1, 2]);
  });

  it('cancels the running jobs on the first failure and reports that failure', async () => {
    const canceled: number[] = [];
    const jobs = [
      { run: async () => Promise.reject(new Error('mksquashfs failed')) },
      {
        run: async (signal: AbortSignal) => {
          await sleep(1000, signal).catch(() => canceled.push(1));
        },
      },
    ];
    await expect(runPool(jobs, 2)).rejects.toThrow('mksquashfs failed');
    expect(canceled).toEqual([1]);
  });
});
