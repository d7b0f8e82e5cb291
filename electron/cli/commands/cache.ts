/**
 * `netboot-composer cache stats|prune`: the cache's size, entries, limit and
 * last build's hits, or a prune down to a size.
 */
import { parseArgs } from 'node:util';
import { defaultCacheDir } from '../../pipeline/base/dirs.ts';
import { defaultCacheLimit } from '../../pipeline/compose/cache-limit.ts';
import { cacheStats, pruneCache } from '../../pipeline/compose/cache.ts';
import { formatBytes } from '../../shared/progress.ts';
import { printJson, sizeOption, UsageError, type Context } from '../context.ts';

export async function runCache(args: string[], context: Context): Promise<number> {
  const [action, ...rest] = args;
  if (action !== 'stats' && action !== 'prune') {
    throw new UsageError(
      `cache takes "stats" or "prune"${action === undefined ? '' : `, not "${action}"`}; see netboot-composer help.`,
    );
  }
  const { values } = parseArgs({
    args: rest,
    strict: true,
    options: {
      cache: { type: 'string' },
      'max-size': { type: 'string' },
      json: { type: 'boolean' },
      debug: { type: 'boolean' },
    },
  });
  const dir = values.cache ?? defaultCacheDir();
  const say = (text: string): void => {
    if (!context.json) process.stdout.write(`${text}\n`);
  };
  if (action === 'stats') {
    if (values['max-size'] !== undefined) throw new UsageError('--max-size goes with cache prune, not cache stats.');
    const stats = await cacheStats(dir, defaultCacheLimit());
    if (context.json) printJson({ event: 'cache-stats', ...stats });
    say(`Cache: ${stats.dir}`);
    say(`  ${formatBytes(stats.bytes)} in ${stats.entries} squashfs images (limit ${formatBytes(stats.limitBytes)})`);
    const last = stats.lastBuild;
    if (last) {
      const total = last.hits + last.misses;
      const rate = total === 0 ? 0 : Math.round((100 * last.hits) / total);
      say(`  last build (${last.at}): ${last.hits} reused, ${last.misses} packed, ${rate}% hit rate`);
    } else say('  no build has used it yet');
    return 0;
  }
  const maxBytes = sizeOption(values['max-size'], '--max-size') ?? defaultCacheLimit();
  const pruned = await pruneCache(dir, maxBytes);
  if (context.json) printJson({ event: 'cache-pruned', ...pruned });
  say(
    `Removed ${pruned.removedEntries} entries (${formatBytes(pruned.freedBytes)}); ${pruned.stats.dir} now holds ${formatBytes(pruned.stats.bytes)} in ${pruned.stats.entries} squashfs images.`,
  );
  if (pruned.stats.bytes > maxBytes) {
    say(`It is still over ${formatBytes(maxBytes)}: a running build is using the rest.`);
  }
  return 0;
}
