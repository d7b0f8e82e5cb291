/**
 * The main process's handlers as the tests run them in plain Node (the
 * `electron` module is replaced, see test/mocks): fresh folders, dialogs that
 * choose nothing, and whatever a test sets in `options`.
 */
import { MainHandlers, type MainOptions } from '../../electron/main/handlers.ts';
import { tempDir } from './fixtures.ts';

export async function testHandlers(options: Partial<MainOptions> = {}): Promise<MainHandlers> {
  return new MainHandlers({
    userDataDir: options.userDataDir ?? (await tempDir()),
    cacheDir: options.cacheDir ?? (await tempDir()),
    version: 'test',
    hostArch: 'x86_64-linux',
    services: {
      chooseFolder: async () => null,
      chooseFile: async () => null,
      showFolder: async () => undefined,
      writeClipboard: () => undefined,
    },
    ...options,
  });
}
