#!/usr/bin/env node
// Checks that every workspace package's package.json lists exactly the packages its files import
// (`import ... from 'pkg'`, `import('pkg')`, `export ... from 'pkg'`; node: built-ins aside), in
// dependencies, optionalDependencies, peerDependencies or devDependencies, and nothing it does
// not import. `npm run lint` runs it; it exits 1 naming each package and name at fault.
//   node scripts/check-deps.mjs
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { importSpecifiers, sourceFiles } from './source-files.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SOURCE = /\.(ts|mts|js|mjs)$/;

const packageName = (spec) => (spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]);
const isBuiltin = (n) => n.startsWith('node:') || builtinModules.includes(n);

function packageDirs(dir = path.join(root, 'packages'), depth = 2) {
  if (depth === 0 || !existsSync(dir)) return [];
  return readdirSync(dir).flatMap((n) => {
    const d = path.join(dir, n);
    if (n === 'node_modules' || !statSync(d).isDirectory()) return [];
    return existsSync(path.join(d, 'package.json')) ? [d] : packageDirs(d, depth - 1);
  });
}

let faults = 0;
for (const dir of packageDirs()) {
  const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8'));
  const listed = new Set(Object.keys({ ...pkg.dependencies, ...pkg.optionalDependencies, ...pkg.peerDependencies, ...pkg.devDependencies }));
  const used = new Map();
  for (const f of sourceFiles(dir, SOURCE)) {
    for (const spec of importSpecifiers(readFileSync(f, 'utf8'))) {
      if (spec.startsWith('.') || spec.startsWith('/') || spec.startsWith('#')) continue;
      const name = packageName(spec);
      if (isBuiltin(name) || name === pkg.name) continue;
      if (!used.has(name)) used.set(name, path.relative(root, f));
    }
  }
  for (const [name, where] of used) {
    if (!listed.has(name)) { console.log(`${pkg.name}: imports ${name} (${where}) but its package.json does not list it`); faults++; }
  }
  for (const name of listed) {
    if (!used.has(name) && !name.startsWith('@types/')) { console.log(`${pkg.name}: lists ${name} but nothing in it imports it`); faults++; }
  }
}
if (faults) {
  console.log(`${faults} dependency fault(s): list what a package imports, and only that`);
  process.exit(1);
}
console.log('every package lists exactly what it imports');
