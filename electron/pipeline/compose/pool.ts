/**
 * Running many jobs on a few cores: at most `concurrency` at once, in the
 * order given (callers put the biggest first, so that no long job starts
 * last and leaves the other cores idle at the tail). The first failure
 * cancels the jobs still running and is the one reported.
 */
export interface PoolJob<T> {
  /** Runs the job; `share` says how many cores it may use (more at the tail). */
  run: (signal: AbortSignal, share: number) => Promise<T>;
}

export async function runPool<T>(jobs: readonly PoolJob<T>[], concurrency: number, signal?: AbortSignal): Promise<T[]> {
  const results: T[] = new Array<T>(jobs.length);
  const inner = new AbortController();
  const onAbort = (): void => inner.abort(signal?.reason);
  signal?.addEventListener('abort', onAbort, { once: true });
  let next = 0;
  let running = 0;
  let failure: { error: unknown } | undefined;
  const width = Math.max(1, Math.floor(concurrency));

  const worker = async (): Promise<void> => {
    while (next < jobs.length && !failure && !inner.signal.aborted) {
      const index = next++;
      // Once nothing is left to start, a job may use the cores others leave idle.
      const share = next >= jobs.length ? Math.max(1, width - running) : 1;
      running++;
      try {
        results[index] = await jobs[index]!.run(inner.signal, share);
      } catch (error) {
        if (!failure) failure = { error };
        inner.abort(error);
      } finally {
        running--;
      }
    }
  };

  try {
    await Promise.all(Array.from({ length: Math.min(width, jobs.length) }, worker));
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
  if (failure) throw failure.error;
  if (signal?.aborted) throw signal.reason;
  return results;
}
