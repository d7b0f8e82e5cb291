/**
 * The page's state: one vanilla zustand store made of slices (system,
 * options, build, result), created by {@link createAppStore} around the
 * bridge to main, so each test gets its own. React reads it with selectors;
 * job events from main update it outside React (see {@link connectJobEvents}).
 *
 * One file per slice (app, system, options, build, result, boot), each with
 * its interface, constants, pure helpers and creator; shared.ts holds what
 * several use, and the composed state's type. This file composes the slices
 * and is the store's one entry point for the components and the tests.
 */
import { createStore } from 'zustand/vanilla';
import type { NetbootApi } from '../../electron/shared/ipc.ts';
import { createAppSlice } from './app.ts';
import { createBootSlice } from './boot.ts';
import { createBuildSlice } from './build.ts';
import { createOptionsSlice } from './options.ts';
import { createResultSlice } from './result.ts';
import type { AppState, AppStore, StoreOptions } from './shared.ts';
import { createSystemSlice } from './system.ts';

export { STEPS, type AppSlice, type Step } from './app.ts';
export type { BootRun, BootSlice, BootStatus } from './boot.ts';
export { buildBlocker, storeName, type BuildSlice, type BuildView, type PathRow } from './build.ts';
export { connectJobEvents } from './events.ts';
export type { OptionsSlice } from './options.ts';
export {
  draftSpec,
  previewScript,
  type ExportDraft,
  type ExportProblem,
  type ExportState,
  type ResultSlice,
} from './result.ts';
export { draftFrom, newJobId, type AppState, type AppStore, type LogLine, type StoreOptions } from './shared.ts';
export type { SystemSlice } from './system.ts';

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
    };
  });
}
