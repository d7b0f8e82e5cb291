/**
 * The exports' own instructions, followed on a network: in a private network
 * namespace (a bridge, a tap for QEMU; nothing reaches the host's network),
 * dnsmasq runs the TFTP export's snippet as it is, and the demo netboots:
 *
 * - UEFI next to a router's DHCP (proxy DHCP): OVMF's own PXE loads
 *   snponly.efi, which asks again as iPXE and gets the script;
 * - BIOS with iPXE in the card's ROM (full DHCP): iPXE gets the script at once;
 * - UEFI from the HTTP export, dnsmasq handing iPXE the URL its note gives:
 *   the kernel and initrds fetched by URL, the initrds named as the command
 *   line names them.
 */
import { basename, dirname, join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { findUefiFiles } from '../../electron/pipeline/boot/firmware.ts';
import { exportTo } from '../../electron/pipeline/export/export.ts';
import { exportTftp } from '../../electron/pipeline/export/tftp.ts';
import { runCli, tempDir } from '../helpers/fixtures.ts';
import { expectDemoBooted, NET, netboot, netbootTftpExportUnderUefi, netnsProblem } from '../helpers/netns.ts';

const BOOT_TIMEOUT = 300_000;

const problem = netnsProblem();

let built: string;

beforeAll(async () => {
  if (problem) return;
  built = await tempDir();
  expect((await runCli(['build', '--demo', '--out', built, '--cache', await tempDir(), '--json'])).code).toBe(0);
}, BOOT_TIMEOUT);

describe.skipIf(problem !== undefined)(
  `netboots on a network, with dnsmasq as the exports say${problem ? ` (${problem})` : ''}`,
  () => {
    it(
      'UEFI next to a router: proxy DHCP, OVMF’s PXE chainloads snponly.efi, which loads the script',
      async () => {
        const result = await netbootTftpExportUnderUefi(built);
        expectDemoBooted(result);
        expect(result.console).toContain('NBP filename is snponly.efi');
        expect(result.console).toContain(`tftp://${NET.address}/demo/netboot.ipxe... ok`);
        expect(result.dnsmasq).toMatch(/PXE\(br0\) \S+ proxy/);
      },
      BOOT_TIMEOUT,
    );

    it(
      'BIOS with iPXE in the card: full DHCP hands iPXE the script from the subfolder',
      async () => {
        const root = await tempDir();
        await exportTftp(built, { dir: root, subdir: 'demo' }, {}, () => NET);
        const result = await netboot({
          firmware: 'bios',
          config: `conf-file=${join(root, 'demo', 'dnsmasq-full-dhcp.conf')}`,
        });
        expectDemoBooted(result);
        expect(result.dnsmasq).toContain('demo/netboot.ipxe');
        expect(result.dnsmasq).toContain('user class: iPXE');
      },
      BOOT_TIMEOUT,
    );

    it(
      'UEFI from the HTTP export: iPXE chains the URL the export names, and fetches the kernel and initrds by URL',
      async () => {
        const web = await tempDir();
        const summary = await exportTo(built, { kind: 'http', dir: web, baseUrl: `http://${NET.address}:8080` });
        // The line the export's note gives for dnsmasq, in a configuration that hands out addresses.
        const line = /dhcp-boot=tag:ipxe,\S+netboot\.ipxe/.exec(summary.notes.map((n) => n.message).join('\n'))![0];
        // Where QEMU's EFI ROM is iPXE (Debian 12) the NIC runs it; where it is
        // not (Debian 13), the firmware's own PXE chainloads snponly.efi first,
        // as a machine without iPXE in its firmware does.
        const uefi = await findUefiFiles();
        const chain = uefi.chainload
          ? ['enable-tftp', `tftp-root=${dirname(uefi.chainload)}`, `dhcp-boot=tag:!ipxe,${basename(uefi.chainload)}`]
          : [];
        const result = await netboot({
          firmware: 'uefi',
          rom: uefi.chainload ? '' : uefi.rom,
          config: [
            'dhcp-range=10.77.0.100,10.77.0.199,12h',
            'port=0',
            'log-dhcp',
            'dhcp-match=set:ipxe,175',
            line,
            ...chain,
          ].join('\n'),
          webRoot: web,
        });
        expectDemoBooted(result);
        expect(result.console).toMatch(/http:\/\/10\.77\.0\.1:8080\/nix-store\.\.\.[^\n]* ok\r?\n/);
        // Linux's EFI stub found each initrd by the name its command line gives
        // (initrd=nix-store), or iPXE 1.21 and later handed them over joined.
        expect(result.console).toMatch(
          /EFI stub: Loaded initrd from (command line option|LINUX_EFI_INITRD_MEDIA_GUID device path)/,
        );
      },
      BOOT_TIMEOUT,
    );
  },
);
