/**
 * The builds of each system, kept so the next build can say what changed
 * (electron/shared/closure-diff.ts): per system, the last build's snapshot
 * and the one before it whose toplevel differed. One small JSON file per
 * system in the cache folder, `history/NAME-HASH.json`, written whole (a
 * temporary file renamed into place), shared by the app and the CLI like the
 * cache itself.
 *
 * "The same system" is the toplevel's name without its hash and NixOS label:
 * `nixos-system-myhost-25.11.20251130.abc` is `nixos-system-myhost`.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { pathName, type ClosureFacts } from '../../shared/closure-map.ts';
import { diffClosures, snapshotOf, type BuildSnapshot, type ClosureDiff } from '../../shared/closure-diff.ts';
import { errnoCode, makeFolder } from '../base/fsutil.ts';
import { alive } from '../base/lock.ts';

interface HistoryFile {
  tool: 'netboot-composer-history';
  version: 1;
  system: string;
  current: BuildSnapshot;
  previous?: BuildSnapshot | undefined;
}

/** Files larger than this are not ours (a closure of 100 000 paths is a few MiB). */
const MAX_HISTORY_BYTES = 64 * 1024 * 1024;

/** The system a toplevel is a build of: its name without the trailing `-LABEL` that starts with a digit. */
export function systemKey(toplevel: string): string {
  return pathName(toplevel).replace(/-\d[^-]*$/, '');
}

/** The history file of `system` in `cacheDir`: the name made safe, with a short hash so two never meet. */
export function historyFile(cacheDir: string, system: string): string {
  const safe = system.replace(/[^A-Za-z0-9._+-]/g, '_').slice(0, 80);
  const hash = createHash('sha256').update(system).digest('hex').slice(0, 8);
  return join(cacheDir, 'history', `${safe}-${hash}.json`);
}

function isSnapshot(value: unknown): value is BuildSnapshot {
  const s = value as BuildSnapshot | undefined;
  return (
    typeof s === 'object' &&
    s !== null &&
    typeof s.toplevel === 'string' &&
    typeof s.builtAt === 'string' &&
    typeof s.script === 'string' &&
    Number.isSafeInteger(s.ramBytes) &&
    Number.isSafeInteger(s.downloadBytes) &&
    Array.isArray(s.paths) &&
    s.paths.every(
      (p) =>
        typeof p?.path === 'string' &&
        Number.isSafeInteger(p.narSize) &&
        (p.packedBytes === undefined || Number.isSafeInteger(p.packedBytes)),
    )
  );
}

/** The history of `system`, or undefined: none yet, or a file that is not one of ours (then it is started again). */
export async function readHistory(cacheDir: string, system: string): Promise<HistoryFile | undefined> {
  const file = historyFile(cacheDir, system);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return undefined;
    throw error;
  }
  if (text.length > MAX_HISTORY_BYTES) return undefined;
  try {
    const parsed = JSON.parse(text) as HistoryFile;
    if (parsed.tool !== 'netboot-composer-history' || parsed.system !== system || !isSnapshot(parsed.current)) {
      return undefined;
    }
    return { ...parsed, previous: isSnapshot(parsed.previous) ? parsed.previous : undefined };
  } catch {
    return undefined;
  }
}

/** The build before the one of `toplevel`: the previous snapshot of its system with another toplevel. */
export async function previousBuild(cacheDir: string, toplevel: string): Promise<BuildSnapshot | undefined> {
  const history = await readHistory(cacheDir, systemKey(toplevel));
  if (!history) return undefined;
  return history.current.toplevel === toplevel ? history.previous : history.current;
}

/**
 * Keep the build `facts` describes (a boot folder's) as its system's last
 * build; resolves to the build before it (another toplevel), if any. A
 * rebuild of the same toplevel keeps the build before it.
 */
export async function recordBuild(
  cacheDir: string,
  facts: ClosureFacts,
  builtAt = new Date(),
): Promise<BuildSnapshot | undefined> {
  const system = systemKey(facts.toplevel);
  const history = await readHistory(cacheDir, system);
  const previous = history?.current.toplevel === facts.toplevel ? history.previous : history?.current;
  const file: HistoryFile = {
    tool: 'netboot-composer-history',
    version: 1,
    system,
    current: snapshotOf(facts, builtAt.toISOString()),
    previous,
  };
  const path = historyFile(cacheDir, system);
  await writeWhole(path, `${JSON.stringify(file)}\n`);
  return previous;
}

/**
 * Write `text` to `file` whole: a temporary file beside it, `.NAME.PID.partial`,
 * renamed into place. Those a killed process left are removed first.
 */
async function writeWhole(file: string, text: string): Promise<void> {
  const dir = dirname(file);
  await makeFolder(dir);
  for (const name of await readdir(dir)) {
    const pid = /^\..+\.(\d+)\.partial$/.exec(name)?.[1];
    if (pid !== undefined && Number(pid) !== process.pid && !alive(Number(pid))) {
      await rm(join(dir, name), { force: true });
    }
  }
  const temp = join(dir, `.${basename(file)}.${process.pid}.partial`);
  try {
    await writeFile(temp, text);
    await rename(temp, file);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

/** What changed since the build before `facts`'s, or undefined when there is none. */
export async function diffWithPrevious(cacheDir: string, facts: ClosureFacts): Promise<ClosureDiff | undefined> {
  const previous = await previousBuild(cacheDir, facts.toplevel);
  return previous ? diffClosures(previous, snapshotOf(facts, new Date().toISOString())) : undefined;
}
