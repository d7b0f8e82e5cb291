/**
 * Where a full build's time goes beyond mksquashfs itself: one build of the
 * benchmark's closure with an empty cache, timed per stage (from the build's
 * events), with the CPU of Node's own process against that of its children
 * (mksquashfs, the shells, nix-store), from /proc. Run it under
 * `node --cpu-prof` to see which functions of ours take the main thread.
 *
 *   node bench/profile.ts [--closure debian|server] [--compression zstd:6]
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { build } from '../electron/pipeline/compose/build.ts';
import { parseSquashfsCompression } from '../electron/pipeline/compose/compression.ts';
import { benchClosure } from './closure.ts';
import { serverClosure } from './server-closure.ts';

const { values } = parseArgs({
  options: { closure: { type: 'string', default: 'debian' }, compression: { type: 'string', default: 'zstd:6' } },
});
/** utime, stime, cutime, cstime of this process, in seconds (USER_HZ 100). */
async function cpu(): Promise<{ self: number; children: number }> {
  const fields = (await readFile('/proc/self/stat', 'utf8')).split(') ')[1]!.split(' ').map(Number);
  // After "pid (comm) ": state is field 0, utime 11, stime 12, cutime 13, cstime 14.
  return { self: (fields[11]! + fields[12]!) / 100, children: (fields[13]! + fields[14]!) / 100 };
}

const closure = values.closure === 'server' ? await serverClosure() : await benchClosure();
const work = await mkdtemp(join(tmpdir(), 'nbc-profile-'));
try {
  const stages: { stage: string; at: number }[] = [];
  let firstPacked: number | undefined;
  let lastPacked = 0;
  const started = performance.now();
  const before = await cpu();
  let doneAt = 0;
  await build(
    {
      source: { kind: 'toplevel', path: closure.toplevels[0] },
      outDir: join(work, 'out'),
      cacheDir: join(work, 'cache'),
      squashfsCompression: parseSquashfsCompression(values.compression),
      cacheLimitBytes: Number.MAX_SAFE_INTEGER,
    },
    {
      onEvent: (event) => {
        const at = (performance.now() - started) / 1000;
        if (event.event === 'stage') stages.push({ stage: event.stage, at });
        if (event.event === 'path-done') {
          firstPacked ??= at;
          lastPacked = at;
        }
        if (event.event === 'done') doneAt = at;
      },
    },
  );
  const after = await cpu();
  const total = (performance.now() - started) / 1000;
  const lines = stages.map((s, i) => {
    const end = stages[i + 1]?.at ?? doneAt;
    return `  ${s.stage.padEnd(9)} ${s.at.toFixed(2)} s → ${end.toFixed(2)} s (${(end - s.at).toFixed(2)} s)`;
  });
  process.stdout.write(
    [
      `closure ${values.closure}, ${values.compression}: done at ${doneAt.toFixed(2)} s, returned at ${total.toFixed(2)} s`,
      ...lines,
      `  paths done from ${firstPacked?.toFixed(2)} s to ${lastPacked.toFixed(2)} s`,
      `CPU: Node's own process ${(after.self - before.self).toFixed(2)} s, its children (mksquashfs, shells, nix-store) ${(after.children - before.children).toFixed(2)} s`,
      '',
    ].join('\n'),
  );
} finally {
  await rm(work, { recursive: true, force: true });
}
