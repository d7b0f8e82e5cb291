/**
 * The app's settings, kept as JSON in its user data folder. A damaged or
 * older file never stops the app: what does not validate falls back to the
 * defaults. Writes go to a temp file renamed into place.
 */
import { randomBytes } from 'node:crypto';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { z } from 'zod';
import { defaultBuildOptions, type RecentSource, type Settings } from '../shared/ipc.ts';
import type { Arch, SystemSource } from '../shared/types.ts';
import { buildOptionsSchema, cacheLimitSchema, exportSpecSchema, systemSourceSchema } from './schemas.ts';
import { makeFolder } from '../pipeline/base/fsutil.ts';

export const MAX_RECENT = 8;

const recentSchema = z.object({ source: systemSourceSchema, label: z.string(), usedAt: z.string() });

/** Two sources are the same choice when they name the same thing. */
export function sameSource(a: SystemSource, b: SystemSource): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

export class SettingsStore {
  readonly file: string;
  private readonly defaults: Settings;
  private current: Settings | undefined;
  private writing: Promise<void> = Promise.resolve();

  constructor(file: string, hostArch: Arch | undefined) {
    this.file = file;
    this.defaults = {
      recent: [],
      options: defaultBuildOptions(hostArch),
      lastExport: undefined,
      cacheLimitBytes: undefined,
    };
  }

  async get(): Promise<Settings> {
    if (this.current) return this.current;
    let raw: unknown;
    try {
      raw = JSON.parse(await readFile(this.file, 'utf8'));
    } catch {
      raw = {};
    }
    const object = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
    const options = buildOptionsSchema.safeParse(object.options);
    const recent = z.array(recentSchema).safeParse(object.recent);
    const lastExport = exportSpecSchema.safeParse(object.lastExport);
    // Before export kinds, only the folder was kept.
    const exportFolder = z.string().startsWith('/').safeParse(object.exportFolder);
    const cacheLimitBytes = cacheLimitSchema.safeParse(object.cacheLimitBytes);
    this.current = {
      recent: recent.success ? recent.data.slice(0, MAX_RECENT) : [],
      options: options.success ? options.data : this.defaults.options,
      lastExport: lastExport.success
        ? lastExport.data
        : exportFolder.success
          ? { kind: 'folder', dir: exportFolder.data }
          : undefined,
      cacheLimitBytes: cacheLimitBytes.success ? cacheLimitBytes.data : undefined,
    };
    return this.current;
  }

  async set(patch: Partial<Settings>): Promise<Settings> {
    const next = { ...(await this.get()), ...patch };
    this.current = next;
    await this.save(next);
    return next;
  }

  /** Put `source` first in the recent list. */
  async addRecent(source: SystemSource, label: string): Promise<Settings> {
    const settings = await this.get();
    const entry: RecentSource = { source, label, usedAt: new Date().toISOString() };
    const recent = [entry, ...settings.recent.filter((r) => !sameSource(r.source, source))].slice(0, MAX_RECENT);
    return this.set({ recent });
  }

  private save(settings: Settings): Promise<void> {
    // One write at a time, in order: the last call wins.
    this.writing = this.writing.then(async () => {
      await makeFolder(dirname(this.file));
      const temp = `${this.file}.partial-${randomBytes(4).toString('hex')}`;
      await writeFile(temp, `${JSON.stringify(settings, null, 2)}\n`);
      await rename(temp, this.file);
    });
    return this.writing;
  }
}
