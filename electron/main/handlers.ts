/**
 * What main does for each request of the page. Plain Node apart from the
 * few Electron services passed in ({@link MainServices}), so tests run these
 * handlers, with the real pipeline, without Electron, and the browser
 * end-to-end test bridges a page to the very same functions.
 */
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { errorInfo } from './errors.ts';
import { listRemovableDrives } from './drives.ts';
import { ConsoleBatcher } from './console-batch.ts';
import { SettingsStore } from './settings.ts';
import type {
  AppInfo,
  BuildOptions,
  BuildOutcome,
  CacheSummary,
  ClosureReport,
  Drive,
  FilePurpose,
  InvokeChannel,
  JobEvent,
  Purpose,
  RequestOf,
  ResponseOf,
  Result,
  SystemSummary,
} from '../shared/ipc.ts';
import { JOB_EVENT_CHANNEL } from '../shared/ipc.ts';
import type { Arch, BuildEvent, SystemSource, TestBootResult } from '../shared/types.ts';
import { SCRIPT_NAME } from '../shared/boot-folder.ts';
import { build, resolveSystem } from '../pipeline/compose/build.ts';
import { cacheStats, pruneCache } from '../pipeline/compose/cache.ts';
import { defaultCacheDir } from '../pipeline/base/dirs.ts';
import { queryClosure } from '../pipeline/compose/closure.ts';
import { factsOfBootFolder, factsOfToplevel } from '../pipeline/compose/closure-facts.ts';
import { diffWithPrevious, recordBuild } from '../pipeline/compose/history.ts';
import { CanceledError, NetbootError } from '../pipeline/base/errors.ts';
import { DEFAULT_EXPECT, testBoot } from '../pipeline/boot/test-boot.ts';
import { testBootMemoryMiB } from '../pipeline/boot/memory.ts';
import { exportTo } from '../pipeline/export/export.ts';
import { listFlakeSystems } from '../pipeline/compose/nix.ts';
import { checkNix } from '../pipeline/compose/nix-env.ts';
import { runServeHelper, type ServeControl, type ServeHelperOptions, serveInterfaces } from './serve-handlers.ts';

/** The part of a WebContents the handlers use: who asked, and how to answer with events. */
export interface Sender {
  readonly id: number;
  send(channel: string, payload: unknown): void;
  isDestroyed(): boolean;
}

/** Electron services, passed in so the handlers run without Electron. */
export interface MainServices {
  chooseFolder(sender: Sender, purpose: Purpose, defaultPath: string | undefined): Promise<string | null>;
  /** A file to write (a save dialog); null when the user canceled. */
  chooseFile(sender: Sender, purpose: FilePurpose, defaultPath: string | undefined): Promise<string | null>;
  showFolder(path: string): Promise<void>;
  writeClipboard(text: string): void;
  listDrives?: () => Promise<Drive[]>;
}

export interface MainOptions {
  /** Where settings and the app's own boot folders live (Electron's userData). */
  userDataDir: string;
  cacheDir?: string | undefined;
  version: string;
  hostArch: Arch | undefined;
  services: MainServices;
  /** Every job event, before it is sent to the page (the window's taskbar progress follows it). */
  onJobEvent?: (sender: Sender, event: JobEvent) => void;
  /** A job finished, failed or was canceled. */
  onJobEnd?: (sender: Sender, jobId: string) => void;
  /** How the serve helper is run (the tests point it at a stand-in CLI); default: this checkout's CLI. */
  serveHelper?: ServeHelperOptions | undefined;
}

/** How long a test boot from the app waits for the expected line, as the CLI's test-boot does. */
export const BOOT_TIMEOUT_SECONDS = 300;

type JobEmit = (event: JobEvent['event']) => void;

type Handler<C extends InvokeChannel> = (request: RequestOf<C>, sender: Sender) => Promise<ResponseOf<C>>;
export type Handlers = { [C in InvokeChannel]: Handler<C> };

interface Job {
  controller: AbortController;
  senderId: number;
}

/** The boot folder the app builds a source into, inside its user data folder. */
export function bootFolderFor(userDataDir: string, source: SystemSource): string {
  const key = createHash('sha256').update(JSON.stringify(source)).digest('hex').slice(0, 16);
  const demo = source.kind === 'demo' && source.arch === 'aarch64-linux' ? 'demo-aarch64' : 'demo';
  return join(userDataDir, 'boot', source.kind === 'demo' ? demo : key);
}

/** The handlers of every channel, and the running jobs they share. */
export class MainHandlers {
  readonly settings: SettingsStore;
  readonly cacheDir: string;
  private readonly jobs = new Map<string, Job>();
  /** The running serve helpers, by job. */
  private readonly serveControls = new Map<string, ServeControl>();
  /** The last build of each boot folder: two windows building one system take turns. */
  private readonly folderTurns = new Map<string, Promise<unknown>>();
  private readonly options: MainOptions;

