/** The options slice: the build options, saved to the settings as they change. */
import { defaultBuildOptions, type BuildOptions, type NetbootApi } from '../../electron/shared/ipc.ts';
import { call, type GetState, type SetState } from './shared.ts';

export interface OptionsSlice {
  options: BuildOptions;
  setOptions(patch: Partial<BuildOptions>): void;
}

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
