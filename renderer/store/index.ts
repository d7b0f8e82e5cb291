/**
 * The page's state: one vanilla zustand store made of seven slices (app,
 * system, options, build, result, boot, closure), created by {@link createAppStore}
 * around the bridge to main, so each test gets its own. React reads it with
 * selectors; job events from main update it outside React (see
 * {@link connectJobEvents}).
 *
 * The files: state.ts, the state's shape (each slice's interface and the
 * types they hold, AppState, AppStore); shared.ts, the runtime helpers several
 * slices use; app.ts, system.ts, options.ts, build.ts, result.ts, boot.ts and closure.ts,
 * a slice each (its creator, constants and pure helpers); events.ts, the
 * bridge. Slices import state.ts and shared.ts, never each other. This file
 * composes the slices and is the store's one entry point for the components
 * and the tests.
 */
import { createStore } from 'zustand/vanilla';
import type { NetbootApi } from '../../electron/shared/ipc.ts';
import { createAppSlice } from './app.ts';
import { createBootSlice } from './boot.ts';
import { createBuildSlice } from './build.ts';
import { createClosureSlice } from './closure.ts';
import { createOptionsSlice } from './options.ts';
import { createResultSlice } from './result.ts';
import type { AppState, AppStore, StoreOptions } from './state.ts';
import { createSystemSlice } from './system.ts';

export { STEPS } from './app.ts';
export { buildBlocker, storeName } from './build.ts';
export { connectJobEvents } from './events.ts';
export { draftSpec, previewScript } from './result.ts';
export { draftFrom, newJobId } from './shared.ts';
export type {
  AppSlice,
  AppState,
  AppStore,
  BootRun,
  BootSlice,
  BootStatus,
  BuildSlice,
  BuildView,
  ClosureSlice,
  ExportDraft,
  ExportProblem,
  ExportState,
  LogLine,
  OptionsSlice,
  PathRow,
  ResultSlice,
  Step,
  StoreOptions,
  SystemSlice,
} from './state.ts';

/** A new store around `api` (window.netbootComposer, or a test's fake). */
export function createAppStore(api: NetbootApi, storeOptions: StoreOptions = {}): AppStore {
  return createStore<AppState>()((set, get) => {
    const boot = createBootSlice(api, set, get, storeOptions);
    return {
      ...createAppSlice(api, set, get),
      ...createSystemSlice(api, set, get),
      ...createOptionsSlice(api, set, get),
      ...createBuildSlice(api, set, get, storeOptions, boot.applyBootEvent),
      ...createResultSlice(api, set, get),
      ...boot.slice,
      ...createClosureSlice(api, set, get),
    };
  });
}
