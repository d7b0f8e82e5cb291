/**
 * The closure slice: what the last build's boot folder is made of (read
 * once per build through `closure:inspect`: the registration and packed
 * sizes, and the diff with the build of the same system before it), and the
 * store path selected on the size map. Its interface is in state.ts.
 */
import type { NetbootApi } from '../../electron/shared/ipc.ts';
import { call } from './shared.ts';
import type { ClosureSlice, GetState, SetState } from './state.ts';

export function createClosureSlice(api: NetbootApi, set: SetState, get: GetState): ClosureSlice {
  return {
    closure: undefined,
    selectedPath: undefined,

    async loadClosure() {
      const outcome = get().outcome;
      if (!outcome || get().closure?.forOutcome === outcome) return;
      set({ closure: { status: 'loading', forOutcome: outcome }, selectedPath: undefined });
      const answer = await call(() => api.closureInspect({ dir: outcome.outDir }));
      // A newer build came meanwhile: its own load replaces this one.
      if (get().outcome !== outcome) return;
      set({
        closure: answer.ok
          ? { status: 'ready', forOutcome: outcome, report: answer.value }
          : { status: 'failed', forOutcome: outcome, error: answer.error },
      });
    },

    selectPath(path) {
      set({ selectedPath: path });
    },
  };
}
