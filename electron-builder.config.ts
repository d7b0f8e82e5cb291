/**
 * electron-builder makes the Linux AppImage and .deb from the app Forge
 * packaged (`npm run package`, then `npm run dist`, which passes
 * `--prepackaged`). The .deb depends on every tool the app runs, taken from
 * the same table that names them in error messages.
 */
import type { Configuration } from 'electron-builder';
import { FILE_PACKAGES, TOOL_PACKAGES } from './electron/pipeline/base/tools.ts';

/** What Electron itself needs on Debian and Ubuntu (electron-builder's own default list). */
const ELECTRON_DEPENDS = [
  'libgtk-3-0',
  'libnotify4',
  'libnss3',
  'libxss1',
  'libxtst6',
  'xdg-utils',
  'libatspi2.0-0',
  'libuuid1',
  'libsecret-1-0',
];

/** The tools and files the pipeline uses (TOOL_PACKAGES, FILE_PACKAGES), and those a build and a test boot run beyond them. */
const PIPELINE_DEPENDS = [
  ...new Set([
    ...Object.values(TOOL_PACKAGES),
    ...Object.values(FILE_PACKAGES).map((file) => file.package),
    'ipxe-qemu',
    'ovmf',
    'cpio',
    'zstd',
    'util-linux',
  ]),
];

const config: Configuration = {
  appId: 'dev.netboot-composer.app',
  productName: 'Netboot Composer',
  directories: { output: 'dist' },
  linux: {
    target: ['AppImage', 'deb'],
    category: 'System',
    executableName: 'netboot-composer',
    synopsis: 'Turn a NixOS system into netboot media',
  },
  deb: {
    depends: [...ELECTRON_DEPENDS, ...PIPELINE_DEPENDS],
    recommends: ['dnsmasq'],
  },
  appImage: { artifactName: '${productName}-${version}-${arch}.AppImage' },
};

export default config;
