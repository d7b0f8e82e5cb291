/**
 * The shape of the store's state: each slice's interface (app, system,
 * options, build, result, boot, closure) and the types they hold, the composed
 * `AppState`, and the store's `set`, `get` and options as the creators receive
 * them. Types only, from electron/shared and zustand: every other file of the
 * store imports its types from here, and this file imports none of them.
 */
import type { StoreApi } from 'zustand/vanilla';
import type {
  AppInfo,
  BuildOptions,
  BuildOutcome,
  CacheSummary,
  ClosureReport,
  Drive,
  ErrorInfo,
  FlakeConfiguration,
  JobEvent,
  Settings,
  SystemSummary,
} from '../../electron/shared/ipc.ts';
import type { ClosureFacts } from '../../electron/shared/closure-map.ts';
import type { PathState } from '../../electron/shared/progress.ts';
import type {
  Accel,
  BuildStage,
  ExportKind,
  ExportSpec,
  ExportSummary,
  Firmware,
  SystemSource,
  TestBootResult,
} from '../../electron/shared/types.ts';

// The app slice.

export type Step = 'system' | 'options' | 'build' | 'result';

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

// The system slice.

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

// The options slice.

export interface OptionsSlice {
  options: BuildOptions;
  setOptions(patch: Partial<BuildOptions>): void;
}

// The build slice.

export interface LogLine {
  kind: 'stage' | 'log' | 'warning' | 'error';
  text: string;
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

// The result slice.

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

// The boot slice.

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

// The composed state, and the store around it.

// The closure slice (the size map, why-chains and the diff of the Result step).

export interface ClosureSlice {
  /** The report of the last build's boot folder, once read; `forOutcome` is the build it is of. */
  closure:
    | { status: 'loading' | 'ready' | 'failed'; forOutcome: BuildOutcome; report?: ClosureReport; error?: ErrorInfo }
    | undefined;
  /** The closure of the system being built, from Nix (no packed sizes yet): the Build step's map. */
  buildClosure:
    { status: 'loading' | 'ready' | 'failed'; toplevel: string; facts?: ClosureFacts; error?: ErrorInfo } | undefined;
  /** Read the closure of the chosen system for the Build step, unless it is read already. */
  loadBuildClosure(): Promise<void>;
  /** The store path selected on the size map (its why-chains are shown). */
  selectedPath: string | undefined;
  /** Read the closure of the current outcome's boot folder, unless it is read already. */
  loadClosure(): Promise<void>;
  selectPath(path: string | undefined): void;
}

export type AppState = AppSlice & SystemSlice & OptionsSlice & BuildSlice & ResultSlice & BootSlice & ClosureSlice;
export type AppStore = StoreApi<AppState>;

/** The store's `set` and `get`, as each slice's creator receives them. */
export type SetState = AppStore['setState'];
export type GetState = AppStore['getState'];

export interface StoreOptions {
  /** How often progress reaches React, in ms: events can come by the thousand. */
  publishEveryMs?: number;
  now?: () => number;
}
