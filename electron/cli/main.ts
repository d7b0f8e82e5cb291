/**
 * netboot-composer: the headless driver of the pipeline.
 *
 *   build      pack a system into a boot folder
 *   export     copy a boot folder for a TFTP or HTTP server, or a USB stick
 *   test-boot  netboot a boot folder in QEMU and wait for a pattern
 *   demo       build the bundled demo system and boot it
 *   cache      show the cache's size and hit rate, or prune it
 *   inspect    what an image is made of, and why a path is there
 *   serve      answer netbooting machines: DHCP, TFTP and HTTP on one interface
 *
 * Exit codes: 0 done, 1 failed, 2 bad usage, 130 interrupted (Ctrl-C),
 * 143 stopped by SIGTERM, 129 by SIGHUP.
 *
 * This file holds the usage text and the dispatcher; each command is in
 * commands/, what they share in context.ts, errors.ts and signals.ts.
 */
import { defaultCacheDir } from '../pipeline/base/dirs.ts';
import { CanceledError } from '../pipeline/base/errors.ts';
import { runBuild } from './commands/build.ts';
import { runCache } from './commands/cache.ts';
import { runDemo } from './commands/demo.ts';
import { runExport } from './commands/export.ts';
import { runInspect } from './commands/inspect.ts';
import { runServe } from './commands/serve.ts';
import { runTestBoot } from './commands/test-boot.ts';
import { UsageError, type Context } from './context.ts';
import { report } from './errors.ts';
import { signalExitCode, STOP_GRACE_MS, STOP_SIGNALS } from './signals.ts';

const USAGE = `Usage:
  netboot-composer build (--toplevel PATH | --flake REF#NAME | --demo) --out DIR
        [--arch x86_64-linux|aarch64-linux] [--squashfs-compression NAME[:LEVEL]]
        [--initrd-compression NAME[:LEVEL]|none] [--squashfs-writer builtin|mksquashfs]
        [--cache DIR] [--cache-limit SIZE]
        [--kernel-params "..."] [--jobs N] [--diff] [--json] [--debug]
  netboot-composer inspect (--toplevel PATH | --dir BOOT_FOLDER) [--why NAME] [--top N] [--json]
  netboot-composer export --from BOOT_FOLDER (--folder DIR | --tftp DIR [--subdir NAME]
        | --http DIR --base-url URL | --usb-image FILE | --usb DIR) [--json] [--debug]
  netboot-composer test-boot (--dir BOOT_FOLDER | --usb-image FILE) [--firmware bios|uefi]
        [--arch x86_64-linux|aarch64-linux]
        [--expect REGEX] [--timeout SECONDS] [--memory MIB] [--quiet] [--json] [--debug]
  netboot-composer demo [--arch x86_64-linux|aarch64-linux] [--out DIR] [--cache DIR]
        [--no-boot] [--json] [--debug]
  netboot-composer cache stats [--cache DIR] [--json]
  netboot-composer cache prune [--max-size SIZE] [--cache DIR] [--json]
  netboot-composer serve --dir BOOT_FOLDER [--dir BOOT_FOLDER2 ...] --interface NAME
        [--proxy | --dhcp-range FIRST,LAST] [--http-port PORT] [--assign MAC=N ...]
        [--menu-default N] [--menu-timeout SECONDS] [--json] [--debug]
  netboot-composer serve --list-interfaces [--json]

  build      Pack a NixOS system into a boot folder: kernel, initrd, manifest,
             nix-store and netboot.ipxe. Store paths packed before are reused
             from the cache (default ${defaultCacheDir()}).
             --diff: what changed since the previous build of the same system
             (paths added, removed, changed; RAM and download; netboot.ipxe).
  inspect    What an image is made of: the biggest store paths, the totals,
             the paths grouped by what pulled them in; --why NAME: the chains
             of references from the system to NAME, the shortest first.
  export     Copy a boot folder where machines boot it from. --folder: the
             files as they are. --tftp: a TFTP root with the boot files (in
             --subdir NAME, so several systems can share the root), the iPXE
             loaders that chainload them (undionly.kpxe for BIOS, snponly.efi
             and ipxe.efi for UEFI) and dnsmasq snippets (proxy DHCP, full
             DHCP). --http: the boot files and a netboot.ipxe fetching them
             from --base-url. --usb-image: a disk image for BIOS and UEFI;
             --usb: a mounted stick. Files it did not write are never touched.
  test-boot  Boot in QEMU and wait for REGEX on the serial console (default:
             the demo's marker or a NixOS login prompt). --dir netboots a boot
             folder (iPXE over QEMU's own TFTP); --usb-image boots a USB image
             as a stick, with no network. Firmware: bios (SeaBIOS, default)
             or uefi (OVMF). aarch64 (a boot folder whose kernel is Image,
             an image with BOOTAA64.EFI, or --arch aarch64-linux): QEMU's
             virt machine with AAVMF (UEFI), under TCG. Memory: what the image needs, with headroom.
  demo       Build the bundled demo system into out/demo and boot it. With
             --arch aarch64-linux: Debian's arm64 kernel and busybox (fetched
             once into the cache), booted under QEMU's aarch64 UEFI.
  cache      stats: the cache's size, entries, limit and the last build's hits.
             prune: remove the least recently used entries until the cache
             holds at most SIZE (default: the limit). Builds prune to the limit
             themselves: --cache-limit, else NETBOOT_COMPOSER_CACHE_LIMIT, else 5G.
             Sizes: 5G, 500M, 2048K (powers of 1024).
  serve      Make this machine the boot server on one interface, as root (sudo):
             proxy DHCP beside the network's router (default), or full DHCP
             with --dhcp-range (refused when another DHCP server answers);
             TFTP for the iPXE loaders, HTTP for the boot files. Several
             --dir: an iPXE menu (--menu-default, --menu-timeout, default 10 s);
             --assign MAC=N always boots that machine into system N. Prints
             each machine that boots; Ctrl-C stops every server it started.

Squashfs compressors: gzip[:1-9], zstd[:1-22] (default zstd:6), xz, lz4, lzo[:1-9].
Squashfs writer: mksquashfs packs every path (default); --squashfs-writer builtin
(or NETBOOT_COMPOSER_SQUASHFS_WRITER=builtin) packs paths under 4 MiB in-process
when the compressor is gzip or zstd.
Initrd compressors: none (default), gzip[:1-9], zstd[:1-19], xz[:0-9].
One build or export into a folder at a time: a second one waits for the first,
and says so, up to NETBOOT_COMPOSER_LOCK_WAIT seconds (default 1800).
`;

