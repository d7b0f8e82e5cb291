/**
 * The page's state: one vanilla zustand store made of slices (system,
 * options, build, result), created by {@link createAppStore} around the
 * bridge to main, so each test gets its own. React reads it with selectors;
 * job events from main update it outside React (see {@link connectJobEvents}).
 */
import { createStore, type StoreApi } from 'zustand/vanilla';
import { kernelFileName, INITRD_NAMES } from '../electron/shared/boot-folder.ts';
import { ipxeScript } from '../electron/shared/ipxe.ts';
import {
  defaultBuildOptions,
  type AppInfo,
  type BuildOptions,
  type BuildOutcome,
  type CacheSummary,
  type Drive,
  type ErrorInfo,
  type FlakeConfiguration,
  type JobEvent,
  type NetbootApi,
  type Result,
  type Settings,
  type SystemSummary,
  isBootEvent,
  type Purpose,
} from '../electron/shared/ipc.ts';
import { baseUrlProblem, subdirProblem } from '../electron/shared/export-spec.ts';
import { BuildProgress, type PathState } from '../electron/shared/progress.ts';
import type {
  Accel,
  BootEvent,
  BuildStage,
  ExportKind,
  ExportSpec,
  ExportSummary,
  Firmware,
  SystemSource,
  TestBootResult,
} from '../electron/shared/types.ts';

export type Step = 'system' | 'options' | 'build' | 'result';
export const STEPS: readonly Step[] = ['system', 'options', 'build', 'result'];

let jobCounter = 0;
/** A job id unique in this page: main refuses two jobs of one name. */
export function newJobId(kind: string): string {
  jobCounter++;
  return `${kind}-${Date.now().toString(36)}-${jobCounter}`;
}

export interface LogLine {
  kind: 'stage' | 'log' | 'warning' | 'error';
  text: string;
}

const MAX_LOG = 1000;

// --- slices -----------------------------------------------------------------

export interface AppSlice {
  step: Step;
  info: AppInfo | undefined;
  settings: Settings | undefined;
  cache: CacheSummary | undefined;
  goTo(step: Step): void;
  init(): Promise<void>;
  refreshCache(): Promise<void>;
  /** Remove least recently used images until the cache holds at most `maxBytes`. */
  pruneCache(maxBytes: number): Promise<void>;
  /** Keep the cache under `bytes` after each build, from now on. */
  setCacheLimit(bytes: number): Promise<void>;
}

export interface SystemSlice {
  flakeRef: string | undefined;
  flakeConfigs: FlakeConfiguration[] | undefined;
  flakeJob: string | undefined;
  resolveJob: string | undefined;
  /** What is being resolved, for the spinner. */
  resolving: string | undefined;
  resolveStatus: string | undefined;
  summary: SystemSummary | undefined;
  systemError: ErrorInfo | undefined;
  chooseFlake(): Promise<void>;
  listFlake(ref: string): Promise<void>;
  chooseBuiltSystem(): Promise<void>;
  resolve(source: SystemSource, label: string): Promise<void>;
  cancelResolve(): void;
}

export interface OptionsSlice {
  options: BuildOptions;
  setOptions(patch: Partial<BuildOptions>): void;
}

export interface PathRow extends PathState {
  name: string;
}

export interface BuildView {
  rows: PathRow[];
  totalBytes: number;
  bytesNow: number;
  fraction: number;
  donePaths: number;
  packed: number;
  reused: number;
  secondsLeft: number | undefined;
}

export interface BuildSlice {
  buildJob: string | undefined;
  buildStatus: 'idle' | 'running' | 'done' | 'failed' | 'canceled';
  stage: BuildStage | undefined;
  stageMessage: string | undefined;
  view: BuildView;
  log: LogLine[];
  warnings: string[];
  buildError: ErrorInfo | undefined;
  outcome: BuildOutcome | undefined;
  startBuild(): Promise<void>;
  cancelBuild(): void;
  /** Apply one event of the running build (called by the bridge). */
  onJobEvent(event: JobEvent): void;
}

