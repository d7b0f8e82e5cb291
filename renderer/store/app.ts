/**
 * The app slice (the step shown, the app's info and settings, the squashfs
 * cache): its creator and the steps in order. Its interface is in state.ts.
 */
import type { NetbootApi } from '../../electron/shared/ipc.ts';
import { call, draftFrom } from './shared.ts';
import type { AppSlice, GetState, SetState, Step } from './state.ts';

export const STEPS: readonly Step[] = ['system', 'options', 'build', 'result'];

export function createAppSlice(api: NetbootApi, set: SetState, get: GetState): AppSlice {
  return {
    step: 'system',
    info: undefined,
    settings: undefined,
    cache: undefined,
    goTo: (step) => set({ step }),
    async init() {
      const [info, settings, cache] = await Promise.all([
        call(() => api.appInfo({})),
        call(() => api.settingsGet({})),
        call(() => api.cacheStats({})),
      ]);
      set({
        info: info.ok ? info.value : undefined,
        settings: settings.ok ? settings.value : undefined,
        cache: cache.ok ? cache.value : undefined,
        ...(settings.ok ? { options: settings.value.options, exportDraft: draftFrom(settings.value.lastExport) } : {}),
      });
    },
    async refreshCache() {
      const cache = await call(() => api.cacheStats({}));
      if (cache.ok) set({ cache: cache.value });
    },
    async setCacheLimit(bytes) {
      const settings = await call(() => api.settingsSet({ cacheLimitBytes: bytes }));
      if (settings.ok) set({ settings: settings.value });
      await get().refreshCache();
    },
    async pruneCache(maxBytes) {
      const cache = await call(() => api.cachePrune({ maxBytes }));
      if (cache.ok) set({ cache: cache.value });
    },
  };
}
