/**
 * The closure slice: what the last build's boot folder is made of (read
 * once per build through `closure:inspect`: the registration and packed
 * sizes, and the diff with the build of the same system before it), and the
 * store path selected on the size map; and, for the Build step while it
 * packs, the chosen system's closure from Nix. Its interface is in state.ts.
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

    buildClosure: undefined,

    async loadBuildClosure() {
      const toplevel = get().summary?.system.toplevel;
      const current = get().buildClosure;
      if (toplevel === undefined || (current?.toplevel === toplevel && current.status !== 'failed')) return;
      set({ buildClosure: { status: 'loading', toplevel } });
      const answer = await call(() => api.closureInspect({ toplevel }));
      if (get().buildClosure?.toplevel !== toplevel) return;
      set({
        buildClosure: answer.ok
          ? { status: 'ready', toplevel, facts: answer.value.facts }
          : { status: 'failed', toplevel, error: answer.error },
      });
    },

    selectPath(path) {
      set({ selectedPath: path });
    },
  };
}
