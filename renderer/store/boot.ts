/**
 * The boot slice (a test boot of the built folder, or the exported USB
 * image, in QEMU, and its console): its creator, which also returns the
 * handler of the boot's events. The console output stays out of the state:
 * subscribers get it. Its interface is in state.ts.
 */
import type { NetbootApi } from '../../electron/shared/ipc.ts';
import type { BootEvent } from '../../electron/shared/types.ts';
import { call, newJobId, storeClock } from './shared.ts';
import type { BootSlice, GetState, SetState, StoreOptions } from './state.ts';

/** Console output kept for a panel that opens (or reopens) mid-boot. */
const MAX_CONSOLE_CHARS = 1024 * 1024;

/**
 * The boot slice, and `applyBootEvent`, which takes the running boot's
 * events from the job-event router (the build slice's `onJobEvent`; index.ts
 * wires it).
 */
export function createBootSlice(
  api: NetbootApi,
  set: SetState,
  get: GetState,
  storeOptions: StoreOptions,
): { slice: BootSlice; applyBootEvent: (event: BootEvent) => void } {
  const now = storeClock(storeOptions);
  let consoleChunks: string[] = [];
  let consoleChars = 0;
  const consoleListeners = new Set<(data: string) => void>();

  const applyBootEvent = (event: BootEvent): void => {
    const boot = get().boot;
    if (!boot) return;
    switch (event.event) {
      case 'boot-start':
        set({ boot: { ...boot, firmware: event.firmware, medium: event.medium, memoryMiB: event.memoryMiB } });
        break;
      case 'accel':
        set({ boot: { ...boot, accel: { accel: event.accel, why: event.why, kvmFailure: event.kvmFailure } } });
        break;
      case 'console':
        consoleChunks.push(event.data);
        consoleChars += event.data.length;
        while (consoleChars > MAX_CONSOLE_CHARS && consoleChunks.length > 1) {
          consoleChars -= consoleChunks.shift()!.length;
        }
        for (const listener of consoleListeners) listener(event.data);
        break;
      case 'boot-result':
        // The same result is boot:start's answer, which ends the run (startBoot).
        break;
    }
  };

  const slice: BootSlice = {
    bootFirmware: 'bios',
    bootFrom: 'network',
    usbImage: undefined,
    boot: undefined,
    consoleOpen: false,
    setBootFirmware: (bootFirmware) => set({ bootFirmware }),
    setBootFrom: (bootFrom) => set({ bootFrom }),
    async startBoot() {
      const { outcome, boot, bootFrom, usbImage, summary } = get();
      // aarch64 machines have UEFI only.
      const firmware = summary?.system.system === 'aarch64-linux' ? 'uefi' : get().bootFirmware;
      if (!outcome || boot?.status === 'running') return;
      const image = bootFrom === 'usb' ? usbImage : undefined;
      const jobId = newJobId('boot');
      consoleChunks = [];
      consoleChars = 0;
      set({
        consoleOpen: true,
        boot: {
          job: jobId,
          status: 'running',
          firmware,
          medium: image ? 'usb' : 'network',
          image,
          memoryMiB: undefined,
          accel: undefined,
          startedAt: now(),
          endedAt: undefined,
          stopping: false,
          result: undefined,
          error: undefined,
        },
      });
      const answer = await call(() =>
        api.bootStart({ jobId, dir: outcome.outDir, firmware, ...(image ? { usbImage: image } : {}) }),
      );
      const current = get().boot;
      if (current?.job !== jobId) return;
      const ended = { ...current, endedAt: now(), stopping: false };
      if (answer.ok) {
        set({ boot: { ...ended, status: answer.value.passed ? 'passed' : 'failed', result: answer.value } });
      } else if (answer.error.kind === 'canceled') {
        set({ boot: { ...ended, status: 'stopped' } });
      } else {
        set({ boot: { ...ended, status: 'error', error: answer.error } });
      }
    },
    stopBoot() {
      const boot = get().boot;
      if (boot?.status !== 'running') return;
      void call(() => api.jobCancel({ jobId: boot.job }));
      set({ boot: { ...boot, stopping: true } });
    },
    closeConsole() {
      get().stopBoot();
      set({ consoleOpen: false });
    },
    subscribeConsole(listener) {
      if (consoleChunks.length > 0) listener(consoleChunks.join(''));
      consoleListeners.add(listener);
      return () => consoleListeners.delete(listener);
    },
  };
  return { slice, applyBootEvent };
}