  constructor(options: MainOptions) {
    this.options = options;
    this.cacheDir = options.cacheDir ?? defaultCacheDir();
    this.settings = new SettingsStore(join(options.userDataDir, 'settings.json'), options.hostArch);
  }

  /** Run `channel`'s handler and wrap its answer, or its error, as a {@link Result}. */
  async call<C extends InvokeChannel>(
    channel: C,
    request: RequestOf<C>,
    sender: Sender,
  ): Promise<Result<ResponseOf<C>>> {
    try {
      const handler = this.handlers[channel] as Handler<C>;
      return { ok: true, value: await handler(request, sender) };
    } catch (error) {
      return { ok: false, error: errorInfo(error) };
    }
  }

  /** Stop every job a window started (it was closed or reloaded). */
  cancelJobsOf(senderId: number): void {
    for (const job of this.jobs.values()) if (job.senderId === senderId) job.controller.abort();
  }

  /** Jobs running now. */
  get runningJobs(): number {
    return this.jobs.size;
  }

  private startJob(jobId: string, sender: Sender): { signal: AbortSignal; emit: JobEmit } {
    if (this.jobs.has(jobId)) throw new NetbootError(`A job named ${jobId} is running already.`);
    const controller = new AbortController();
    this.jobs.set(jobId, { controller, senderId: sender.id });
    const emit: JobEmit = (event) => {
      const message: JobEvent = { jobId, event };
      this.options.onJobEvent?.(sender, message);
      if (!sender.isDestroyed()) sender.send(JOB_EVENT_CHANNEL, message);
    };
    return { signal: controller.signal, emit };
  }

  private async job<T>(
    jobId: string,
    sender: Sender,
    run: (signal: AbortSignal, emit: JobEmit) => Promise<T>,
  ): Promise<T> {
    const { signal, emit } = this.startJob(jobId, sender);
    try {
      return await run(signal, emit);
    } finally {
      this.jobs.delete(jobId);
      this.options.onJobEnd?.(sender, jobId);
    }
  }

  private async summarize(source: SystemSource, signal: AbortSignal, emit: (e: BuildEvent) => void) {
    // Nix's own words for a machine where it cannot build are not for the page: one sentence first.
    await checkNix(signal);
    const system = await resolveSystem(source, this.cacheDir, { signal, onEvent: emit });
    const closure = await queryClosure(system.toplevel, signal);
    const size = async (path: string): Promise<number> => (await stat(path).catch(() => undefined))?.size ?? 0;
    const summary: SystemSummary = {
      source,
      system,
      paths: closure.paths.length,
      closureBytes: closure.totalBytes,
      kernelBytes: await size(system.kernel),
      initrdBytes: await size(system.initrd),
    };
    return summary;
  }

  private async buildInto(
    outDir: string,
    source: SystemSource,
    options: BuildOptions,
    signal: AbortSignal,
    emit: (event: BuildEvent) => void,
  ): Promise<BuildOutcome> {
    await checkNix(signal);
    const result = await build(
      {
        source,
        outDir,
        arch: options.arch,
        squashfsCompression: options.squashfs,
        initrdCompression: options.initrd,
        kernelParams: options.kernelParams,
        cacheDir: this.cacheDir,
        cacheLimitBytes: (await this.settings.get()).cacheLimitBytes,
      },
      { signal, onEvent: emit },
    );
    await this.settings.set({ options });
    const { system, ...summary } = result;
    await this.settings.addRecent(source, system.name);
    // Kept for the next build's diff; the boot folder is whole already, so a failure here costs only that.
    await recordBuild(this.cacheDir, await factsOfBootFolder(outDir)).catch(() => undefined);
    return { ...summary, script: await readFile(join(outDir, SCRIPT_NAME), 'utf8') };
  }

  /**
   * A test boot for the page: the console batched (a chatty guest must not
   * flood IPC), the result as the last event. Stopped, it ends as canceled.
   */
  private async testBoot(
    dir: string,
    firmware: TestBootResult['firmware'],
    usbImage: string | undefined,
    signal: AbortSignal,
    emit: JobEmit,
  ): Promise<TestBootResult> {
    const memoryMiB = await testBootMemoryMiB({ dir, usbImage });
    emit({ event: 'boot-start', firmware, medium: usbImage !== undefined ? 'usb' : 'network', memoryMiB });
    const batch = new ConsoleBatcher((data) => emit({ event: 'console', data }));
    let result: TestBootResult;
    try {
      result = await testBoot({
        ...(usbImage !== undefined ? { usbImage } : { dir }),
        firmware,
        // An aarch64 netboot's arm64 iPXE is fetched into the app's cache.
        cacheDir: this.cacheDir,
        expect: DEFAULT_EXPECT,
        timeoutSeconds: BOOT_TIMEOUT_SECONDS,
        memoryMiB,
        signal,
        onData: (data) => batch.push(data),
        onAccel: (accel, why, kvmFailure) => {
          batch.flush();
          emit({ event: 'accel', accel, why, ...(kvmFailure !== undefined ? { kvmFailure } : {}) });
        },
      });
    } finally {
      batch.flush();
    }
    if (signal.aborted) throw new CanceledError();
    emit({ event: 'boot-result', ...result });
    return result;
  }

