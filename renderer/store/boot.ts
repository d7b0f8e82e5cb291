/**
 * The boot slice: a test boot of the built folder (or the exported USB
 * image) in QEMU, and its console. The console output stays out of the
 * state: subscribers get it.
 */
import type { ErrorInfo, NetbootApi } from '../../electron/shared/ipc.ts';
import type { Accel, BootEvent, Firmware, TestBootResult } from '../../electron/shared/types.ts';
import { call, newJobId, storeClock, type GetState, type SetState, type StoreOptions } from './shared.ts';

export type BootStatus = 'running' | 'passed' | 'failed' | 'stopped' | 'error';

/** One test boot: what it boots, how it is going, how it ended. */
export interface BootRun {
  job: string;
  status: BootStatus;
  firmware: Firmware;
  medium: 'network' | 'usb';
  /** The USB image booted, for medium usb. */
  image: string | undefined;
  memoryMiB: number | undefined;
  /** KVM or TCG and why; `kvmFailure` when KVM failed mid-boot and the boot started again under TCG. */
  accel: { accel: Accel; why: string; kvmFailure?: string | undefined } | undefined;
  /** performance.now() at the start and end, for the elapsed time. */
  startedAt: number;
  endedAt: number | undefined;
  stopping: boolean;
  result: TestBootResult | undefined;
  error: ErrorInfo | undefined;
}

export interface BootSlice {
  bootFirmware: Firmware;
  /** Boot the folder over the network, or the USB image exported in this session. */
  bootFrom: 'network' | 'usb';
  /** The USB image exported in this session, if any. */
  usbImage: string | undefined;
  boot: BootRun | undefined;
  consoleOpen: boolean;
  setBootFirmware(firmware: Firmware): void;
  setBootFrom(from: 'network' | 'usb'): void;
  /** Boot the built folder (or the exported image) in QEMU; the console panel opens. */
  startBoot(): Promise<void>;
  stopBoot(): void;
  closeConsole(): void;
  /**
   * Receive the running boot's console output: what came so far at once,
   * then each batch as it arrives. Kept out of the state, so a chatty guest
   * re-renders nothing. Returns the function that unsubscribes.
   */
  subscribeConsole(listener: (data: string) => void): () => void;
}

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
      const { outcome, boot, bootFirmware: firmware, bootFrom, usbImage } = get();
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
