#!/usr/bin/env node
// Finds import cycles between the source files of each workspace package, type-only imports
// included (`import type`, `export type ... from`): a cycle of types is still a cycle for a reader.
// Cycles between packages are the module-boundary rule's (eslint, @nx/enforce-module-boundaries).
// `npm run lint` runs it; it exits 1 printing each cycle as a chain of files.
//   node scripts/check-cycles.mjs
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { importSpecifiers, sourceFiles } from './source-files.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** The file a relative specifier names: `./x.js` is `./x.ts` in the sources, `./dir` its index. */
function resolve(from, spec) {
  const base = path.resolve(path.dirname(from), spec);
  const stem = base.replace(/\.(js|mjs|ts|mts)$/, '');
  for (const c of [`${stem}.ts`, `${stem}.mts`, path.join(base, 'index.ts')]) {
    if (existsSync(c) && statSync(c).isFile()) return c;
  }
  return undefined;
}

const graph = new Map();
for (const pkg of readdirSync(path.join(root, 'packages'))) {
  const dir = path.join(root, 'packages', pkg);
  if (!existsSync(path.join(dir, 'package.json'))) continue;
  for (const f of sourceFiles(dir, /\.(ts|mts)$/)) {
    const deps = new Set();
    for (const spec of importSpecifiers(readFileSync(f, 'utf8'))) {
      const to = spec.startsWith('.') ? resolve(f, spec) : undefined;
      if (to) deps.add(to);
    }
    graph.set(f, [...deps]);
  }
}

// Depth-first search; a back edge to a file on the current path closes a cycle.
const state = new Map(); // 1: on the path, 2: done
const cycles = [];
function visit(f, trail) {
  state.set(f, 1);
  trail.push(f);
  for (const to of graph.get(f) ?? []) {
    if (state.get(to) === 1) cycles.push([...trail.slice(trail.indexOf(to)), to]);
    else if (!state.has(to)) visit(to, trail);
  }
  trail.pop();
  state.set(f, 2);
}
for (const f of graph.keys()) if (!state.has(f)) visit(f, []);

if (cycles.length) {
  for (const c of cycles) console.log(`import cycle: ${c.map((f) => path.relative(root, f)).join(' -> ')}`);
  console.log(`${cycles.length} import cycle(s): move the shared names into a module both sides import`);
  process.exit(1);
}
console.log(`no import cycles among ${graph.size} source files`);
