// What the lint scripts (check-deps.mjs, check-cycles.mjs) read: a package's source files and the
// modules each one imports.
import { readdirSync } from 'node:fs';
import path from 'node:path';

const SKIP = new Set(['node_modules', 'dist', 'build', 'files']);
const IMPORT = /(?:^|[^\w.])(?:import|export)\s[^'"`;]*?from\s*['"]([^'"]+)['"]|(?:^|[^\w.])import\s*\(\s*['"]([^'"]+)['"]\s*\)|(?:^|[^\w.])import\s+['"]([^'"]+)['"]/gm;

/** The files under `dir` whose names match `pattern`, build output, dependencies and templates left out. */
export function sourceFiles(dir, pattern) {
  const out = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (SKIP.has(e.name) || e.name.startsWith('.')) continue;
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...sourceFiles(p, pattern));
    else if (pattern.test(e.name)) out.push(p);
  }
  return out;
}

/** Every module specifier a source text imports or re-exports (`import ... from`, `import()`, `import '...'`, `export ... from`). */
export function importSpecifiers(text) {
  return [...text.matchAll(IMPORT)].map((m) => m[1] ?? m[2] ?? m[3]).filter(Boolean);
}
