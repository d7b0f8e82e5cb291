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
  type ExportResult,
  type ExportTarget,
  type FlakeConfiguration,
  type JobEvent,
  type NetbootApi,
  type Result,
  type Settings,
  type SystemSummary,
} from '../electron/shared/ipc.ts';
import { BuildProgress, type PathState } from '../electron/shared/progress.ts';
import type { BuildStage, SystemSource } from '../electron/shared/types.ts';

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

export interface ExportState {
  status: 'idle' | 'running' | 'done' | 'failed';
  target: ExportTarget | undefined;
  result: ExportResult | undefined;
  error: ErrorInfo | undefined;
}

export interface ResultSlice {
  drives: Drive[] | undefined;
  exportState: ExportState;
  copied: boolean;
  refreshDrives(): Promise<void>;
  exportTo(target: ExportTarget, dir: string): Promise<void>;
  chooseExportFolder(target: ExportTarget, defaultPath?: string): Promise<void>;
  showFolder(path: string): Promise<void>;
  copyScript(): Promise<void>;
}

export type AppState = AppSlice & SystemSlice & OptionsSlice & BuildSlice & ResultSlice;
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
          ...(settings.ok ? { options: settings.value.options } : {}),
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
        // A system built for one architecture is most likely meant for it.
        const arch = summary.system.system === 'aarch64-linux' ? 'aarch64-linux' : 'x86_64-linux';
        set({
          summary,
          options: { ...options, arch },
          outcome: undefined,
          buildStatus: 'idle',
          view: EMPTY_VIEW,
          exportState: { status: 'idle', target: undefined, result: undefined, error: undefined },
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
          exportState: { status: 'idle', target: undefined, result: undefined, error: undefined },
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
      exportState: { status: 'idle', target: undefined, result: undefined, error: undefined },
      copied: false,
      async refreshDrives() {
        const drives = await call(() => api.drivesList({}));
        set({ drives: drives.ok ? drives.value : [] });
      },
      async exportTo(target, dir) {
        const outcome = get().outcome;
        if (!outcome) return;
        const jobId = newJobId('export');
        set({ exportState: { status: 'running', target, result: undefined, error: undefined } });
        const answer = await call(() => api.exportStart({ jobId, from: outcome.outDir, to: dir, target }));
        if (answer.ok) {
          set({ exportState: { status: 'done', target, result: answer.value, error: undefined } });
          const settings = await call(() => api.settingsGet({}));
          if (settings.ok) set({ settings: settings.value });
        } else {
          set({ exportState: { status: 'failed', target, result: undefined, error: answer.error } });
        }
      },
      async chooseExportFolder(target, defaultPath) {
        const folder = await call(() =>
          api.dialogChooseFolder({
            purpose: target === 'usb' ? 'usb' : 'export',
            defaultPath: defaultPath ?? get().settings?.exportFolder,
          }),
        );
        if (!folder.ok) {
          set({ exportState: { status: 'failed', target, result: undefined, error: folder.error } });
          return;
        }
        if (folder.value) await get().exportTo(target, folder.value);
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
    };
  });
}

/** Feed job events from main into the store; the returned function unsubscribes. */
export function connectJobEvents(api: NetbootApi, store: AppStore): () => void {
  const controller = new AbortController();
  api.addEventListener('job-event', (event) => store.getState().onJobEvent(event), { signal: controller.signal });
  return () => controller.abort();
}
