import { describe, expect, it } from 'vitest';
import { findDemoInputs, isStaticElf } from '../../electron/pipeline/demo.ts';

describe('what the demo is made of', () => {
  it('tells a statically linked program from a dynamically linked one', async () => {
    expect(await isStaticElf('/bin/busybox')).toBe(true);
    expect(await isStaticElf('/bin/ls')).toBe(false);
    expect(await isStaticElf('/etc/hostname')).toBe(false);
  });

  it("finds this machine's static busybox, newest kernel and the modules stage 1 loads", async () => {
    const inputs = await findDemoInputs();
    expect(inputs.busybox).toMatch(/busybox$/);
    expect(inputs.kernel).toBe(`/boot/vmlinuz-${inputs.kernelVersion}`);
    expect(inputs.modules.map((m) => m.split('/').pop())).toEqual(['loop.ko', 'squashfs.ko']);
  });
});
