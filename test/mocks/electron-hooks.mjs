// Node module hooks that make `import 'electron'` load the hand mock
// (electron.ts next to this file): for running the bundled main in plain Node.
import { register } from 'node:module';

register(
  'data:text/javascript,' +
    encodeURIComponent(`
  export async function resolve(specifier, context, next) {
    if (specifier === 'electron') return { url: ${JSON.stringify(new URL('./electron.ts', import.meta.url).href)}, shortCircuit: true };
    return next(specifier, context);
  }
`),
);
