import { defineConfig } from 'vitest/config';

// Unit tests run in milliseconds; integration tests drive the real nix-store
// and mksquashfs; end-to-end tests boot QEMU. All run on `npm test`.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 300_000,
    pool: 'forks',
    maxWorkers: 2,
    // Slowest first, so the QEMU boots start early and overlap the rest.
    sequence: { hooks: 'stack' },
  },
});
