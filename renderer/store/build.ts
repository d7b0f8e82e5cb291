/**
 * The build slice (the running build, its progress and log, and the router of
 * main's job events: the bridge calls {@link BuildSlice.onJobEvent}): its
 * creator, the log's cap, and the pure helpers storeName and buildBlocker.
 * Progress reaches React at most every `publishEveryMs`. Its interface is in
 * state.ts.
 */
import { isBootEvent, isServeEvent, type NetbootApi } from '../../electron/shared/ipc.ts';
import { kernelParamsProblem } from '../../electron/shared/kernel-params.ts';
import { BuildProgress } from '../../electron/shared/progress.ts';
import type { BootEvent } from '../../electron/shared/types.ts';
import { call, EMPTY_VIEW, IDLE_EXPORT, newJobId, storeClock } from './shared.ts';
import type { AppState, BuildSlice, BuildView, GetState, LogLine, SetState, StoreOptions } from './state.ts';

const MAX_LOG = 1000;

/** "/nix/store/abc...-hello-2.12" -> "hello-2.12". */
export function storeName(path: string): string {
  const base = path.slice(path.lastIndexOf('/') + 1);
  return /^[0-9a-z]{32}-/.test(base) ? base.slice(33) : base;
}

/** Why Build cannot start now, or undefined when it can. */
export function buildBlocker(state: Pick<AppState, 'summary' | 'options' | 'buildStatus'>): string | undefined {
  const { summary, options } = state;
  if (!summary) return 'Choose a system first.';
  if (state.buildStatus === 'running') return 'A build is running.';
  if (summary.system.system !== options.arch) {
    return `${summary.system.name} is built for ${summary.system.system}, not ${options.arch}: choose ${summary.system.system}, or build the configuration for ${options.arch}.`;
  }
  return kernelParamsProblem(options.kernelParams);
}

/**
 * The build slice. `applyBootEvent` is the boot slice's handler of a test
 * boot's events, which come on the same channel (index.ts wires it).
 */
export function createBuildSlice(
  api: NetbootApi,
  set: SetState,
  get: GetState,
  storeOptions: StoreOptions,
  applyBootEvent: (event: BootEvent) => void,
): BuildSlice {
  const now = storeClock(storeOptions);
  const publishEvery = storeOptions.publishEveryMs ?? 100;
  let progress = new BuildProgress();
  let publishTimer: ReturnType<typeof setTimeout> | undefined;

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
      if (isServeEvent(event)) return; // the Serve panel's own store takes these (store/serve.ts)
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
  };
}
