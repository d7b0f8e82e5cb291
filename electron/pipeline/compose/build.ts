/**
 * The pipeline: from a system to a boot folder.
 *
 *   resolve -> closure -> pack (one cached squashfs per path, in parallel)
 *           -> assemble (nix-store and manifest initrds) -> script -> write
 *
 * Plain Node: the Electron main process and the CLI both drive this, and
 * learn what happens through `onEvent`.
 */
import { createHash } from 'node:crypto';
import { copyFile, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { isInitrdName, kernelFileName, SCRIPT_NAME, storeFileName } from '../../shared/boot-folder.ts';
import { ipxeScript } from '../../shared/ipxe.ts';
import { kernelParamsProblem } from '../../shared/kernel-params.ts';
import {
  ARCHES,
  type Arch,
  type BuildEvent,
  type BuildSummary,
  type InitrdCompression,
  type NixosSystem,
  type OutputFile,
  type SquashfsCompression,
  type SystemSource,
} from '../../shared/types.ts';
import { defaultCacheDir } from '../base/dirs.ts';
import { CanceledError, isAbort, NetbootError } from '../base/errors.ts';
import { requireTool } from '../base/tools.ts';
import { copyInitrd, padInitrd } from '../media/initrd-padding.ts';
import { OutDir } from '../media/out-dir.ts';
import { manifestText, SQUASHES_DIR } from '../media/store.ts';
import { defaultCacheLimit } from './cache-limit.ts';
import { Cache, type Lease } from './cache.ts';
import { queryClosure } from './closure.ts';
import { DEFAULT_INITRD_COMPRESSION, DEFAULT_SQUASHFS_COMPRESSION, formatCompression } from './compression.ts';
import { cpioParts, type CpioPart } from './cpio.ts';
import { buildDemo } from './demo.ts';
import { gzipRegistration, joinParts, manifestEntries, segmentParts, writeArchive } from './initrd.ts';
import { inspectStageOne } from './inspect.ts';
import { buildFlakeSystem } from './nix.ts';
import {
  defaultSquashfsWriter,
  packClosure,
  planFiles,
  planPacking,
  type Packed,
  type SquashfsWriterChoice,
} from './pack.ts';
import { readToplevel } from './resolve.ts';
import { splitStore, storeFileTarget } from './store-split.ts';

export interface BuildRequest {
  source: SystemSource;
  outDir: string;
  /** The architecture the user expects; checked against the system's own. */
  arch?: Arch | undefined;
  squashfsCompression?: SquashfsCompression | undefined;
  initrdCompression?: InitrdCompression | undefined;
  cacheDir?: string | undefined;
  /**
   * The cache's size limit: after the build, the least recently used entries
   * go until the cache fits (never one this build uses). Default:
   * NETBOOT_COMPOSER_CACHE_LIMIT, else 5 GiB.
   */
  cacheLimitBytes?: number | undefined;
  /** Added to the system's own kernel parameters. */
  kernelParams?: string | undefined;
  /** Store paths packed at once; default: the number of cores. */
  jobs?: number | undefined;
  /**
   * Who makes small paths' images with gzip or zstd: mksquashfs, as for every
   * other path, or the in-process writer. Default:
   * NETBOOT_COMPOSER_SQUASHFS_WRITER, else mksquashfs (the writer saved ~4% CPU
   * and no measurable wall time, for ~50% more peak memory: README, Performance).
   */
  squashfsWriter?: SquashfsWriterChoice | undefined;
  /** NAR bytes per store file the split aims at (store-split.ts); default: NETBOOT_COMPOSER_STORE_FILE_TARGET, else 64 MiB. */
  storeFileTarget?: number | undefined;
}

export interface BuildResult extends BuildSummary {
  system: NixosSystem;
}

export interface BuildHooks {
  onEvent?: (event: BuildEvent) => void;
  signal?: AbortSignal | undefined;
}

/** A promise with its resolve and reject at hand; settled once, later calls ignored. */
function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void; reject: (error: unknown) => void } {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // Rejected only when the build fails, which is reported from elsewhere.
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

function fingerprint(...parts: string[]): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex');
}

