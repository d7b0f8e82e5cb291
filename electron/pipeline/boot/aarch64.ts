/**
 * What an aarch64 test boot needs on this x86_64 machine: QEMU's `virt`
 * machine under TCG, AAVMF (EDK2 for arm64, Debian's qemu-efi-aarch64) and,
 * for a netboot, an arm64 iPXE to chainload (Debian 13's `ipxe` package has
 * ipxe-arm64.efi, Debian 12's has none: it is fetched from Debian 13 into
 * the cache, see debian-arm64.ts).
 */
import { join } from 'node:path';
import type { Arch } from '../../shared/types.ts';
import { arm64Ipxe } from '../base/debian-arm64.ts';
import { NetbootError } from '../base/errors.ts';
import { exists } from '../base/fsutil.ts';
import { readImageRecord } from '../media/usb-image.ts';
import { uefiFromDescriptors, type UefiFiles } from './firmware.ts';

/** AAVMF without descriptors: Debian/Ubuntu, Fedora, Arch. */
const AAVMF_CANDIDATES: [code: string, vars: string][] = [
  ['/usr/share/AAVMF/AAVMF_CODE.fd', '/usr/share/AAVMF/AAVMF_VARS.fd'],
  ['/usr/share/edk2/aarch64/QEMU_EFI-pflash.raw', '/usr/share/edk2/aarch64/vars-template-pflash.raw'],
  ['/usr/share/edk2/aarch64/QEMU_CODE.fd', '/usr/share/edk2/aarch64/QEMU_VARS.fd'],
];

/**
 * The architecture of what a test boot boots: a boot folder's, from its
 * kernel's name (Image: aarch64), or a USB image's, from the loader its
 * record lists (EFI/BOOT/BOOTAA64.EFI: aarch64). x86_64 otherwise.
 */
export async function bootArch(medium: { dir?: string | undefined; usbImage?: string | undefined }): Promise<Arch> {
  if (medium.dir !== undefined) {
    const dir = medium.dir;
    return (await exists(join(dir, 'Image'))) && !(await exists(join(dir, 'bzImage')))
      ? 'aarch64-linux'
      : 'x86_64-linux';
  }
  if (medium.usbImage === undefined) return 'x86_64-linux';
  const record = await readImageRecord(medium.usbImage).catch(() => undefined);
  return record?.files.includes('EFI/BOOT/BOOTAA64.EFI') && !record.files.includes('EFI/BOOT/BOOTX64.EFI')
    ? 'aarch64-linux'
    : 'x86_64-linux';
}

/** AAVMF without Secure Boot as QEMU's firmware descriptors name it. */
function aavmfFromDescriptors(): Promise<[string, string] | undefined> {
  return uefiFromDescriptors('aarch64', ['secure-boot', 'enrolled-keys']);
}

/**
 * AAVMF (without Secure Boot) and, for a netboot, the arm64 iPXE that
 * AAVMF's own PXE loads (its virtio driver: no option ROM), see arm64Ipxe.
 * NETBOOT_COMPOSER_AAVMF_CODE and NETBOOT_COMPOSER_AAVMF_VARS name files to
 * use instead.
 */
export async function findAavmfFiles(
  cacheDir: string,
  { netboot, signal }: { netboot: boolean; signal?: AbortSignal | undefined },
  env: NodeJS.ProcessEnv = process.env,
): Promise<UefiFiles> {
  let aavmf: [string, string] | undefined;
  if (env.NETBOOT_COMPOSER_AAVMF_CODE || env.NETBOOT_COMPOSER_AAVMF_VARS) {
    const code = env.NETBOOT_COMPOSER_AAVMF_CODE;
    const vars = env.NETBOOT_COMPOSER_AAVMF_VARS;
    if (!code || !vars || !(await exists(code)) || !(await exists(vars))) {
      throw new NetbootError(
        'NETBOOT_COMPOSER_AAVMF_CODE and NETBOOT_COMPOSER_AAVMF_VARS must both name existing files (AAVMF_CODE and AAVMF_VARS); set both or neither.',
      );
    }
    aavmf = [code, vars];
  } else {
    aavmf = await aavmfFromDescriptors();
    for (const candidate of AAVMF_CANDIDATES) {
      if (aavmf) break;
      if ((await exists(candidate[0])) && (await exists(candidate[1]))) aavmf = candidate;
    }
  }
  if (!aavmf) {
    throw new NetbootError(
      'aarch64 test boots need AAVMF (UEFI for arm64 virtual machines), which is missing; install it with: apt-get install qemu-efi-aarch64',
    );
  }
  if (!netboot) return { code: aavmf[0], vars: aavmf[1] };
  const chainload = await arm64Ipxe(cacheDir, signal);
  return { code: aavmf[0], vars: aavmf[1], chainload };
}
