// @ts-check
/**
 * `nx g @dampl/baselines:method <name>`: scaffolds a new UDA method in the baselines project:
 *
 *   src/<name>.ts        a `Method` with its doc-comment skeleton (paper, loss, shapes,
 *                        hyper-parameters), a typed config schema with per-dataset defaults, and a
 *                        working nearest-class-mean implementation to replace
 *   src/<name>.test.ts   runs it through `fitMethod` on core's toy problem
 *   src/index.ts         imports, re-exports and registers it (the bench runs every registered
 *                        method, so nothing else has to change)
 *
 * Plain JavaScript (ES module) so that Nx loads it without a TypeScript transpiler.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateFiles, names, readProjectConfiguration } from '@nx/devkit';

const NAME = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;
/** The line of src/index.ts above which new methods join the `baselines` list. */
export const LIST_MARKER = '// nx g @dampl/baselines:method adds new methods above this line';

/**
 * @typedef {{ name: string; project?: string; describe?: string }} MethodGeneratorOptions
 */

/**
 * @param {import('@nx/devkit').Tree} tree
 * @param {MethodGeneratorOptions} options
 */
export async function methodGenerator(tree, options) {
  const name = String(options.name ?? '').trim();
  if (!NAME.test(name)) {
    throw new Error(`method name '${name}' must be kebab-case (lowercase letters and digits, words joined by '-'), e.g. 'my-method'`);
  }
  const project = readProjectConfiguration(tree, options.project ?? 'baselines');
  const src = project.sourceRoot ?? path.posix.join(project.root, 'src');
  const n = names(name);
  const file = path.posix.join(src, `${n.fileName}.ts`);
  if (tree.exists(file)) throw new Error(`${file} already exists: choose another name or delete it first`);
  const indexPath = path.posix.join(src, 'index.ts');
  const index = tree.read(indexPath, 'utf-8');
  if (index === null) throw new Error(`${indexPath} not found: the project must have an index.ts that registers its methods`);
  if (!index.includes(LIST_MARKER)) throw new Error(`${indexPath} lacks the line '${LIST_MARKER}' inside its baselines list; add it back`);
  const variable = n.propertyName;
  if (new RegExp(`\\b${variable}\\b`).test(index)) throw new Error(`${indexPath} already uses the name '${variable}': choose another method name`);

  generateFiles(tree, path.join(path.dirname(fileURLToPath(import.meta.url)), 'files'), src, {
    ...n,
    methodName: name,
    variable,
    describe: (options.describe || `${n.className}: a new method (nearest class mean until its own is written)`).replace(/\\/g, '\\\\').replace(/'/g, "\\'"),
    tmpl: '',
  });

  const lines = index.split('\n');
  let lastImport = -1;
  lines.forEach((l, i) => {
    if (/^import .* from '.+';$/.test(l)) lastImport = i;
  });
  lines.splice(lastImport + 1, 0, `import { ${variable} } from './${n.fileName}.js';`);
  const marker = lines.findIndex((l) => l.includes(LIST_MARKER));
  const indent = lines[marker]?.match(/^\s*/)?.[0] ?? '  ';
  lines.splice(marker, 0, `${indent}${variable},`);
  let text = lines.join('\n');
  if (!text.endsWith('\n')) text += '\n';
  text += `export { ${variable}, ${variable}Schema, type ${n.className}Config } from './${n.fileName}.js';\n`;
  tree.write(indexPath, text);
}

export default methodGenerator;
