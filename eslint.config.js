// Lint: typescript-eslint's recommended rules, plus the layer rule that keeps imports pointing down.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// Each layer may import only the layers listed for it (relative paths from src/<layer>/).
const layers = {
  core: [],
  testing: ['core'],
  observe: ['core'],
  exec: ['core'],
  http: ['core', 'observe'],
  lab: ['core', 'observe'],
  ws: ['core', 'observe'],
  tcp: ['core', 'observe'],
  store: ['core'],
  pg: ['core', 'observe'],
  crawl: ['core', 'observe', 'http', 'store'],
  download: ['core', 'observe', 'http', 'store'],
  serve: ['core', 'observe', 'http', 'ws', 'tcp'],
  pipeline: ['core', 'observe', 'http', 'store'],
  dash: ['core', 'observe', 'http'],
};
const all = [...Object.keys(layers), 'cli'];

const layerRules = Object.entries(layers).map(([layer, allowed]) => ({
  files: [`src/${layer}/**/*.ts`],
  rules: {
    'no-restricted-imports': ['error', {
      patterns: all
        .filter((l) => l !== layer && !allowed.includes(l))
        .map((l) => ({ group: [`../${l}`, `../${l}/*`, `../../${l}/*`], message: `${layer} must not import ${l}: imports point down the layers.` })),
    }],
  },
}));

export default tseslint.config(
  { ignores: ['node_modules/', 'bench/node_modules/', 'coverage/', 'tmp/', 'dist/', 'docs/api/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  { files: ['src/**/*.ts'], rules: { '@typescript-eslint/no-explicit-any': 'error' } },
  { files: ['test/**/*.ts', 'bench/**/*.ts', 'examples/**/*.ts'], rules: { '@typescript-eslint/no-explicit-any': 'off' } },
  ...layerRules,
  // Plain JavaScript: the bin's guard and the package test's consumer files.
  {
    files: ['**/*.cjs', '**/*.mjs'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', require: 'readonly', __dirname: 'readonly', URL: 'readonly', Buffer: 'readonly', fetch: 'readonly' } },
  },
  { files: ['**/*.cjs'], languageOptions: { sourceType: 'commonjs' }, rules: { '@typescript-eslint/no-require-imports': 'off' } },
);
