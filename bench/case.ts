/**
 * One timed case of the benchmark, run in its own process so that GNU time
 * can report its peak memory and CPU (bench/run.ts runs it). Prints one JSON
 * line: {"seconds": ..., "bytes": ...}.
 *
 *   node bench/case.ts build    '{"toplevel","outDir","cacheDir","compression"}'
 *   node bench/case.ts netboot-nix '{"toplevel","workDir","compression"}'
 */
import { execFile } from 'node:child_process';
import { mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { build } from '../electron/pipeline/compose/build.ts';
import { queryClosure } from '../electron/pipeline/compose/closure.ts';
import { mksquashfsCompressionArgs, parseSquashfsCompression } from '../electron/pipeline/compose/compression.ts';
import { segmentParts, writeArchive } from '../electron/pipeline/compose/initrd.ts';

const run = promisify(execFile);
const [kind, json] = process.argv.slice(2);
const args = JSON.parse(json ?? '{}') as {
  toplevel: string;
  outDir: string;
  cacheDir: string;
  workDir: string;
  compression: string;
};
const compression = parseSquashfsCompression(args.compression);
const started = performance.now();
let bytes = 0;
/** For our builds: when the boot folder was complete (the "done" event), before freeing replaced files. */
let doneAt: number | undefined;

if (kind === 'build') {
  const result = await build(
    {
      source: { kind: 'toplevel', path: args.toplevel },
      outDir: args.outDir,
      cacheDir: args.cacheDir,
      squashfsCompression: compression,
      // The benchmark's caches are its own: no limit gets in the way of a case.
      cacheLimitBytes: Number.MAX_SAFE_INTEGER,
    },
    {
      onEvent: (event) => {
        if (event.event === 'done') doneAt = performance.now();
      },
    },
  );
  bytes = result.files.find((f) => f.name === 'nix-store')?.bytes ?? 0;
} else if (kind === 'netboot-nix') {
  // netboot.nix's way: per store path, one after another, a squashfs (all
  // cores, mksquashfs's default), then that squashfs in its own gzip'd cpio.
  const closure = await queryClosure(args.toplevel);
  await mkdir(args.workDir, { recursive: true });
  for (const [i, path] of closure.paths.entries()) {
    const image = join(args.workDir, `${i}.sqsh`);
    await run('mksquashfs', [
      path.path,
      image,
      '-keep-as-directory',
      '-all-root',
      '-noappend',
      '-no-xattrs',
      '-quiet',
      '-no-progress',
      ...mksquashfsCompressionArgs(compression),
    ]);
    const { size } = await stat(image);
    const archive = join(args.workDir, `${i}.cpio.gz`);
    await writeArchive(segmentParts(path.path, image, size), { name: 'gzip', level: 9 }, archive);
    bytes += (await stat(archive)).size;
  }
} else {
  throw new Error(`unknown case ${kind}`);
}
const ended = performance.now();
process.stdout.write(
  `${JSON.stringify({ seconds: ((doneAt ?? ended) - started) / 1000, returnedSeconds: (ended - started) / 1000, bytes })}\n`,
);
