// ESLint for the whole repository: typescript-eslint's recommended rules,
// plus the boundaries the design asks for.
import js from '@eslint/js';
import reactHooks from 'eslint-plugin-react-hooks';
import globals from 'globals';
import tseslint from 'typescript-eslint';

const NO_ELECTRON = { name: 'electron', message: 'The pipeline and the CLI run without Electron.' };

/**
 * electron/pipeline/: a shared base, the boot media the stages hand each
 * other, and the stages. A stage never reaches into another: what two stages
 * share moves down to media/ or base/.
 */
const STAGE = 'A stage imports base/ and media/, never another stage: move what both need down to media/ or base/';
const PIPELINE_LAYERS = {
  base: { below: [], why: 'base/ (errors, tools, files, locks) imports nothing of the pipeline above it' },
  media: { below: ['base'], why: 'media/ (boot folder, record, USB image, store layout) imports base/ only' },
  compose: { below: ['base', 'media'], why: STAGE },
  boot: { below: ['base', 'media'], why: STAGE },
  export: { below: ['base', 'media'], why: STAGE },
  serve: { below: ['base', 'media'], why: STAGE },
};
const PIPELINE_FOLDERS = Object.keys(PIPELINE_LAYERS);

export default tseslint.config(
  { ignores: ['node_modules/', 'out/', '.vite/', 'test-results/', 'dist/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  {
    // CommonJS files (a preload for `node --require`): require is how they load.
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs' },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    files: ['electron/**'],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          // /proc/x: Node retries the parent and the child forever, at full CPU.
          selector: "CallExpression[callee.name='mkdir'] Property[key.name='recursive'][value.value=true]",
          message:
            "Node's recursive mkdir never returns on some paths (/proc/x); use makeFolder (electron/pipeline/base/fsutil.ts).",
        },
      ],
    },
  },
  {
    // The pipeline is plain Node: the CLI runs it without Electron.
    files: ['electron/pipeline/**', 'electron/cli/**', 'electron/shared/**'],
    rules: { 'no-restricted-imports': ['error', { paths: [NO_ELECTRON] }] },
  },
  // The pipeline's layers: each folder imports only the folders below it.
  ...Object.entries(PIPELINE_LAYERS).map(([folder, { below, why }]) => ({
    files: [`electron/pipeline/${folder}/**`],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [NO_ELECTRON],
          patterns: [
            {
              regex: `(^|/)(${PIPELINE_FOLDERS.filter((f) => f !== folder && !below.includes(f)).join('|')})/`,
              message: `${why} (the layers: README, Architecture).`,
            },
            {
              regex: '(^|/)(main|cli|preload)/',
              message: 'The pipeline is called by the app and the CLI, never the other way round.',
            },
          ],
        },
      ],
    },
  })),
  {
    // Shared code runs in the renderer too: no Node modules.
    files: ['electron/shared/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ group: ['node:*'], message: 'electron/shared runs in the renderer too.' }] },
      ],
    },
  },
  {
    // The page has the DOM and no Node; it reaches main only through window.netbootComposer.
    files: ['renderer/**'],
    languageOptions: { globals: { ...globals.browser } },
    plugins: { 'react-hooks': reactHooks },
    rules: {
      ...reactHooks.configs.recommended.rules,
      'no-restricted-imports': [
        'error',
        {
          paths: [{ name: 'electron', message: 'The page reaches main through window.netbootComposer only.' }],
          patterns: [
            { group: ['node:*'], message: 'The page runs without Node.' },
            {
              group: ['**/electron/main/**', '**/electron/pipeline/**', '**/electron/preload/**'],
              message: 'Import only electron/shared from the page.',
            },
          ],
        },
      ],
    },
  },
);
