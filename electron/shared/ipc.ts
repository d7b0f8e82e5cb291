/**
 * The app's one IPC contract: every request the page can make of the main
 * process, what it answers, and the events it pushes back. Main
 * (electron/main/ipc.ts), the preload (electron/preload/preload.ts) and the
 * page (renderer/) all read their types from here, so a channel cannot be
 * renamed or reshaped on one side only.
 *
 * Long operations (resolving a system, a build, an export, a test boot) are jobs: the page
 * names each one with a `jobId`, the job's events arrive on
 * {@link JOB_EVENT_CHANNEL} tagged with it, and `job:cancel` stops it.
 */
import type {
  Arch,
  BootEvent,
  BuildEvent,
  BuildSummary,
  ExportSpec,
  ExportSummary,
  Firmware,
  InitrdCompression,
  NixosSystem,
  SquashfsCompression,
  SystemSource,
  TestBootResult,
} from './types.ts';
import type { ClosureDiff } from './closure-diff.ts';
import type { ClosureFacts } from './closure-map.ts';
import { DEFAULT_INITRD_COMPRESSION, DEFAULT_SQUASHFS_COMPRESSION } from './compression.ts';
import type { NetInterface, ServeEvent, ServeRequest } from './serve.ts';

/** What the app shows about a system once it is resolved. */
export interface SystemSummary {
  source: SystemSource;
  system: NixosSystem;
  /** Store paths in the closure. */
  paths: number;
  /** The closure's size unpacked (sum of NAR sizes). */
  closureBytes: number;
  kernelBytes: number;
  /** The system's own stage-1 initrd. */
  initrdBytes: number;
}

/** One of a flake's nixosConfigurations. */
export interface FlakeConfiguration {
  name: string;
  /** Its architecture, e.g. x86_64-linux; undefined when Nix could not tell without building. */
  system: string | undefined;
}

/** A system the user chose before, for the "Recent" list. */
export interface RecentSource {
  source: SystemSource;
  /** What the list shows, e.g. "nixos-system-demo-25.11". */
  label: string;
  /** ISO time of the last use. */
  usedAt: string;
}

/** The options of the Options step. */
export interface BuildOptions {
  arch: Arch;
  squashfs: SquashfsCompression;
  initrd: InitrdCompression;
  /** Added to the system's own kernel parameters. */
  kernelParams: string;
}

/** The options before the user changes any: the machine's own architecture, the CLI's compressors. */
export function defaultBuildOptions(hostArch: Arch | undefined): BuildOptions {
  return {
    arch: hostArch ?? 'x86_64-linux',
    squashfs: DEFAULT_SQUASHFS_COMPRESSION,
    initrd: DEFAULT_INITRD_COMPRESSION,
    kernelParams: '',
  };
}

export interface Settings {
  recent: RecentSource[];
  options: BuildOptions;
  /** Where the last export went, and how: the export form starts from it. */
  lastExport: ExportSpec | undefined;
  /** The cache's size limit; undefined: the default (NETBOOT_COMPOSER_CACHE_LIMIT, else 5 GiB). */
  cacheLimitBytes: number | undefined;
}

/** What a finished build hands to the Result step. */
export interface BuildOutcome extends BuildSummary {
  /** The netboot.ipxe that was written. */
  script: string;
}

/** What a boot folder is made of (the size map, why-chains) and what changed since the build before it. */
export interface ClosureReport {
  facts: ClosureFacts;
  /** Against the previous build of the same system; undefined when there is none. */
  diff?: ClosureDiff | undefined;
}

/** A mounted removable drive (a USB stick or card), a target for an export. */
export interface Drive {
  /** The partition's device, e.g. /dev/sdb1. */
  device: string;
  /** What a person recognises: the label, else the vendor and model. */
  name: string;
  mountpoint: string;
  /** The whole drive's size. */
  sizeBytes: number;
  freeBytes: number | undefined;
}

/** The cache as electron/pipeline/cache.ts reports it (cacheStats). */
export interface CacheSummary {
  dir: string;
  /** On disk: squashfs images, initrd segments and their descriptions. */
  bytes: number;
  /** Squashfs images. */
  entries: number;
  /** The size the cache is kept under after each build. */
  limitBytes: number;
  /** How the last build used it. */
  lastBuild?: { hits: number; misses: number; at: string } | undefined;
}

export interface AppInfo {
  version: string;
  platform: string;
  /** The architecture of this machine, in Nix's words. */
  hostArch: Arch | undefined;
}

/** How a failed request is reported: one sentence first, details on demand. */
export interface ErrorInfo {
  message: string;
  details?: string | undefined;
  /** user: bad input or machine (say what to do); canceled: the user stopped it; bug: ours. */
  kind: 'user' | 'canceled' | 'bug';
}

export type Result<T> = { ok: true; value: T } | { ok: false; error: ErrorInfo };

/** What a folder picker is for: its title says so. */
export type Purpose = 'flake' | 'system' | 'export' | 'tftp' | 'http' | 'usb';
/** What a save-file dialog is for. */
export type FilePurpose = 'usb-image';

