/**
 * The options slice (the build options, saved to the settings as they
 * change): its creator. Its interface is in state.ts.
 */
import { defaultBuildOptions, type NetbootApi } from '../../electron/shared/ipc.ts';
import { call } from './shared.ts';
import type { GetState, OptionsSlice, SetState } from './state.ts';

export function createOptionsSlice(api: NetbootApi, set: SetState, get: GetState): OptionsSlice {
  return {
    options: defaultBuildOptions(undefined),
    setOptions(patch) {
      const options = { ...get().options, ...patch };
      set({ options });
      void call(() => api.settingsSet({ options }));
    },
  };
}
