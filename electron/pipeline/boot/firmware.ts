/**
 * The firmware files a UEFI test boot needs, found where each release keeps
 * them: OVMF through QEMU's firmware descriptors, the NIC's EFI ROM in
 * QEMU's data folder (Debian 13, Arch) or ipxe-qemu's (Debian 12), and, when
 * that ROM is not iPXE (Debian 13's are only network drivers), the EFI iPXE
 * binary the boot chainloads.
 */
import { readdir, readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { NetbootError } from '../base/errors.ts';
import { exists } from '../base/fsutil.ts';
import { findIpxeLoaders } from '../base/ipxe-loaders.ts';

/** The files QEMU needs for a UEFI boot. */
export interface UefiFiles {
  /** OVMF's code (read-only flash). */
  code: string;
  /** A template of OVMF's variables (each boot writes its own copy). */
  vars: string;
  /** The NIC's option ROM (`romfile=`); none for a boot without network (a USB image). */
  rom?: string | undefined;
  /**
   * The EFI iPXE binary to serve as the TFTP boot file when `rom` is not
   * iPXE (the firmware's own PXE then loads iPXE, which runs netboot.ipxe).
   */
  chainload?: string | undefined;
}

/** Where distributions keep QEMU's firmware descriptors (docs/interop/firmware.json), in QEMU's order. */
const DESCRIPTOR_DIRS = ['/etc/qemu/firmware', '/usr/share/qemu/firmware'];

/** OVMF without descriptors: Debian/Ubuntu, Fedora, Arch. */
const OVMF_CANDIDATES: [code: string, vars: string][] = [
  ['/usr/share/OVMF/OVMF_CODE_4M.fd', '/usr/share/OVMF/OVMF_VARS_4M.fd'],
  ['/usr/share/OVMF/OVMF_CODE.fd', '/usr/share/OVMF/OVMF_VARS.fd'],
  ['/usr/share/edk2/ovmf/OVMF_CODE.fd', '/usr/share/edk2/ovmf/OVMF_VARS.fd'],
  ['/usr/share/edk2/x64/OVMF_CODE.4m.fd', '/usr/share/edk2/x64/OVMF_VARS.4m.fd'],
];

/**
 * The virtio NIC's EFI ROM: QEMU's data folder first (where QEMU itself looks;
 * Debian 13 and Arch keep it there), then ipxe-qemu's folder of Debian 12 and
 * Fedora's.
 */
export const ROM_CANDIDATES = [
  '/usr/share/qemu/efi-virtio.rom',
  '/usr/lib/ipxe/qemu/efi-virtio.rom',
  '/usr/share/ipxe/qemu/efi-virtio.rom',
  '/usr/share/qemu-efi/efi-virtio.rom',
];

interface FirmwareDescriptor {
  'interface-types'?: string[];
  mapping?: { device?: string; executable?: { filename?: string }; 'nvram-template'?: { filename?: string } };
  targets?: { architecture?: string }[];
  features?: string[];
}

/**
 * A UEFI firmware for `architecture` as QEMU's firmware descriptors name it
 * (flash code and its variables' template, both present), with none of the
 * `refused` features, or undefined. OVMF: x86_64; AAVMF: aarch64 (aarch64.ts).
 */
export async function uefiFromDescriptors(
  architecture: 'x86_64' | 'aarch64',
  refused: readonly string[],
): Promise<[string, string] | undefined> {
  for (const dir of DESCRIPTOR_DIRS) {
    const names = (await readdir(dir).catch(() => [] as string[])).filter((n) => n.endsWith('.json')).sort();
    for (const name of names) {
      const d = await readFile(join(dir, name), 'utf8').then(
        (text) => JSON.parse(text) as FirmwareDescriptor,
        () => undefined,
      );
      const executable = d?.mapping?.executable?.filename;
      const template = d?.mapping?.['nvram-template']?.filename;
      if (
        d?.['interface-types']?.includes('uefi') &&
        d.mapping?.device === 'flash' &&
        d.targets?.some((t) => t.architecture === architecture) &&
        !d.features?.some((f) => refused.includes(f)) &&
        executable &&
        template &&
        (await exists(executable)) &&
        (await exists(template))
      ) {
        return [executable, template];
      }
    }
  }
  return undefined;
}

/** OVMF without Secure Boot, SMM or enrolled keys, as QEMU's firmware descriptors name it. */
function ovmfFromDescriptors(): Promise<[string, string] | undefined> {
  return uefiFromDescriptors('x86_64', ['secure-boot', 'requires-smm', 'enrolled-keys']);
}

/**
 * The images of a PCI option ROM file (a BIOS image, an EFI image...), each
 * with its code type (0: x86 BIOS, 3: EFI). Pure: tested on its own.
 */
export function romImages(rom: Buffer): { codeType: number; bytes: Buffer }[] {
  const images: { codeType: number; bytes: Buffer }[] = [];
  let offset = 0;
  while (offset + 0x1a <= rom.length && rom[offset] === 0x55 && rom[offset + 1] === 0xaa) {
    const pcir = offset + rom.readUInt16LE(offset + 0x18);
    if (pcir + 0x18 > rom.length || rom.toString('latin1', pcir, pcir + 4) !== 'PCIR') break;
    const length = rom.readUInt16LE(pcir + 0x10) * 512;
    if (length === 0) break;
    images.push({ codeType: rom[pcir + 0x14]!, bytes: rom.subarray(offset, offset + length) });
    if ((rom[pcir + 0x15]! & 0x80) !== 0) break;
    offset += length;
  }
  return images;
}

/**
 * Whether the ROM's EFI image is iPXE (Debian 12's efi-*.rom), which runs
 * netboot.ipxe itself, rather than a bare network driver (Debian 13's), with
 * which OVMF's own PXE can only load an EFI program. Pure: tested on its own.
 */
export function efiRomIsIpxe(rom: Buffer): boolean {
  return romImages(rom).some((image) => image.codeType === 3 && image.bytes.includes('iPXE'));
}

/**
 * OVMF (without Secure Boot), the NIC's EFI ROM and, when that ROM is not
 * iPXE, the EFI iPXE binary to chainload. NETBOOT_COMPOSER_OVMF_CODE,
 * NETBOOT_COMPOSER_OVMF_VARS and NETBOOT_COMPOSER_EFI_ROM name files to use
 * instead (OVMF from Nix, say); NETBOOT_COMPOSER_IPXE_DIR the folder with
 * snponly.efi or ipxe.efi. With `netboot` false (a USB image), OVMF only.
 */
export async function findUefiFiles(
  env: NodeJS.ProcessEnv = process.env,
  { netboot = true }: { netboot?: boolean } = {},
): Promise<UefiFiles> {
  let ovmf: [string, string] | undefined;
  if (env.NETBOOT_COMPOSER_OVMF_CODE || env.NETBOOT_COMPOSER_OVMF_VARS) {
    const code = env.NETBOOT_COMPOSER_OVMF_CODE;
    const vars = env.NETBOOT_COMPOSER_OVMF_VARS;
    if (!code || !vars || !(await exists(code)) || !(await exists(vars))) {
      throw new NetbootError(
        'NETBOOT_COMPOSER_OVMF_CODE and NETBOOT_COMPOSER_OVMF_VARS must both name existing files (OVMF_CODE and OVMF_VARS); set both or neither.',
      );
    }
    ovmf = [code, vars];
  } else {
    ovmf = await ovmfFromDescriptors();
    for (const candidate of OVMF_CANDIDATES) {
      if (ovmf) break;
      if ((await exists(candidate[0])) && (await exists(candidate[1]))) ovmf = candidate;
    }
  }
  if (!ovmf)
    throw new NetbootError('UEFI test boots need OVMF, which is missing; install it with: apt-get install ovmf');
  // A USB image boots with no network: no ROM, nothing to chainload.
  if (!netboot) return { code: ovmf[0], vars: ovmf[1] };

  let rom: string | undefined;
  if (env.NETBOOT_COMPOSER_EFI_ROM) {
    rom = env.NETBOOT_COMPOSER_EFI_ROM;
    if (!(await exists(rom))) {
      throw new NetbootError(`NETBOOT_COMPOSER_EFI_ROM names ${rom}, which does not exist; name efi-virtio.rom.`);
    }
  } else {
    for (const candidate of ROM_CANDIDATES) {
      if (await exists(candidate)) {
        rom = candidate;
        break;
      }
    }
  }
  if (!rom) {
    throw new NetbootError(
      "UEFI netboots need QEMU's EFI ROM for the virtio NIC (efi-virtio.rom), which is missing; install it with: apt-get install ipxe-qemu",
    );
  }
  if (efiRomIsIpxe(await readFile(rom))) return { code: ovmf[0], vars: ovmf[1], rom };

  const loaders = findIpxeLoaders(env.NETBOOT_COMPOSER_IPXE_DIR);
  const chainload = loaders['snponly.efi'] ?? loaders['ipxe.efi'];
  if (!chainload) {
    throw new NetbootError(
      `${rom} is a network driver without iPXE, so UEFI netboots chainload iPXE, whose snponly.efi or ipxe.efi is missing; install it with: apt-get install ipxe`,
    );
  }
  return { code: ovmf[0], vars: ovmf[1], rom, chainload };
}

/**
 * The script iPXE runs when chainloaded (iPXE 1.21 fetches `autoexec.ipxe`
 * from where it was loaded): get an address, then the boot folder's script.
 * Without it iPXE would take DHCP's boot file, which is iPXE itself, again.
 */
export const CHAINLOAD_AUTOEXEC = '#!ipxe\ndhcp\nchain netboot.ipxe\n';

/**
 * Whether a console line shows chainloaded iPXE fetching itself again (iPXE
 * before 1.21 runs no autoexec.ipxe and takes DHCP's boot file, which is
 * itself, so it would loop until the timeout): the reason to fail, or
 * undefined. Pure: tested on its own.
 */
export function chainloadLoopIn(line: string, loader: string): string | undefined {
  const name = basename(loader);
  if (!line.includes(`/${name}...`)) return undefined;
  return `the chainloaded iPXE (${loader}) loaded itself again instead of running netboot.ipxe: it is older than 1.21 and runs no autoexec.ipxe; install a newer ipxe or name the folder of one with NETBOOT_COMPOSER_IPXE_DIR`;
}
