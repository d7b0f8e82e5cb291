import { defineConfig } from 'vite';

// The main process as an ES module (package.json has "type": "module").
export default defineConfig({
  build: {
    lib: { entry: 'electron/main/main.ts', formats: ['es'], fileName: () => 'main.js' },
  },
});
