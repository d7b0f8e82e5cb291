import react from '@vitejs/plugin-react';
import { defineConfig } from 'vitest/config';

// Unit tests run in milliseconds; integration tests drive the real nix-store
// and mksquashfs; end-to-end tests boot QEMU and drive the app in Chromium.
// Components run in jsdom. All run on `npm test`.
export default defineConfig({
  plugins: [react()],
  test: {
    testTimeout: 120_000,
    hookTimeout: 300_000,
    pool: 'forks',
    // Two test files at a time: the machine has two cores, and a QEMU boot
    // under TCG keeps one of them busy.
    maxWorkers: 2,
    projects: [
      { extends: true, test: { name: 'node', include: ['test/**/*.test.ts'], environment: 'node' } },
      { extends: true, test: { name: 'dom', include: ['test/renderer/**/*.test.tsx'], environment: 'jsdom' } },
    ],
  },
});
