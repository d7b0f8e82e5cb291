/**
 * Build main, preload and page exactly as `electron-forge start|package`
 * does, with Forge's own Vite config functions and forge.config.ts, into
 * .vite/. `electron-forge` itself needs Electron's binary; this does not, so
 * tests can check the bundles and the Electron smoke test can launch them.
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build, type InlineConfig } from 'vite';
import forge from '../forge.config.ts';

const ROOT = join(import.meta.dirname, '..');

type GetConfig = (env: unknown, user: InlineConfig) => InlineConfig;
/** Forge's own config functions, which its package does not export. */
async function forgeViteConfig(name: 'main' | 'preload' | 'renderer'): Promise<GetConfig> {
  const file = join(ROOT, 'node_modules', '@electron-forge', 'plugin-vite', 'dist', 'config', `vite.${name}.config.js`);
  return ((await import(pathToFileURL(file).href)) as { getConfig: GetConfig }).getConfig;
}

interface ViteTarget {
  entry?: string;
  config: string;
  target?: string;
  name?: string;
}

/** Build every target of forge.config.ts's Vite plugin; returns the folder (.vite). */
export async function buildApp(): Promise<string> {
  const plugin = forge.plugins?.find((p) => (p as { name?: string }).name === 'vite') as unknown as {
    config: { build: ViteTarget[]; renderer: ViteTarget[] };
  };
  const forgeConfig = plugin.config;
  const load = async (file: string): Promise<InlineConfig> =>
    ((await import(join(ROOT, file))) as { default: InlineConfig }).default;
  const env = (self: ViteTarget) => ({
    root: ROOT,
    mode: 'production',
    command: 'build' as const,
    forgeConfig,
    forgeConfigSelf: self,
  });
  for (const target of forgeConfig.build) {
    const user = await load(target.config);
    const make = await forgeViteConfig(target.target === 'preload' ? 'preload' : 'main');
    await build({ ...make(env(target), user), configFile: false, logLevel: 'warn' });
  }
  for (const renderer of forgeConfig.renderer) {
    const user = await load(renderer.config);
    const make = await forgeViteConfig('renderer');
    await build({ ...make(env(renderer), user), configFile: false, logLevel: 'warn' });
  }
  return join(ROOT, '.vite');
}

if (import.meta.main) {
  process.stdout.write(`built ${await buildApp()}\n`);
}