  readonly handlers: Handlers = {
    'app:info': async (): Promise<AppInfo> => ({
      version: this.options.version,
      platform: process.platform,
      hostArch: this.options.hostArch,
    }),

    'system:resolve': ({ jobId, source }, sender) =>
      this.job(jobId, sender, async (signal, emit) => {
        const summary = await this.summarize(source, signal, emit);
        await this.settings.addRecent(source, summary.system.name);
        return summary;
      }),

    'flake:list': ({ jobId, ref }, sender) =>
      this.job(jobId, sender, async (signal) => {
        await checkNix(signal);
        const configurations = await listFlakeSystems(ref, signal);
        if (configurations.length === 0) {
          throw new NetbootError(`${ref} has no nixosConfigurations; choose the folder of a flake that defines some.`);
        }
        return configurations;
      }),

    'build:start': ({ jobId, source, options }, sender) =>
      this.job(jobId, sender, async (signal, emit) => {
        const outDir = bootFolderFor(this.options.userDataDir, source);
        // One build per boot folder at a time, or two windows would race for its record.
        const before = this.folderTurns.get(outDir);
        let done!: () => void;
        const turn = new Promise<void>((resolve) => (done = resolve));
        this.folderTurns.set(outDir, turn);
        try {
          if (before) {
            emit({ event: 'stage', stage: 'resolve', message: 'Waiting for another build of this system to finish' });
            await Promise.race([
              before,
              new Promise((_, reject) => signal.addEventListener('abort', reject, { once: true })),
            ]).catch(() => undefined);
            if (signal.aborted) throw new CanceledError();
          }
          return await this.buildInto(outDir, source, options, signal, emit);
        } finally {
          done();
          if (this.folderTurns.get(outDir) === turn) this.folderTurns.delete(outDir);
        }
      }),

    'job:cancel': async ({ jobId }, sender) => {
      const job = this.jobs.get(jobId);
      if (!job || job.senderId !== sender.id) return false;
      job.controller.abort();
      return true;
    },

    'export:start': ({ jobId, from, spec }, sender) =>
      this.job(jobId, sender, async (signal, emit) => {
        const summary = await exportTo(from, spec, { signal, onEvent: emit });
        await this.settings.set({ lastExport: spec });
        return summary;
      }),

    'boot:start': ({ jobId, dir, firmware, usbImage }, sender) =>
      this.job(jobId, sender, (signal, emit) => this.testBoot(dir, firmware, usbImage, signal, emit)),

    'drives:list': () => (this.options.services.listDrives ?? listRemovableDrives)(),

    'dialog:choose-folder': ({ purpose, defaultPath }, sender) =>
      this.options.services.chooseFolder(sender, purpose, defaultPath),

    'dialog:choose-file': ({ purpose, defaultPath }, sender) =>
      this.options.services.chooseFile(sender, purpose, defaultPath),

    'shell:show-folder': async ({ path }) => {
      await this.options.services.showFolder(path);
      return null;
    },

    'clipboard:write': async ({ text }) => {
      this.options.services.writeClipboard(text);
      return null;
    },

    'settings:get': () => this.settings.get(),

    'settings:set': (patch) => this.settings.set(patch),

    'cache:stats': async (): Promise<CacheSummary> =>
      cacheStats(this.cacheDir, (await this.settings.get()).cacheLimitBytes),

    'cache:prune': async ({ maxBytes }): Promise<CacheSummary> => {
      const limit = (await this.settings.get()).cacheLimitBytes;
      await pruneCache(this.cacheDir, maxBytes ?? limit);
      // Reported against the configured limit, not the size it was pruned to.
      return cacheStats(this.cacheDir, limit);
    },

    'closure:inspect': async (request): Promise<ClosureReport> => {
      if ('toplevel' in request) return { facts: await factsOfToplevel(request.toplevel) };
      const facts = await factsOfBootFolder(request.dir);
      return { facts, diff: await diffWithPrevious(this.cacheDir, facts) };
    },

    'serve:interfaces': () => serveInterfaces(),

    'serve:start': ({ jobId, ...request }, sender) =>
      this.job(jobId, sender, async (signal, emit) => {
        const onControl = (control: ServeControl): void => void this.serveControls.set(jobId, control);
        try {
          return await runServeHelper(request, signal, emit, { ...this.options.serveHelper, onControl });
        } finally {
          this.serveControls.delete(jobId);
        }
      }),

    'serve:reload': async ({ jobId }, sender) => {
      const control = this.serveControls.get(jobId);
      if (!control || this.jobs.get(jobId)?.senderId !== sender.id)
        throw new NetbootError('Nothing is being served to reload; start serving first.');
      control.reload();
      return null;
    },
  };
}