/** Request and response of every invoke channel. */
export interface InvokeChannels {
  'app:info': { request: Record<string, never>; response: AppInfo };
  'system:resolve': { request: { jobId: string; source: SystemSource }; response: SystemSummary };
  'flake:list': { request: { jobId: string; ref: string }; response: FlakeConfiguration[] };
  'build:start': {
    request: { jobId: string; source: SystemSource; options: BuildOptions };
    response: BuildOutcome;
  };
  'job:cancel': { request: { jobId: string }; response: boolean };
  /** Export the boot folder `from` as `spec` says (a folder, TFTP, HTTP, a USB stick or image). */
  'export:start': {
    request: { jobId: string; from: string; spec: ExportSpec };
    response: ExportSummary;
  };
  /**
   * Boot in QEMU and watch the serial console: the boot folder `dir` over the
   * network, or, when `usbImage` is given, that image as a USB stick. Streams
   * {@link BootEvent}s; `job:cancel` stops the VM.
   */
  'boot:start': {
    request: { jobId: string; dir: string; firmware: Firmware; usbImage?: string | undefined };
    response: TestBootResult;
  };
  'drives:list': { request: Record<string, never>; response: Drive[] };
  'dialog:choose-folder': {
    request: { purpose: Purpose; defaultPath?: string | undefined };
    response: string | null;
  };
  'dialog:choose-file': {
    request: { purpose: FilePurpose; defaultPath?: string | undefined };
    response: string | null;
  };
  'shell:show-folder': { request: { path: string }; response: null };
  'clipboard:write': { request: { text: string }; response: null };
  'settings:get': { request: Record<string, never>; response: Settings };
  'settings:set': { request: Partial<Settings>; response: Settings };
  'cache:stats': { request: Record<string, never>; response: CacheSummary };
  'cache:prune': { request: { maxBytes?: number | undefined }; response: CacheSummary };
  /**
   * The closure of the boot folder `dir` (registration, packed sizes) and the
   * diff with the build before it; or of the system `toplevel` (from Nix, no
   * packed sizes, no diff), for the Build step while it packs.
   */
  'closure:inspect': { request: { dir: string } | { toplevel: string }; response: ClosureReport };
  /** The network interfaces a Serve may answer on. */
  'serve:interfaces': { request: Record<string, never>; response: NetInterface[] };
  /**
   * Serve boot folders on one interface until `job:cancel` (Stop) or the
   * window closes; streams {@link ServeJobEvent}s. Answers how it ended.
   */
  'serve:start': { request: { jobId: string } & ServeRequest; response: { reason?: string | undefined } };
  /**
   * Tell the serve job `jobId` to reload: new requests get the folders as
   * they are now. The result comes as its `reloaded` event or a notice.
   */
  'serve:reload': { request: { jobId: string }; response: null };
}

export type InvokeChannel = keyof InvokeChannels;
export type RequestOf<C extends InvokeChannel> = InvokeChannels[C]['request'];
export type ResponseOf<C extends InvokeChannel> = InvokeChannels[C]['response'];

/** The allow-list: the preload forwards these and nothing else. */
export const INVOKE_CHANNELS = [
  'app:info',
  'system:resolve',
  'flake:list',
  'build:start',
  'job:cancel',
  'export:start',
  'boot:start',
  'drives:list',
  'dialog:choose-folder',
  'dialog:choose-file',
  'shell:show-folder',
  'clipboard:write',
  'settings:get',
  'settings:set',
  'cache:stats',
  'cache:prune',
  'closure:inspect',
  'serve:interfaces',
  'serve:start',
  'serve:reload',
] as const satisfies readonly InvokeChannel[];

/** The one channel main pushes on: events of a job, addressed to the window that started it. */
export const JOB_EVENT_CHANNEL = 'job:event';

/** Events of a job: a build's events, an export's per-file events (the same `file` shape), a test boot's events. */
export interface JobEvent {
  jobId: string;
  event: BuildEvent | BootEvent | ServeJobEvent;
}

/**
 * A serve job's events: what will run (and whether as root through pkexec),
 * then the server's own events.
 */
export type ServeJobEvent =
  { event: 'serve-command'; command: string; elevated: boolean } | { event: 'serve'; data: ServeEvent };

/** Whether `event` is a serve job's. */
export function isServeEvent(event: JobEvent['event']): event is ServeJobEvent {
  return event.event === 'serve' || event.event === 'serve-command';
}

const BOOT_EVENTS: ReadonlySet<string> = new Set<BootEvent['event']>(['boot-start', 'accel', 'console', 'boot-result']);

/** Whether `event` is a test boot's rather than a build's. */
export function isBootEvent(event: BuildEvent | BootEvent | ServeJobEvent): event is BootEvent {
  return BOOT_EVENTS.has(event.event);
}

/**
 * What the preload exposes on `window.netbootComposer`: one method per
 * operation, and an event subscription an AbortSignal ends.
 */
export type NetbootApi = {
  [C in InvokeChannel as CamelCase<C>]: (request: RequestOf<C>) => Promise<Result<ResponseOf<C>>>;
} & {
  addEventListener(
    type: 'job-event',
    listener: (event: JobEvent) => void,
    options?: { signal?: AbortSignal | undefined },
  ): void;
};

type Capitalize1<S extends string> = S extends `${infer H}${infer T}` ? `${Uppercase<H>}${T}` : S;
type Camel<S extends string> = S extends `${infer H}-${infer T}` ? `${H}${Camel<Capitalize1<T>>}` : S;
/** 'system:resolve' -> 'systemResolve', 'dialog:choose-folder' -> 'dialogChooseFolder'. */
export type CamelCase<S extends string> = S extends `${infer A}:${infer B}` ? Camel<`${A}-${B}`> : Camel<S>;

/** The method name of a channel on {@link NetbootApi}. */
export function methodName<C extends InvokeChannel>(channel: C): CamelCase<C> {
  return channel.replace(/[:-](\w)/g, (_, c: string) => c.toUpperCase()) as CamelCase<C>;
}