const COMMANDS: Record<string, (args: string[], context: Context) => Promise<number>> = {
  build: runBuild,
  export: runExport,
  'test-boot': runTestBoot,
  demo: runDemo,
  cache: runCache,
  inspect: runInspect,
  serve: runServe,
};

/** Run the CLI with `argv` (without node and the script); resolves to the exit code. */
export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const debug = rest.includes('--debug');
  const json = rest.includes('--json');
  if (command === undefined || ['help', '--help', '-h'].includes(command)) {
    process.stdout.write(USAGE);
    return command === undefined ? 2 : 0;
  }
  const run = COMMANDS[command];
  if (!run) return report(new UsageError(`"${command}" is not a command; see netboot-composer help.`), debug, json);

  // Ctrl-C, SIGTERM and SIGHUP cancel the job (children are killed,
  // temporary files removed). Whatever the job is stuck in, the process ends
  // STOP_GRACE_MS later all the same, and a second Ctrl-C ends it at once.
  const controller = new AbortController();
  let stoppedBy: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals): void => {
    const code = signalExitCode(signal);
    if (stoppedBy !== undefined) {
      if (signal === 'SIGINT') process.exit(code);
      return;
    }
    stoppedBy = signal;
    if (!json && signal === 'SIGINT') process.stderr.write('\nStopping (press Ctrl-C again to stop at once)...\n');
    controller.abort(new CanceledError());
    setTimeout(() => process.exit(code), STOP_GRACE_MS).unref();
  };
  for (const signal of STOP_SIGNALS) process.on(signal, onSignal);
  try {
    const code = await run(rest, { json, signal: controller.signal });
    return stoppedBy === undefined ? code : signalExitCode(stoppedBy);
  } catch (error) {
    return report(error, debug, json, stoppedBy);
  } finally {
    for (const signal of STOP_SIGNALS) process.off(signal, onSignal);
  }
}