/**
 * In the fingerprint of an initrd whose bytes changed when every initrd
 * began to end on a 4-byte boundary, so that a boot folder an older version
 * wrote is rewritten: the system's own initrd, and compressed archives (an
 * uncompressed cpio archive always ended on one).
 */
const ALIGNED = 'zero-padded to 4 bytes';

function alignedTag(compression: InitrdCompression): string[] {
  return compression.name === 'none' ? [] : [ALIGNED];
}

/** Build a system's toplevel, if the source needs building, and read it. */
export async function resolveSystem(
  source: SystemSource,
  cacheDir: string,
  hooks: BuildHooks = {},
): Promise<NixosSystem> {
  const onLog = (message: string): void => hooks.onEvent?.({ event: 'log', message });
  switch (source.kind) {
    case 'toplevel':
      return readToplevel(source.path);
    case 'flake':
      hooks.onEvent?.({ event: 'stage', stage: 'resolve', message: `Building ${source.ref}#${source.name} with Nix` });
      return readToplevel(await buildFlakeSystem(source.ref, source.name, { signal: hooks.signal, onLog }));
    case 'demo':
      hooks.onEvent?.({
        event: 'stage',
        stage: 'resolve',
        message: `Building the ${source.arch === 'aarch64-linux' ? 'aarch64 ' : ''}demo system with Nix`,
      });
      return readToplevel(
        await buildDemo(cacheDir, { signal: hooks.signal, onLog }, source.stage1, {}, source.arch ?? 'x86_64-linux'),
      );
  }
}

/** Check the system's architecture against the one asked for. */
export function checkArch(system: NixosSystem, asked: Arch | undefined): Arch {
  if (asked !== undefined && system.system !== asked) {
    throw new NetbootError(
      `${system.name} is built for ${system.system}, but ${asked} was asked for; build the configuration for ${asked} or choose ${system.system}.`,
    );
  }
  if (!(ARCHES as readonly string[]).includes(system.system)) {
    throw new NetbootError(
      `${system.name} is built for ${system.system}; Netboot Composer makes images for ${ARCHES.join(' and ')}.`,
    );
  }
  return system.system as Arch;
}

