/**
 * One timed case of the benchmark, run in its own process so that GNU time
 * can report its peak memory and CPU (bench/run.ts runs it). Prints one JSON
 * line: {"seconds": ..., "bytes": ...}.
 *
 *   node bench/case.ts build    '{"toplevel","outDir","cacheDir","compression"}'
 *   node bench/case.ts netboot-nix '{"toplevel","workDir","compression"}'
 *   node bench/case.ts export   '{"from","to","kind"}'   (kind: folder, tftp, usb-image)
 *
 * Our builds also print `written`, the bytes of boot-folder files written
 * (not kept as they were); an export prints the bytes it copied as both.
 */
import { execFile } from 'node:child_process';
import { mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { build } from '../electron/pipeline/compose/build.ts';
import { queryClosure } from '../electron/pipeline/compose/closure.ts';
import { mksquashfsCompressionArgs, parseSquashfsCompression } from '../electron/pipeline/compose/compression.ts';
import { segmentParts, writeArchive } from '../electron/pipeline/compose/initrd.ts';
import { exportTo } from '../electron/pipeline/export/export.ts';
import { makeUsbImage } from '../electron/pipeline/export/usb.ts';
import { isStoreFile } from '../electron/shared/boot-folder.ts';
import type { BuildEvent } from '../electron/shared/types.ts';

const run = promisify(execFile);
const [kind, json] = process.argv.slice(2);
const args = JSON.parse(json ?? '{}') as {
  toplevel: string;
  outDir: string;
  cacheDir: string;
  workDir: string;
  compression: string;
  from: string;
  to: string;
  kind: 'folder' | 'tftp' | 'usb-image';
};
const compression = parseSquashfsCompression(args.compression ?? 'zstd:6');
const started = performance.now();
let bytes = 0;
let written = 0;
/** The bytes of the files an export or a build wrote, not kept as they were. */
const countWritten = (event: BuildEvent): void => {
  if (event.event === 'file' && !event.reused) written += event.bytes;
};
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
        countWritten(event);
        if (event.event === 'done') doneAt = performance.now();
      },
    },
  );
  bytes = result.files.filter((f) => isStoreFile(f.name)).reduce((sum, f) => sum + f.bytes, 0);
} else if (kind === 'export') {
  const hooks = { onEvent: countWritten };
  if (args.kind === 'usb-image') await makeUsbImage(args.from, args.to, hooks);
  else if (args.kind === 'tftp') await exportTo(args.from, { kind: 'tftp', dir: args.to, subdir: 'bench' }, hooks);
  else await exportTo(args.from, { kind: 'folder', dir: args.to }, hooks);
  bytes = written;
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
  `${JSON.stringify({ seconds: ((doneAt ?? ended) - started) / 1000, returnedSeconds: (ended - started) / 1000, bytes, written: kind === 'netboot-nix' ? bytes : written })}\n`,
);
