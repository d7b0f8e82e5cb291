/**
 * The system slice (the flake or built system chosen, and its summary once
 * resolved): its creator. Its interface is in state.ts.
 */
import type { NetbootApi } from '../../electron/shared/ipc.ts';
import { call, EMPTY_VIEW, IDLE_EXPORT, newJobId } from './shared.ts';
import type { GetState, SetState, SystemSlice } from './state.ts';

export function createSystemSlice(api: NetbootApi, set: SetState, get: GetState): SystemSlice {
  return {
    flakeRef: undefined,
    flakeConfigs: undefined,
    flakeJob: undefined,
    resolveJob: undefined,
    resolving: undefined,
    resolveStatus: undefined,
    summary: undefined,
    systemError: undefined,
    async chooseFlake() {
      const folder = await call(() => api.dialogChooseFolder({ purpose: 'flake' }));
      if (!folder.ok) return set({ systemError: folder.error });
      if (folder.value) await get().listFlake(folder.value);
    },
    async listFlake(ref) {
      const jobId = newJobId('flake');
      set({ flakeRef: ref, flakeConfigs: undefined, flakeJob: jobId, systemError: undefined });
      const answer = await call(() => api.flakeList({ jobId, ref }));
      if (get().flakeJob !== jobId) return;
      set({ flakeJob: undefined });
      if (answer.ok) set({ flakeConfigs: answer.value });
      else set({ systemError: answer.error });
    },
    async chooseBuiltSystem() {
      const folder = await call(() => api.dialogChooseFolder({ purpose: 'system' }));
      if (!folder.ok) return set({ systemError: folder.error });
      if (folder.value) await get().resolve({ kind: 'toplevel', path: folder.value }, folder.value);
    },
    async resolve(source, label) {
      const jobId = newJobId('resolve');
      set({ resolveJob: jobId, resolving: label, resolveStatus: undefined, systemError: undefined });
      const answer = await call(() => api.systemResolve({ jobId, source }));
      if (get().resolveJob !== jobId) return;
      set({ resolveJob: undefined, resolving: undefined, resolveStatus: undefined });
      if (!answer.ok) {
        if (answer.error.kind !== 'canceled') set({ systemError: answer.error });
        return;
      }
      const summary = answer.value;
      const { options } = get();
      // The boot folder being booted is about to belong to another system.
      get().stopBoot();
      // A system built for one architecture is most likely meant for it.
      const arch = summary.system.system === 'aarch64-linux' ? 'aarch64-linux' : 'x86_64-linux';
      set({
        summary,
        options: { ...options, arch },
        outcome: undefined,
        buildStatus: 'idle',
        view: EMPTY_VIEW,
        exportState: IDLE_EXPORT,
        usbImage: undefined,
        bootFrom: 'network',
        consoleOpen: false,
      });
      const settings = await call(() => api.settingsGet({}));
      if (settings.ok) set({ settings: settings.value });
    },
    cancelResolve() {
      const jobId = get().resolveJob ?? get().flakeJob;
      if (jobId) void call(() => api.jobCancel({ jobId }));
      set({ resolveJob: undefined, resolving: undefined, flakeJob: undefined });
    },
  };
}
