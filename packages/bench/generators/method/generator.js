// @ts-check
/**
 * `nx g @dampl/bench:method <name>`: a new UDA method as a package of its own, packages/<name>:
 *
 *   package.json              @dampl/<name>, its dependencies, and "dampl": { "methods": "./src/index.ts" },
 *                             which is how the bench finds it
 *   project.json, tsconfig.json, README.md    as every package of the workspace has (its tests run
 *                             under the workspace's vitest.config.ts, as a vitest project of its own)
 *   src/index.ts              exports `methods`, the list the bench registers
 *   src/<name>.ts             a `Method` with its doc-comment skeleton (paper, loss, shapes,
 *                             hyper-parameters), its config schema (each key's default with its
 *                             source) and presets, and a working nearest-class-mean to replace
 *   src/<name>.test.ts        checks the method contract on core's synthetic toy task (in `npm test`)
 *
 * Nx then runs `npm install`, which links the package into the workspace (and the lockfile), and
 * `npx dampl bench run --methods <name>` runs it on every task. Plain JavaScript (ES module) so that Nx loads it without a
 * TypeScript transpiler.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateFiles, installPackagesTask, names } from '@nx/devkit';

const NAME = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;

/**
 * @typedef {{ name: string; directory?: string; packageName?: string; describe?: string }} MethodGeneratorOptions
 */

/** @param {import('@nx/devkit').Tree} tree @param {string} dep */
function rootVersion(tree, dep) {
  const root = tree.exists('package.json') ? JSON.parse(tree.read('package.json', 'utf-8') ?? '{}') : {};
  return root.dependencies?.[dep] ?? root.devDependencies?.[dep] ?? '*';
}

/** The package names of the workspace's packages/* (a new one must not repeat one). @param {import('@nx/devkit').Tree} tree */
function workspacePackageNames(tree) {
  const out = new Map();
  if (!tree.exists('packages')) return out;
  for (const d of tree.children('packages')) {
    const f = `packages/${d}/package.json`;
    if (tree.exists(f)) out.set(JSON.parse(tree.read(f, 'utf-8') ?? '{}').name, f);
  }
  return out;
}

/**
 * @param {import('@nx/devkit').Tree} tree
 * @param {MethodGeneratorOptions} options
 */
export async function methodGenerator(tree, options) {
  const name = String(options.name ?? '').trim();
  if (!NAME.test(name)) {
    throw new Error(`method name '${name}' must be kebab-case (lowercase letters and digits, words joined by '-'), e.g. 'my-method'`);
  }
  const dir = (options.directory || `packages/${name}`).replace(/\/+$/, '');
  if (tree.exists(dir)) throw new Error(`${dir} already exists: choose another name (or --directory), or delete it first`);
  const packageName = options.packageName || `@dampl/${name}`;
  const taken = workspacePackageNames(tree).get(packageName);
  if (taken) throw new Error(`the workspace already has a package named ${packageName} (${taken}): choose another name or --packageName`);
  const n = names(name);
  const depth = dir.split('/').length;
  generateFiles(tree, path.join(path.dirname(fileURLToPath(import.meta.url)), 'files'), dir, {
    ...n,
    methodName: name,
    variable: n.propertyName,
    packageName,
    projectName: name,
    projectRoot: dir,
    offset: '../'.repeat(depth),
    tfjsVersion: rootVersion(tree, '@tensorflow/tfjs-core'),
    describe: (options.describe || `${n.className}: a new method (nearest class mean until its own is written)`).replace(/\\/g, '\\\\').replace(/'/g, "\\'"),
    describeText: options.describe || `${n.className}: a new method (nearest class mean until its own is written)`,
    describeJson: JSON.stringify(options.describe || `${n.className}: a new method`),
    tmpl: '',
  });
  // Nx runs this after writing the files: npm install links the new package and adds it to the lockfile
  return () => installPackagesTask(tree, true);
}

export default methodGenerator;