/** The export form as the user fills it in: a destination per kind, so switching kinds loses nothing. */
export interface ExportDraft {
  kind: ExportKind;
  /** The folder of the folder, TFTP and HTTP kinds; the stick's mountpoint for usb. */
  dirs: Record<Exclude<ExportKind, 'usb-image'>, string>;
  subdir: string;
  baseUrl: string;
  /** The image file of the usb-image kind. */
  file: string;
}

export interface ExportState {
  status: 'idle' | 'running' | 'done' | 'failed' | 'canceled';
  job: string | undefined;
  spec: ExportSpec | undefined;
  summary: ExportSummary | undefined;
  error: ErrorInfo | undefined;
  /** Files written so far, while it runs. */
  written: number;
}

/** Which field of the export form is wrong, and the one sentence that says why. */
export interface ExportProblem {
  field: 'dir' | 'subdir' | 'baseUrl' | 'file';
  message: string;
}

const DIR_PROMPTS: Record<Exclude<ExportKind, 'usb-image'>, string> = {
  folder: 'Choose the folder to export to.',
  tftp: 'Choose the folder your TFTP server serves.',
  http: 'Choose the folder your HTTP server serves.',
  usb: 'Choose a USB stick.',
};

/** The export the draft describes, or the first thing to fix. Pure: the form and its tests use it. */
export function draftSpec(draft: ExportDraft): { spec: ExportSpec } | { problem: ExportProblem } {
  const problem = (field: ExportProblem['field'], message: string) => ({ problem: { field, message } });
  if (draft.kind === 'usb-image') {
    const file = draft.file.trim();
    if (file === '') return problem('file', 'Choose where to save the image.');
    if (!file.startsWith('/') || file.endsWith('/')) {
      return problem('file', 'The image is a file named by its full path, e.g. /home/me/nixos.img.');
    }
    return { spec: { kind: 'usb-image', file } };
  }
  const dir = draft.dirs[draft.kind].trim();
  if (dir === '') return problem('dir', DIR_PROMPTS[draft.kind]);
  if (!dir.startsWith('/')) return problem('dir', 'The folder is named by its full path, starting with /.');
  switch (draft.kind) {
    case 'folder':
    case 'usb':
      return { spec: { kind: draft.kind, dir } };
    case 'tftp': {
      const subdir = draft.subdir.trim();
      const wrong = subdirProblem(subdir);
      if (wrong) return problem('subdir', wrong);
      return { spec: { kind: 'tftp', dir, ...(subdir ? { subdir } : {}) } };
    }
    case 'http': {
      const wrong = baseUrlProblem(draft.baseUrl);
      if (wrong) return problem('baseUrl', wrong);
      return { spec: { kind: 'http', dir, baseUrl: draft.baseUrl.trim() } };
    }
  }
}

/** The form, starting from the last export (settings), if any. */
export function draftFrom(last: ExportSpec | undefined): ExportDraft {
  const draft: ExportDraft = {
    kind: last?.kind ?? 'folder',
    dirs: { folder: '', tftp: '', http: '', usb: '' },
    subdir: '',
    baseUrl: '',
    file: '',
  };
  if (!last) return draft;
  if (last.kind === 'usb-image') return { ...draft, file: last.file };
  draft.dirs[last.kind] = last.dir;
  if (last.kind === 'tftp') draft.subdir = last.subdir ?? '';
  if (last.kind === 'http') draft.baseUrl = last.baseUrl;
  return draft;
}

export interface ResultSlice {
  drives: Drive[] | undefined;
  exportDraft: ExportDraft;
  exportState: ExportState;
  copied: boolean;
  refreshDrives(): Promise<void>;
  setExportDraft(patch: Partial<Omit<ExportDraft, 'dirs'>> & { dir?: string }): void;
  /** Open the folder picker (or the save dialog for an image) for the draft's kind. */
  chooseExportDestination(): Promise<void>;
  startExport(): Promise<void>;
  cancelExport(): void;
  showFolder(path: string): Promise<void>;
  copyScript(): Promise<void>;
}

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

