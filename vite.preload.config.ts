import { defineConfig } from 'vite';

// A sandboxed preload is a classic script.
export default defineConfig({
  build: {
    lib: { entry: 'electron/preload/preload.ts', formats: ['cjs'], fileName: () => 'preload.js' },
  },
});
