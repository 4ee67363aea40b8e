// ESLint for the workspace (`npm run lint` runs it through each project's lint target, then knip):
// typescript-eslint's recommended rules and Nx's module-boundary rule, which holds the layers of
// ARCHITECTURE.md by the projects' tags:
//   runtime <- clip, data <- synth, core <- method packages (baselines, shot-im, ...) <- bench
import js from '@eslint/js';
import nx from '@nx/eslint-plugin';
import tseslint from 'typescript-eslint';

const layers = [
  { sourceTag: 'layer:runtime', onlyDependOnLibsWithTags: ['layer:runtime'] },
  { sourceTag: 'layer:clip', onlyDependOnLibsWithTags: ['layer:runtime'] },
  { sourceTag: 'layer:data', onlyDependOnLibsWithTags: ['layer:runtime'] },
  { sourceTag: 'layer:synth', onlyDependOnLibsWithTags: ['layer:runtime', 'layer:clip', 'layer:data'] },
  { sourceTag: 'layer:core', onlyDependOnLibsWithTags: ['layer:runtime', 'layer:clip', 'layer:data'] },
  { sourceTag: 'layer:method', onlyDependOnLibsWithTags: ['layer:runtime', 'layer:clip', 'layer:data', 'layer:core'] },
  { sourceTag: 'layer:bench', onlyDependOnLibsWithTags: ['layer:runtime', 'layer:clip', 'layer:data', 'layer:synth', 'layer:core', 'layer:method'] },
];

export default tseslint.config(
  { ignores: ['**/node_modules/**', '**/dist/**', '.cache/**', '.nx/**', 'results/**', '**/native/build/**', '**/files/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts', '**/*.mjs', '**/*.js'],
    plugins: { '@nx': nx },
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly', performance: 'readonly', Buffer: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', fetch: 'readonly', AbortController: 'readonly', AbortSignal: 'readonly', TextEncoder: 'readonly', TextDecoder: 'readonly', Response: 'readonly' } },
    rules: {
      '@nx/enforce-module-boundaries': ['error', { enforceBuildableLibDependency: false, allow: [], depConstraints: layers, banTransitiveDependencies: true }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_', caughtErrors: 'none' }],
    },
  },
);