export type AppState = AppSlice & SystemSlice & OptionsSlice & BuildSlice & ResultSlice & BootSlice;
export type AppStore = StoreApi<AppState>;

const EMPTY_VIEW: BuildView = {
  rows: [],
  totalBytes: 0,
  bytesNow: 0,
  fraction: 0,
  donePaths: 0,
  packed: 0,
  reused: 0,
  secondsLeft: undefined,
};

/** "/nix/store/abc...-hello-2.12" -> "hello-2.12". */
export function storeName(path: string): string {
  const base = path.slice(path.lastIndexOf('/') + 1);
  return /^[0-9a-z]{32}-/.test(base) ? base.slice(33) : base;
}

/** The script the build writes for these options: the Result step's live preview. */
export function previewScript(summary: SystemSummary, options: BuildOptions): string {
  const { system } = summary;
  try {
    return ipxeScript({
      title: `${system.name} (NixOS ${system.nixosVersion}, ${options.arch})`,
      kernel: kernelFileName(options.arch),
      initrds: INITRD_NAMES,
      init: system.init,
      kernelParams: system.kernelParams,
      extraParams: options.kernelParams,
    });
  } catch (error) {
    return `# ${(error as Error).message}\n`;
  }
}

/** Why Build cannot start now, or undefined when it can. */
export function buildBlocker(state: Pick<AppState, 'summary' | 'options' | 'buildStatus'>): string | undefined {
  const { summary, options } = state;
  if (!summary) return 'Choose a system first.';
  if (state.buildStatus === 'running') return 'A build is running.';
  if (summary.system.system !== options.arch) {
    return `${summary.system.name} is built for ${summary.system.system}, not ${options.arch}: choose ${summary.system.system}, or build the configuration for ${options.arch}.`;
  }
  if (/[\r\n]/.test(options.kernelParams)) return 'Kernel parameters must be on one line.';
  return undefined;
}

const IDLE_EXPORT: ExportState = {
  status: 'idle',
  job: undefined,
  spec: undefined,
  summary: undefined,
  error: undefined,
  written: 0,
};

/** Console output kept for a panel that opens (or reopens) mid-boot. */
const MAX_CONSOLE_CHARS = 1024 * 1024;

const FOLDER_PURPOSES: Record<Exclude<ExportKind, 'usb-image'>, Purpose> = {
  folder: 'export',
  tftp: 'tftp',
  http: 'http',
  usb: 'usb',
};

const unexpected = (error: unknown): ErrorInfo => ({
  kind: 'bug',
  message: `The app could not reach its main process (${(error as Error)?.message ?? String(error)}); restart the app.`,
});

/** Call `api`, turning a rejected promise (a broken bridge) into an error result. */
async function call<T>(request: () => Promise<Result<T>>): Promise<Result<T>> {
  try {
    return await request();
  } catch (error) {
    return { ok: false, error: unexpected(error) };
  }
}

export interface StoreOptions {
  /** How often progress reaches React, in ms: events can come by the thousand. */
  publishEveryMs?: number;
  now?: () => number;
}

