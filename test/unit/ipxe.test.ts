import { describe, expect, it } from 'vitest';
import { ipxeScript, kernelCommandLine } from '../../electron/shared/ipxe.ts';

const input = {
  title: 'nixos-system-router-25.11',
  kernel: 'bzImage',
  initrds: ['initrd', 'manifest', 'nix-store'],
  init: '/nix/store/c8ccy5gy6bmdpycl6bp3yyw3amz32paf-nixos-system-router-25.11/init',
  kernelParams: 'console=ttyS0,115200  loglevel=4',
};

describe('netboot.ipxe', () => {
  it('loads the kernel with init=, one initrd= per initrd, then the system parameters', () => {
    const lines = ipxeScript(input).split('\n');
    expect(lines[0]).toBe('#!ipxe');
    expect(lines).toContain(
      `kernel bzImage init=${input.init} initrd=initrd initrd=manifest initrd=nix-store console=ttyS0,115200 loglevel=4 \${cmdline}`,
    );
    expect(lines.slice(-5)).toEqual(['initrd initrd', 'initrd manifest', 'initrd nix-store', 'boot', '']);
  });

  it('adds the extra kernel parameters after the system ones', () => {
    expect(kernelCommandLine({ ...input, extraParams: ' ip=dhcp  boot.shell_on_fail ' })).toMatch(
      / loglevel=4 ip=dhcp boot\.shell_on_fail$/,
    );
  });

  it('refuses parameters that would break the script', () => {
    expect(() => ipxeScript({ ...input, extraParams: 'a\nkernel evil' })).toThrow(/one line/);
  });
});
