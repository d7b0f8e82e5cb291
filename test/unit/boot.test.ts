import { describe, expect, it } from 'vitest';
import { cleanConsoleLine, failureIn, qemuNetbootArgs } from '../../electron/pipeline/boot.ts';

describe('test boots', () => {
  it("netboots through QEMU's own TFTP, with the guest's network restricted to it", () => {
    const args = qemuNetbootArgs('/srv/boot,folder', 768, 'tcg', '/state/sercon').join(' ');
    expect(args).toContain('-netdev user,id=net0,restrict=on,tftp=/srv/boot,,folder,bootfile=netboot.ipxe');
    expect(args).toContain('-accel tcg');
    expect(args).toContain('-m 768');
    expect(args).toContain('-no-reboot');
    expect(args).not.toContain('-cpu host');
    expect(args).toContain('-fw_cfg name=etc/sercon-port,file=/state/sercon');
    expect(qemuNetbootArgs('/b', 512, 'kvm', '/s').join(' ')).toContain('-accel kvm -cpu host');
  });

  it('reads console lines without the firmware’s escape sequences', () => {
    expect(cleanConsoleLine('\x1b[2J\x1b[01;01HiPXE 1.21.1\x1b[0m\r')).toBe('iPXE 1.21.1');
  });

  it('recognises the lines that mean the boot failed', () => {
    expect(failureIn('[    2.7] Kernel panic - not syncing: VFS: Unable to mount root fs')).toBe('the kernel panicked');
    expect(failureIn('Initramfs unpacking failed: write error')).toMatch(/too little memory/);
    expect(failureIn('NETBOOT-COMPOSER-DEMO: FAILED in stage 1: x')).toBe('the demo system reported a failure');
    expect(failureIn('tftp://10.0.2.2/nix-store... No such file or directory (http://ipxe.org/2d12608e)')).toBe(
      'iPXE failed: tftp://10.0.2.2/nix-store... No such file or directory (http://ipxe.org/2d12608e)',
    );
    expect(failureIn('No bootable device.')).toBe('the firmware found nothing to boot');
    expect(failureIn('stage 2: demo, NixOS-shaped')).toBeUndefined();
    expect(failureIn('Configuring (net0 52:54:00:12:34:56)...... ok')).toBeUndefined();
  });
});
