/**
 * The packaging configs cannot run here (no Electron binary), so check what
 * they promise: the .deb pulls in every tool the app runs, and Forge turns
 * off the Electron features the app does not use.
 */
import { describe, expect, it } from 'vitest';
import builder from '../../electron-builder.config.ts';
import forge from '../../forge.config.ts';
import { FILE_PACKAGES, TOOL_PACKAGES } from '../../electron/pipeline/base/tools.ts';

describe('packaging', () => {
  it('makes the .deb depend on the package of every tool the app runs and every file it reads', () => {
    const depends = builder.deb?.depends ?? [];
    for (const pkg of Object.values(TOOL_PACKAGES)) expect(depends).toContain(pkg);
    for (const file of Object.values(FILE_PACKAGES)) expect(depends).toContain(file.package);
    expect(depends).toEqual(expect.arrayContaining(['squashfs-tools', 'nix-bin', 'qemu-system-x86', 'ipxe-qemu']));
  });

  it('sets the fuses: no RunAsNode, no NODE_OPTIONS, no inspector, asar only, integrity checked', () => {
    const fuses = forge.plugins?.find((p) => (p as { name?: string }).name === 'fuses') as
      { fusesConfig: Record<number, boolean> } | undefined;
    expect(fuses).toBeDefined();
    // FuseV1Options: RunAsNode 0, EnableCookieEncryption 1, EnableNodeOptionsEnvironmentVariable 2,
    // EnableNodeCliInspectArguments 3, EnableEmbeddedAsarIntegrityValidation 4, OnlyLoadAppFromAsar 5.
    expect(fuses!.fusesConfig).toMatchObject({ 0: false, 1: true, 2: false, 3: false, 4: true, 5: true });
  });
});