/** A new store around `api` (window.netbootComposer, or a test's fake). */
export function createAppStore(api: NetbootApi, storeOptions: StoreOptions = {}): AppStore {
  const now = storeOptions.now ?? (() => performance.now());
  const publishEvery = storeOptions.publishEveryMs ?? 100;
  let progress = new BuildProgress();
  let publishTimer: ReturnType<typeof setTimeout> | undefined;
  let consoleChunks: string[] = [];
  let consoleChars = 0;
  const consoleListeners = new Set<(data: string) => void>();

  return createStore<AppState>()((set, get) => {
    const snapshot = (): BuildView => ({
      rows: [...progress.paths.values()].map((p) => ({ ...p, name: storeName(p.path) })),
      totalBytes: progress.totalBytes,
      bytesNow: progress.bytesNow(),
      fraction: progress.fraction(),
      donePaths: progress.donePaths,
      packed: progress.packed,
      reused: progress.reused,
      secondsLeft: progress.secondsLeft(now()),
    });
    const publish = (): void => {
      if (publishTimer !== undefined) clearTimeout(publishTimer);
      publishTimer = undefined;
      set({ view: snapshot() });
    };
    const publishSoon = (): void => {
      publishTimer ??= setTimeout(publish, publishEvery);
    };
    const addLog = (lines: LogLine[]): void => set({ log: [...get().log, ...lines].slice(-MAX_LOG) });
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

    return {
      // --- app
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
          ...(settings.ok
            ? { options: settings.value.options, exportDraft: draftFrom(settings.value.lastExport) }
            : {}),
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

      // --- system
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

      // --- options
      options: defaultBuildOptions(undefined),
      setOptions(patch) {
        const options = { ...get().options, ...patch };
        set({ options });
        void call(() => api.settingsSet({ options }));
      },

      // --- build
      buildJob: undefined,
      buildStatus: 'idle',
      stage: undefined,
      stageMessage: undefined,
      view: EMPTY_VIEW,
      log: [],
      warnings: [],
      buildError: undefined,
      outcome: undefined,
      async startBuild() {
        const state = get();
        const blocker = buildBlocker(state);
        if (blocker || !state.summary) return;
        const jobId = newJobId('build');
        const options = state.options;
        // The build rewrites the boot folder a test boot would be reading.
        state.stopBoot();
        progress = new BuildProgress();
        set({
          step: 'build',
          buildJob: jobId,
          buildStatus: 'running',
          stage: undefined,
          stageMessage: 'Starting',
          view: EMPTY_VIEW,
          log: [],
          warnings: [],
          buildError: undefined,
          exportState: IDLE_EXPORT,
        });
        const answer = await call(() => api.buildStart({ jobId, source: state.summary!.source, options }));
        if (get().buildJob !== jobId) return;
        publish();
        if (answer.ok) {
          const { paths, packed, reused, seconds } = answer.value;
          set({
            buildJob: undefined,
            buildStatus: 'done',
            outcome: answer.value,
            step: 'result',
            stageMessage: `${paths} store paths in ${seconds.toFixed(1)} s: ${packed} packed, ${reused} reused from the cache.`,
          });
          void get().refreshCache();
        } else {
          const canceled = answer.error.kind === 'canceled';
          set({
            buildJob: undefined,
            buildStatus: canceled ? 'canceled' : 'failed',
            buildError: canceled ? undefined : answer.error,
          });
          addLog([{ kind: canceled ? 'stage' : 'error', text: answer.error.message }]);
        }
      },
      cancelBuild() {
        const jobId = get().buildJob;
        if (jobId) void call(() => api.jobCancel({ jobId }));
        set({ stageMessage: 'Stopping' });
      },
      onJobEvent({ jobId, event }) {
        const state = get();
        if (isBootEvent(event)) {
          if (jobId === state.boot?.job) applyBootEvent(event);
          return;
        }
        if (jobId === state.exportState.job) {
          if (event.event === 'file')
            set({ exportState: { ...state.exportState, written: state.exportState.written + 1 } });
          return;
        }
        if (jobId === state.resolveJob) {
          if (event.event === 'stage' || event.event === 'log') set({ resolveStatus: event.message });
          return;
        }
        if (jobId !== state.buildJob) return;
        progress.apply(event, now());
        switch (event.event) {
          case 'stage':
            set({ stage: event.stage, stageMessage: event.message });
            addLog([{ kind: 'stage', text: event.message }]);
            break;
          case 'log':
            addLog([{ kind: 'log', text: event.message }]);
            break;
          case 'warning':
            set({ warnings: [...state.warnings, event.message] });
            addLog([{ kind: 'warning', text: event.message }]);
            break;
          case 'closure':
            publish();
            break;
          case 'path-done':
          case 'path-start':
          case 'path-progress':
            publishSoon();
            break;
          case 'done':
            publish();
            break;
          default:
            break;
        }
      },

      // --- result
      drives: undefined,
      exportDraft: draftFrom(undefined),
      exportState: IDLE_EXPORT,
      copied: false,
      async refreshDrives() {
        const drives = await call(() => api.drivesList({}));
        const list = drives.ok ? drives.value : [];
        set({ drives: list });
        // One stick: it is the one.
        const draft = get().exportDraft;
        if (list.length === 1 && !list.some((d) => d.mountpoint === draft.dirs.usb)) {
          set({ exportDraft: { ...draft, dirs: { ...draft.dirs, usb: list[0]!.mountpoint } } });
        }
      },
      setExportDraft({ dir, ...patch }) {
        const draft = { ...get().exportDraft, ...patch };
        if (dir !== undefined && draft.kind !== 'usb-image') draft.dirs = { ...draft.dirs, [draft.kind]: dir };
        set({ exportDraft: draft });
      },
      async chooseExportDestination() {
        const draft = get().exportDraft;
        if (draft.kind === 'usb-image') {
          const file = await call(() =>
            api.dialogChooseFile({ purpose: 'usb-image', ...(draft.file ? { defaultPath: draft.file } : {}) }),
          );
          if (!file.ok) return set({ exportState: { ...IDLE_EXPORT, status: 'failed', error: file.error } });
          if (file.value) get().setExportDraft({ file: file.value });
          return;
        }
        const current = draft.dirs[draft.kind];
        const folder = await call(() =>
          api.dialogChooseFolder({
            purpose: FOLDER_PURPOSES[draft.kind as Exclude<ExportKind, 'usb-image'>],
            ...(current.startsWith('/') ? { defaultPath: current } : {}),
          }),
        );
        if (!folder.ok) return set({ exportState: { ...IDLE_EXPORT, status: 'failed', error: folder.error } });
        if (folder.value) get().setExportDraft({ dir: folder.value });
      },
      async startExport() {
        const { outcome, exportDraft, exportState } = get();
        const checked = draftSpec(exportDraft);
        if (!outcome || !('spec' in checked) || exportState.status === 'running') return;
        const { spec } = checked;
        const jobId = newJobId('export');
        set({ exportState: { ...IDLE_EXPORT, status: 'running', job: jobId, spec } });
        const answer = await call(() => api.exportStart({ jobId, from: outcome.outDir, spec }));
        if (get().exportState.job !== jobId) return;
        if (answer.ok) {
          const summary = answer.value;
          set({ exportState: { ...get().exportState, status: 'done', job: undefined, summary } });
          if (summary.kind === 'usb-image' && summary.file) set({ usbImage: summary.file });
          const settings = await call(() => api.settingsGet({}));
          if (settings.ok) set({ settings: settings.value });
        } else {
          const canceled = answer.error.kind === 'canceled';
          set({
            exportState: {
              ...get().exportState,
              status: canceled ? 'canceled' : 'failed',
              job: undefined,
              error: canceled ? undefined : answer.error,
            },
          });
        }
      },
      cancelExport() {
        const jobId = get().exportState.job;
        if (jobId) void call(() => api.jobCancel({ jobId }));
      },
      async showFolder(path) {
        await call(() => api.shellShowFolder({ path }));
      },
      async copyScript() {
        const script = get().outcome?.script;
        if (script === undefined) return;
        const answer = await call(() => api.clipboardWrite({ text: script }));
        set({ copied: answer.ok });
        if (answer.ok) setTimeout(() => set({ copied: false }), 2000);
      },

      // --- test boot
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
  });
}

/** Feed job events from main into the store; the returned function unsubscribes. */
export function connectJobEvents(api: NetbootApi, store: AppStore): () => void {
  const controller = new AbortController();
  api.addEventListener('job-event', (event) => store.getState().onJobEvent(event), { signal: controller.signal });
  return () => controller.abort();
}
