import react from '@vitejs/plugin-react';
import { defineConfig, type Plugin } from 'vite';

/**
 * The dev server injects styles inline for hot reload; only there does the
 * page's CSP allow inline styles. The built page keeps the strict policy.
 */
function devCsp(): Plugin {
  return {
    name: 'netboot-composer-dev-csp',
    apply: 'serve',
    transformIndexHtml: (html) => html.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'"),
  };
}

export default defineConfig({
  root: 'renderer',
  // Relative asset URLs: the packaged app loads the page from file://.
  base: './',
  plugins: [react(), devCsp()],
  build: { outDir: '../.vite/renderer/main_window', emptyOutDir: true },
});
