import { defineConfig } from 'vitest/config';

// Unit tests run in milliseconds; integration tests drive the real nix-store
// and mksquashfs; end-to-end tests boot QEMU. All run on `npm test`.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 300_000,
    pool: 'forks',
    // Two test files at a time: the machine has two cores, and a QEMU boot
    // under TCG keeps one of them busy.
    maxWorkers: 2,
  },
});