/** Run the whole pipeline. Throws a {@link NetbootError} a person can act on, or {@link CanceledError}. */
export async function build(request: BuildRequest, hooks: BuildHooks = {}): Promise<BuildResult> {
  const started = performance.now();
  const emit = (event: BuildEvent): void => hooks.onEvent?.(event);
  const { signal } = hooks;
  const squashfsCompression = request.squashfsCompression ?? DEFAULT_SQUASHFS_COMPRESSION;
  const initrdCompression = request.initrdCompression ?? DEFAULT_INITRD_COMPRESSION;
  const cache = new Cache(request.cacheDir ?? defaultCacheDir());
  const jobs = Math.max(1, request.jobs ?? availableParallelism());
  const squashfsWriter = request.squashfsWriter ?? defaultSquashfsWriter();
  const cacheLimit = request.cacheLimitBytes ?? defaultCacheLimit();
  const throwIfAborted = (): void => {
    if (signal?.aborted) throw new CanceledError();
  };

  // Fail fast, before anything long: the parameters, tools, out folder, cache folder.
  const paramsProblem = kernelParamsProblem(request.kernelParams ?? '');
  if (paramsProblem) throw new NetbootError(paramsProblem);
  requireTool('nix-store');
  requireTool('mksquashfs');
  // One writer at a time: a second build into the folder waits here, and says so.
  const out = await OutDir.open(request.outDir, {
    signal,
    onWait: (message) => emit({ event: 'log', message }),
  }).catch((error: unknown) => {
    throw isAbort(error, signal) ? new CanceledError() : error;
  });
  let lease: Lease | undefined;

  try {
    await cache.prepare();
    emit({ event: 'stage', stage: 'resolve', message: 'Reading the system' });
    // The demo is built for the architecture asked for.
    const source =
      request.source.kind === 'demo' && request.source.arch === undefined && request.arch !== undefined
        ? { ...request.source, arch: request.arch }
        : request.source;
    const system = await resolveSystem(source, cache.dir, hooks);
    const arch = checkArch(system, request.arch);
    emit({ event: 'system', system });
    const kernelName = kernelFileName(arch);
    await out.claim([kernelName, 'initrd', 'manifest', SCRIPT_NAME]);
    if ((await cache.remember(`stage-1 ${system.initrd}`, () => inspectStageOne(system.initrd))) === 'no-squashes') {
      emit({
        event: 'warning',
        message: `${system.name}'s stage 1 does not read ${SQUASHES_DIR}, so it will not find its Nix store when netbooted: build it with --flake (which adds Netboot Composer's netboot module), or add assets/nix/netboot.nix to its modules.`,
      });
    }
    throwIfAborted();

    emit({ event: 'stage', stage: 'closure', message: 'Querying the closure' });
    const closure = await queryClosure(system.toplevel, signal);
    // Biggest first, so no long job starts last and leaves a core idle.
    const ordered = [...closure.paths].sort((a, b) => b.narSize - a.narSize || a.path.localeCompare(b.path));
    emit({
      event: 'closure',
      paths: ordered.map((p) => ({ path: p.path, narSize: p.narSize })),
      totalBytes: closure.totalBytes,
    });

    emit({ event: 'stage', stage: 'pack', message: `Packing ${ordered.length} store paths` });
    const plan = await planPacking(ordered, cache, squashfsCompression, initrdCompression, squashfsWriter);
    // Claimed before the first lookup: another build's prune leaves them alone.
    lease = await cache.lease(planFiles(plan), signal);

    // The store's initrd files (store-split.ts) each join their paths'
    // archives as soon as they are packed (or found in the cache), while the
    // rest are packed: in the plan's order, biggest first, a fixed order so
    // the same closure always gives the same bytes. A file whose paths did
    // not change is kept as it is.
    const split = splitStore(
      plan.paths.map((p) => p.path),
      request.storeFileTarget ?? storeFileTarget(),
    );
    const storeFiles = Array.from({ length: split.files }, (_, index) => ({
      index,
      name: storeFileName(index),
      slots: [] as number[],
      print: '',
      current: false,
      writing: undefined as Promise<number> | undefined,
    })).filter((_, index) => split.fileOf.includes(index));
    split.fileOf.forEach((index, slot) => storeFiles.find((f) => f.index === index)!.slots.push(slot));
    await out.claim(storeFiles.map((f) => f.name));
    const ready = plan.paths.map(() => deferred<Packed>());
    async function* storeParts(slots: readonly number[]): AsyncGenerator<CpioPart> {
      for (const slot of slots) {
        const item = await ready[slot]!.promise;
        if (item.segment) yield { path: item.segment.file, size: item.segment.bytes };
        else yield* segmentParts(item.path.path, item.squashfs.file, item.squashfs.bytes);
      }
    }
    // One 8 MiB copy buffer in all, shared out among the files written at once.
    const bufferBytes = Math.max(1024 * 1024, Math.floor((8 * 1024 * 1024) / storeFiles.length));
    for (const file of storeFiles) {
      file.print = fingerprint(
        'nix-store',
        formatCompression(initrdCompression),
        ...alignedTag(initrdCompression),
        ...file.slots.map((slot) => plan.paths[slot]!.segment?.key ?? plan.paths[slot]!.squashfs.key),
      );
      file.current = await out.isCurrent(file.name, file.print);
      file.writing = file.current
        ? undefined
        : out.write(file.name, file.print, async (temp) => {
            await joinParts(storeParts(file.slots), temp, signal, bufferBytes);
            await padInitrd(temp);
          });
      // Awaited below; a failure while packing is the one reported.
      file.writing?.catch(() => undefined);
    }
    const storeWriting = storeFiles.some((f) => f.writing) ? Promise.all(storeFiles.map((f) => f.writing)) : undefined;
    storeWriting?.catch(() => undefined);
    let packing: Awaited<ReturnType<typeof packClosure>>;
    try {
      packing = await packClosure(plan, {
        cache,
        squashfsCompression,
        initrdCompression,
        jobs,
        emit,
        signal,
        onPacked: (index, item) => ready[index]!.resolve(item),
      });
    } catch (error) {
      for (const slot of ready) slot.reject(error);
      await storeWriting?.catch(() => undefined);
      throw error;
    }
    const { packed, packedCount, reusedCount } = packing;
    throwIfAborted();

    emit({ event: 'stage', stage: 'assemble', message: 'Assembling the initrds' });
    const files: OutputFile[] = [];
    const put = async (name: string, print: string, produce: (temp: string) => Promise<void>): Promise<void> => {
      throwIfAborted();
      const current = await out.isCurrent(name, print);
      const bytes = current ? out.keep(name) : await out.write(name, print, produce);
      files.push({ name, bytes });
      emit({ event: 'file', name, bytes, reused: current });
    };

    await put(kernelName, fingerprint('kernel', system.kernel), (temp) => copyFile(system.kernel, temp));
    // Any length, as the system's builder made it: zero-padded, so the next
    // initrd starts on a 4-byte boundary even where the loader adds no padding.
    await put('initrd', fingerprint('initrd', system.initrd, ALIGNED), (temp) => copyInitrd(system.initrd, temp));

    const squashes = manifestText(closure.paths.map((p) => p.path));
    await put(
      'manifest',
      fingerprint(
        'manifest',
        formatCompression(initrdCompression),
        ...alignedTag(initrdCompression),
        squashes,
        closure.registration,
      ),
      async (temp) => {
        await writeArchive(
          cpioParts(manifestEntries(squashes, gzipRegistration(closure.registration))),
          initrdCompression,
          temp,
          signal,
        );
        await padInitrd(temp);
      },
    );

    throwIfAborted();
    for (const file of storeFiles) {
      const bytes = file.current ? out.keep(file.name) : await file.writing!;
      files.push({ name: file.name, bytes });
      emit({ event: 'file', name: file.name, bytes, reused: file.current });
    }

    const script = ipxeScript({
      title: `${system.name} (NixOS ${system.nixosVersion}, ${arch})`,
      kernel: kernelName,
      initrds: ['initrd', 'manifest', ...storeFiles.map((f) => f.name)],
      init: system.init,
      kernelParams: system.kernelParams,
      extraParams: request.kernelParams,
    });
    await put(SCRIPT_NAME, fingerprint('script', script), (temp) => writeFile(temp, script));

    const initrdBytes = files.filter((f) => isInitrdName(f.name)).reduce((s, f) => s + f.bytes, 0);
    const kernelBytes = files.find((f) => f.name === kernelName)?.bytes ?? 0;
    const squashfsBytes = packed.reduce((sum, item) => sum + item.squashfs.bytes, 0);
    const summary: BuildSummary = {
      outDir: request.outDir,
      files,
      paths: packed.length,
      packed: packedCount,
      reused: reusedCount,
      seconds: (performance.now() - started) / 1000,
      // Stage 1 copies the store into tmpfs while the unpacked squashfs files
      // are still in the initramfs; the downloaded initrds and the kernel are
      // in memory while they are unpacked.
      ramBytes: closure.totalBytes + squashfsBytes + initrdBytes + kernelBytes,
      downloadBytes: kernelBytes + initrdBytes,
    };
    const result: BuildResult = { system, ...summary };
    emit({ event: 'stage', stage: 'write', message: `Writing ${request.outDir}` });
    throwIfAborted();
    await out.commit({ ramBytes: result.ramBytes, toplevel: system.toplevel });
    emit({ event: 'done', ...summary });
    // After "done": the boot folder is complete; what is left is housekeeping
    // the user need not wait for. The lease is still held, so the prune keeps
    // this build's entries; another build pruning right now does the same job.
    await cache.recordBuild(reusedCount, packedCount);
    await cache.prune(cacheLimit);
    await out.release();
    return result;
  } catch (error) {
    await out.discard();
    if (isAbort(error, signal)) throw new CanceledError();
    throw error;
  } finally {
    await lease?.release();
  }
}
