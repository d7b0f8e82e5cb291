/**
 * The set of files a server serves, taken once from each boot folder's
 * record and held open: a build into the same folder while we serve (which
 * renames new files over the old ones) changes nothing we send, until the
 * user reloads. A snapshot is taken whole or not at all: the record is read
 * before and after the files are opened, and a folder whose record changed
 * in between (a build committing) is read again.
 */
import { type FileHandle, open } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { SCRIPT_NAME } from '../../shared/boot-folder.ts';
import type { ServedSystemInfo } from '../../shared/serve.ts';
import { NetbootError } from '../base/errors.ts';
import { readBootFolderFiles, readRecord } from '../media/read-folder.ts';

/** One file of a served system, open. */
export interface ServedFile {
  name: string;
  bytes: number;
  handle: FileHandle;
}

/**
 * One boot folder, as served: what the events say of it (index: 1, 2, ..., its
 * place on the command line, in its URL and in the menu; name, version and
 * architecture from the script's first comment; RAM from the record), and
 * its open files.
 */
export interface ServedSystem extends Omit<ServedSystemInfo, 'files'> {
  /** The iPXE script as it was when served (it is small: held in memory). */
  script: Buffer;
  /** Every file of the record but the script, by name. */
  files: Map<string, ServedFile>;
  /** The files the script loads (kernel, initrds): once a machine has them all, the kernel runs. */
  bootFiles: string[];
}

/** The files an iPXE script's `kernel` and `initrd` lines load, by their last path part. */
export function scriptFiles(script: string): string[] {
  const names: string[] = [];
  for (const line of script.split('\n')) {
    const words = line.trim().split(/\s+/);
    if (words[0] !== 'kernel' && words[0] !== 'initrd') continue;
    const file = words.slice(1).find((w, i, all) => !w.startsWith('--') && !(i > 0 && all[i - 1] === '--name'));
    if (file) names.push(decodeURIComponent(file.split('/').pop()!));
  }
  return names;
}

/** The title line a build writes: `# NAME (NixOS VERSION, ARCH), made by Netboot Composer.` */
const TITLE = /^# (.*) \(NixOS ([^,()]+), ([^,()]+)\), made by Netboot Composer\.$/m;

/** What a script's title line says about its system. */
export function scriptTitle(script: string): { name: string; version: string; arch: string } | undefined {
  const match = TITLE.exec(script);
  return match ? { name: match[1]!, version: match[2]!, arch: match[3]! } : undefined;
}

async function closeAll(files: Iterable<ServedFile>): Promise<void> {
  for (const file of files) await file.handle.close().catch(() => undefined);
}

/** Open every file the record of `dir` lists, checked against it; undefined when the record changed meanwhile. */
async function tryOpen(dir: string, index: number): Promise<ServedSystem | undefined> {
  const before = await readRecord(dir);
  const listed = await readBootFolderFiles(dir);
  if (!before || !listed) {
    throw new NetbootError(
      `${dir} is not a boot folder Netboot Composer made (it has no record of its files); build a system into it first.`,
    );
  }
  if (!listed.files.some((f) => f.name === SCRIPT_NAME)) {
    throw new NetbootError(`${dir} has no ${SCRIPT_NAME}; build the system again.`);
  }
  const files = new Map<string, ServedFile>();
  let script = Buffer.alloc(0);
  try {
    for (const { name, bytes } of listed.files) {
      const handle = await open(join(dir, name), 'r');
      const size = (await handle.stat()).size;
      if (name === SCRIPT_NAME) {
        script = await handle.readFile();
        await handle.close();
        continue;
      }
      files.set(name, { name, bytes: size, handle });
      if (size !== bytes) return (await closeAll(files.values()), undefined);
    }
    const after = await readRecord(dir);
    if (JSON.stringify(after) !== JSON.stringify(before)) return (await closeAll(files.values()), undefined);
  } catch (error) {
    await closeAll(files.values());
    throw error;
  }
  const title = scriptTitle(script.toString('utf8'));
  return {
    index,
    dir,
    name: title?.name ?? basename(dir),
    version: title?.version,
    arch: title?.arch,
    ramBytes: before.info?.ramBytes,
    script,
    files,
    bootFiles: scriptFiles(script.toString('utf8')),
  };
}

/** The boot folders `dirs`, each held open as it is now (see the top of this file). */
export async function snapshotSystems(dirs: readonly string[]): Promise<ServedSystem[]> {
  const systems: ServedSystem[] = [];
  try {
    for (const [i, dir] of dirs.entries()) {
      let system: ServedSystem | undefined;
      for (let attempt = 0; attempt < 5 && !system; attempt++) {
        system = await tryOpen(resolve(dir), i + 1);
        if (!system) await new Promise((r) => setTimeout(r, 200));
      }
      if (!system) {
        throw new NetbootError(
          `${dir} kept changing while it was read (a build is writing it); wait for the build to finish, then serve again.`,
        );
      }
      systems.push(system);
    }
  } catch (error) {
    await releaseSystems(systems);
    throw error;
  }
  return systems;
}

/** Close every file of `systems`. */
export async function releaseSystems(systems: readonly ServedSystem[]): Promise<void> {
  for (const system of systems) await closeAll(system.files.values());
}
