import { defineConfig } from 'vite';

// A sandboxed preload is one classic script; .cjs, since package.json says "type": "module".
export default defineConfig({
  build: {
    rollupOptions: {
      input: 'electron/preload/preload.ts',
      output: { format: 'cjs', entryFileNames: 'preload.cjs', codeSplitting: false },
    },
  },
});
