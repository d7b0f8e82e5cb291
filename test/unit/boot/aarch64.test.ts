/**
 * aarch64 without booting: the kernel package a metapackage names, QEMU's
 * command line for the virt machine, and which architecture a boot folder is.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { kernelDependency } from '../../../electron/pipeline/base/debian-arm64.ts';
import { bootArch } from '../../../electron/pipeline/boot/aarch64.ts';
import { qemuArgs } from '../../../electron/pipeline/boot/qemu.ts';
import { tempDir } from '../../helpers/fixtures.ts';

describe('the arm64 kernel package', () => {
  it('is the one linux-image-arm64 depends on, on Debian 12 and 13 alike', () => {
    expect(kernelDependency('linux-image-arm64\n  Depends: linux-image-6.1.0-50-arm64\n')).toBe(
      'linux-image-6.1.0-50-arm64',
    );
    expect(
      kernelDependency('linux-image-arm64\n |Depends: linux-image-6.12.57+deb13-arm64\n  Recommends: firmware\n'),
    ).toBe('linux-image-6.12.57+deb13-arm64');
    expect(kernelDependency('linux-image-arm64\n  Depends: <linux-image-virtual>\n')).toBeUndefined();
  });
});

describe('QEMU for aarch64', () => {
  const uefi = { code: '/a/AAVMF_CODE.fd', vars: '/s/vars.fd' };

  it('runs the virt machine with AAVMF, cheap pointer authentication under TCG, and no x86 NIC ROM', () => {
    const args = qemuArgs({
      arch: 'aarch64-linux',
      firmware: 'uefi',
      memoryMiB: 512,
      accel: 'tcg',
      tftpDir: '/t',
      uefi,
      bootfile: 'ipxe-arm64.efi',
    }).join(' ');
    expect(args).toContain('-machine virt -accel tcg -cpu max,pauth-impdef=on');
    expect(args).toContain('if=pflash,format=raw,unit=0,readonly=on,file=/a/AAVMF_CODE.fd');
    expect(args).toContain('bootfile=ipxe-arm64.efi');
    expect(args).toContain('virtio-net-pci,netdev=net0,bootindex=1,romfile=');
    expect(args).not.toContain('-machine pc');
  });

  it('keeps x86_64 as it was', () => {
    const args = qemuArgs({ firmware: 'bios', memoryMiB: 512, accel: 'tcg', tftpDir: '/t' }).join(' ');
    expect(args).toContain('-machine pc -accel tcg -m 512');
    expect(args).not.toContain('romfile=');
  });
});

describe('the architecture of a boot folder', () => {
  it('is aarch64 when its kernel is Image, x86_64 when it is bzImage', async () => {
    const arm = await tempDir();
    await writeFile(join(arm, 'Image'), 'k');
    expect(await bootArch({ dir: arm })).toBe('aarch64-linux');
    const x86 = join(await tempDir(), 'x');
    await mkdir(x86);
    await writeFile(join(x86, 'bzImage'), 'k');
    expect(await bootArch({ dir: x86 })).toBe('x86_64-linux');
  });
});
