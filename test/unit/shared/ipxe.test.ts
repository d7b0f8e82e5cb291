import { describe, expect, it } from 'vitest';
import { baseUrlProblem } from '../../../electron/shared/export-spec.ts';
import { ipxeScript, kernelCommandLine, rebaseIpxeScript } from '../../../electron/shared/ipxe.ts';

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

describe('netboot.ipxe for the HTTP export', () => {
  const base = 'http://192.168.1.10/boot/router';

  it('fetches the kernel and each initrd by absolute URL, naming each initrd as the command line does', () => {
    const script = rebaseIpxeScript(ipxeScript(input), `${base}/`);
    const lines = script.split('\n');
    const kernel = lines.find((line) => line.startsWith('kernel '))!;
    expect(kernel).toMatch(new RegExp(`^kernel ${base}/bzImage init=\\S+/init initrd=initrd `));
    expect(lines.filter((line) => line.startsWith('initrd '))).toEqual([
      `initrd --name initrd ${base}/initrd`,
      `initrd --name manifest ${base}/manifest`,
      `initrd --name nix-store ${base}/nix-store`,
    ]);
    // UEFI's stub loads the initrds the command line names: iPXE must know them by those names.
    const named = [...script.matchAll(/^initrd --name (\S+) /gm)].map((m) => m[1]);
    const onCommandLine = [...kernel.matchAll(/ initrd=(\S+)/g)].map((m) => m[1]);
    expect(named).toEqual(onCommandLine);
    expect(kernel.endsWith(' ${cmdline}')).toBe(true);
  });

  it('writes the same script from the inputs as from the boot folder’s script', () => {
    expect(ipxeScript({ ...input, baseUrl: base })).toBe(rebaseIpxeScript(ipxeScript(input), base));
  });

  it('accepts http and https URLs, iPXE settings included, and says in one sentence what is wrong with others', () => {
    for (const good of [base, 'https://boot.example.org/', 'http://10.0.0.1:8080', 'http://${next-server}/nbc']) {
      expect(baseUrlProblem(good), good).toBeUndefined();
    }
    for (const bad of ['ftp://host/x', 'http://host/my boot', '/srv/http', 'host/boot', 'http://host/?x=1', '']) {
      expect(baseUrlProblem(bad), bad).toMatch(/^(Give the address|The base URL (must|cannot))/);
    }
    expect(() => rebaseIpxeScript(ipxeScript(input), 'ftp://x')).toThrow(
      /^The base URL must start with http:\/\/ or https:\/\//,
    );
  });

  it('refuses a script it did not write rather than guess', () => {
    expect(() => rebaseIpxeScript('#!ipxe\nchain http://elsewhere/menu.ipxe\n', base)).toThrow(
      /netboot\.ipxe is not one Netboot Composer wrote; build the system again/,
    );
    const absolute = ipxeScript({ ...input, baseUrl: base });
    expect(() => rebaseIpxeScript(absolute, base)).toThrow(/not one Netboot Composer wrote \("kernel http/);
  });
});
