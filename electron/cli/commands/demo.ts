/**
 * `netboot-composer demo`: the bundled demo system built into out/demo and
 * booted, through build's and test-boot's reporting.
 */
import { parseArgs } from 'node:util';
import { checkNix } from '../../pipeline/compose/nix-env.ts';
import { DEMO_MARKER } from '../../pipeline/media/markers.ts';
import { ARCHES, type Arch } from '../../shared/types.ts';
import { type Context, UsageError } from '../context.ts';
import { buildAndReport } from './build.ts';
import { bootAndReport } from './test-boot.ts';

export async function runDemo(args: string[], context: Context): Promise<number> {
  const { values } = parseArgs({
    args,
    strict: true,
    options: {
      out: { type: 'string', default: 'out/demo' },
      cache: { type: 'string' },
      'no-boot': { type: 'boolean' },
      arch: { type: 'string', default: 'x86_64-linux' },
      json: { type: 'boolean' },
      debug: { type: 'boolean' },
    },
  });
  const outDir = values.out;
  if (!(ARCHES as readonly string[]).includes(values.arch)) {
    throw new UsageError(`--arch takes ${ARCHES.join(' or ')}, not "${values.arch}".`);
  }
  const arch = values.arch as Arch;
  await checkNix(context.signal);
  const built = await buildAndReport({ source: { kind: 'demo', arch }, arch, outDir, cacheDir: values.cache }, context);
  if (built !== 0 || values['no-boot']) return built;
  const booted = await bootAndReport(
    { dir: outDir, arch, expect: new RegExp(DEMO_MARKER), timeoutSeconds: 300, memoryMiB: undefined, quiet: false },
    context,
  );
  if (!context.json && booted === 0) {
    process.stdout.write(
      [
        '',
        `The demo boot folder is ${outDir}. Next:`,
        `  npm run cli -- test-boot --dir ${outDir} --firmware uefi     # boot it again, under UEFI`,
        `  npm run cli -- export --from ${outDir} --tftp /srv/tftp      # for a TFTP server, with loaders and dnsmasq snippets`,
        `  npm run cli -- export --from ${outDir} --usb-image demo.img  # a USB stick image (dd or Etcher)`,
        '',
      ].join('\n'),
    );
  }
  return booted;
}
