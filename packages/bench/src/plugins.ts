/**
 * Where the bench's methods come from. A method package declares its entry in its package.json,
 *
 *   "dampl": { "methods": "./src/index.ts" }
 *
 * and the entry exports its methods, `export const methods = [myMethod];`. The bench loads, in
 * this order: every workspace package that declares an entry (a package after those it depends
 * on: @dampl/core, then @dampl/baselines, then the rest), the packages or paths listed as
 * `plugins` in the workspace's dampl.config.json, and those given with `--plugin <path or name>`.
 * Each method is checked before it is registered (a name, a description, a schema whose keys have
 * a doc and a source, presets the schema accepts, a fit function); a plug-in that fails to load
 * or export them is an error naming the package and the fault.
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ConfigError, DamplError, closest, defineSchema, resolveConfig, workspaceRoot, type ConfigSchema } from '@dampl/runtime';
import { listMethods, registerMethod, type Method } from '@dampl/core';

export const PLUGIN_CONFIG_FILE = 'dampl.config.json';

/** A package (or a file) that provides methods. */
export interface PluginSource {
  /** The package name, or the file's path for a bare module. */
  package: string;
  /** The entry module's absolute path. */
  entry: string;
  /** How it was found. */
  via: 'workspace' | typeof PLUGIN_CONFIG_FILE | '--plugin' | 'bundle';
}

export interface LoadedPlugin extends PluginSource {
  /** The methods it registered, in its order. */
  methods: string[];
}

export interface LoadOptions {
  /** The workspace whose packages are searched; default: this checkout. */
  workspace?: string;
  /** `--plugin` values: paths (a package folder or a module file) or npm package names. */
  plugins?: readonly string[];
}

interface PackageJson {
  name?: string;
  workspaces?: string[] | { packages?: string[] };
  dampl?: { methods?: unknown };
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
}

const METHOD_NAME = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;

/** The packages of a bundle (the GPU kit), imported statically: they replace the workspace search. */
let bundled: { package: string; module: Record<string, unknown> }[] | undefined;

/**
 * Sets the bundle's packages. Called by the GPU kit's generated entry module (kit/build.ts), not imported by source.
 * @public
 */
export function useBundledPlugins(list: { package: string; module: Record<string, unknown> }[]): void {
  bundled = list;
}

/** Which package registered each method (for listings). */
const origin = new Map<string, string>();

export function methodPackage(name: string): string | undefined {
  return origin.get(name);
}

function readPackageJson(file: string, what: string): PackageJson {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as PackageJson;
  } catch (e) {
    throw new DamplError(`${what}: ${file} cannot be read as JSON: ${(e as Error).message}`, 'fix the file');
  }
}

/** The entry a package.json declares, or undefined when it declares none. */
function declaredEntry(dir: string, pkg: PackageJson, via: PluginSource['via']): PluginSource | undefined {
  const decl = pkg.dampl?.methods;
  if (decl === undefined) return undefined;
  const name = pkg.name ?? dir;
  if (typeof decl !== 'string' || !decl) {
    throw new DamplError(`plug-in ${name}: "dampl": { "methods": ... } in ${path.join(dir, 'package.json')} must be the path of its entry module`, 'e.g. "dampl": { "methods": "./src/index.ts" }');
  }
  const entry = path.resolve(dir, decl);
  if (!existsSync(entry)) {
    throw new DamplError(`plug-in ${name}: its entry ${decl} (dampl.methods in ${path.join(dir, 'package.json')}) does not exist`, 'point dampl.methods at the module that exports `methods`');
  }
  return { package: name, entry, via };
}

/** The workspace's package folders (package.json `workspaces`: folders and `folder/*` patterns). */
function workspacePackageDirs(root: string): string[] {
  const file = path.join(root, 'package.json');
  if (!existsSync(file)) return [];
  const ws = readPackageJson(file, 'the workspace').workspaces;
  const patterns = Array.isArray(ws) ? ws : ws?.packages ?? [];
  const dirs: string[] = [];
  for (const p of patterns) {
    if (p.endsWith('/*')) {
      const parent = path.join(root, p.slice(0, -2));
      if (!existsSync(parent)) continue;
      for (const d of readdirSync(parent).sort()) {
        const dir = path.join(parent, d);
        if (existsSync(path.join(dir, 'package.json'))) dirs.push(dir);
      }
    } else if (existsSync(path.join(root, p, 'package.json'))) {
      dirs.push(path.join(root, p));
    }
  }
  return dirs;
}

/** The workspace packages that declare methods, each after the ones it depends on. */
export function workspacePlugins(root: string): PluginSource[] {
  const found: { src: PluginSource; deps: string[] }[] = [];
  for (const dir of workspacePackageDirs(root)) {
    const pkg = readPackageJson(path.join(dir, 'package.json'), 'a workspace package');
    const src = declaredEntry(dir, pkg, 'workspace');
    if (src) found.push({ src, deps: Object.keys({ ...pkg.dependencies, ...pkg.devDependencies, ...pkg.peerDependencies }) });
  }
  const out: PluginSource[] = [];
  const visit = (f: (typeof found)[number], trail: string[]) => {
    if (out.includes(f.src)) return;
    if (trail.includes(f.src.package)) throw new DamplError(`the method packages depend on each other in a circle: ${[...trail, f.src.package].join(' -> ')}`);
    for (const d of f.deps) {
      const dep = found.find((x) => x.src.package === d);
      if (dep) visit(dep, [...trail, f.src.package]);
    }
    out.push(f.src);
  };
  for (const f of found) visit(f, []);
  return out;
}

/** A plug-in named by path or by npm package name, resolved from `base`. */
function resolvePlugin(spec: string, base: string, via: PluginSource['via']): PluginSource {
  const isPath = spec.startsWith('.') || path.isAbsolute(spec) || (spec.includes(path.sep) && !spec.startsWith('@'));
  if (isPath) {
    const p = path.resolve(base, spec);
    if (!existsSync(p)) throw new ConfigError(`plug-in ${spec} (${via}): ${p} does not exist`, 'give a package folder, a module file or an installed package name');
    if (statSync(p).isDirectory()) {
      const pj = path.join(p, 'package.json');
      if (!existsSync(pj)) throw new ConfigError(`plug-in ${spec} (${via}): ${p} has no package.json`, 'give a package folder with "dampl": { "methods": ... }, or the module file itself');
      const src = declaredEntry(p, readPackageJson(pj, `plug-in ${spec}`), via);
      if (!src) throw new ConfigError(`plug-in ${spec} (${via}): ${pj} declares no methods`, 'add "dampl": { "methods": "./src/index.ts" } to it');
      return src;
    }
    return { package: spec, entry: p, via };
  }
  for (let dir = base; ; dir = path.dirname(dir)) {
    const pj = path.join(dir, 'node_modules', spec, 'package.json');
    if (existsSync(pj)) {
      const src = declaredEntry(path.dirname(pj), readPackageJson(pj, `plug-in ${spec}`), via);
      if (!src) throw new ConfigError(`plug-in ${spec} (${via}): its package.json declares no methods`, 'the package needs "dampl": { "methods": "<its entry>" }');
      return src;
    }
    if (path.dirname(dir) === dir) break;
  }
  throw new ConfigError(`plug-in ${spec} (${via}): no installed package of that name`, `npm install ${spec}, or give its path`);
}

/** The plugins listed in the workspace's dampl.config.json, `{ "plugins": ["name", "./path"] }`. */
function configPlugins(root: string): PluginSource[] {
  const file = path.join(root, PLUGIN_CONFIG_FILE);
  if (!existsSync(file)) return [];
  let cfg: unknown;
  try {
    cfg = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new ConfigError(`${file} is not valid JSON: ${(e as Error).message}`, 'it holds { "plugins": ["<package name or path>", ...] }');
  }
  if (cfg === null || typeof cfg !== 'object' || Array.isArray(cfg)) throw new ConfigError(`${file} must hold an object`, '{ "plugins": ["<package name or path>", ...] }');
  for (const k of Object.keys(cfg)) {
    if (k !== 'plugins') throw new ConfigError(`unknown key '${k}' in ${file}`, `${closest(k, ['plugins']) === 'plugins' ? "did you mean 'plugins'? " : ''}the only key is plugins`);
  }
  const list = (cfg as { plugins?: unknown }).plugins ?? [];
  if (!Array.isArray(list) || !list.every((x) => typeof x === 'string')) throw new ConfigError(`'plugins' in ${file} must be a list of package names or paths`);
  return list.map((s) => resolvePlugin(s, root, PLUGIN_CONFIG_FILE));
}

/** The fault of a would-be method, or undefined when it fulfils the contract. */
export function methodFault(m: unknown): string | undefined {
  if (m === null || typeof m !== 'object') return `is ${m === null ? 'null' : typeof m}, not a Method object`;
  const o = m as Partial<Method> & Record<string, unknown>;
  if (typeof o.name !== 'string' || !METHOD_NAME.test(o.name)) return `has name ${JSON.stringify(o.name)}: a method's name is kebab-case, e.g. 'my-method'`;
  const who = `method '${o.name}'`;
  if (typeof o.describe !== 'string' || !o.describe.trim()) return `${who} has no describe (one line for listings)`;
  if (typeof o.fit !== 'function') return `${who} has no fit(input) function`;
  if (o.restore !== undefined && typeof o.restore !== 'function') return `${who}: restore must be a function when given`;
  if (o.configSchema === null || typeof o.configSchema !== 'object') return `${who} has no configSchema (defineSchema({...}))`;
  try {
    defineSchema(o.configSchema as ConfigSchema);
  } catch (e) {
    return `${who}: configSchema: ${(e as Error).message}`;
  }
  if (o.presets !== undefined) {
    if (o.presets === null || typeof o.presets !== 'object') return `${who}: presets must be an object of dataset: { values, source }`;
    for (const [dataset, p] of Object.entries(o.presets as Record<string, unknown>)) {
      const preset = p as { values?: unknown; source?: unknown } | null;
      if (!preset || typeof preset.values !== 'object' || preset.values === null || typeof preset.source !== 'string' || !preset.source.trim()) {
        return `${who}: presets.${dataset} must be { values: {...}, source: '<where the values come from>' }`;
      }
      try {
        resolveConfig(o.configSchema as ConfigSchema, [{ source: `presets.${dataset}`, values: preset.values as Record<string, unknown> }]);
      } catch (e) {
        return `${who}: ${(e as Error).message}`;
      }
    }
  }
  return undefined;
}

/** Checks and registers what a plug-in's entry exports. */
function registerFrom(src: PluginSource, mod: Record<string, unknown>): LoadedPlugin {
  const where = `plug-in ${src.package} (${path.relative(workspaceRoot, src.entry) || src.entry})`;
  const list = mod.methods ?? (Array.isArray(mod.default) ? mod.default : undefined);
  if (!Array.isArray(list) || !list.length) {
    throw new DamplError(`${where} exports no methods`, 'its entry must export them: `export const methods = [myMethod];`');
  }
  const names: string[] = [];
  for (const [i, m] of list.entries()) {
    const fault = methodFault(m);
    if (fault) throw new DamplError(`${where}: methods[${i}] ${fault}`, 'fix the method in that package, or leave the package out (dampl.config.json, --plugin)');
    const method = m as Method<unknown>;
    const known = listMethods().find((x) => x.name === method.name);
    if (known && known !== method) {
      throw new DamplError(`${where}: a method named '${method.name}' is already registered${origin.has(method.name) ? ` by ${origin.get(method.name)}` : ''}`, 'give the new method another name');
    }
    registerMethod(method);
    if (!origin.has(method.name)) origin.set(method.name, src.package);
    names.push(method.name);
  }
  return { ...src, methods: names };
}

/** Loads every method package (see the file's comment); returns what each registered. */
export async function loadMethods(o: LoadOptions = {}): Promise<LoadedPlugin[]> {
  const root = path.resolve(o.workspace ?? workspaceRoot);
  const out: LoadedPlugin[] = [];
  if (bundled) {
    for (const b of bundled) out.push(registerFrom({ package: b.package, entry: b.package, via: 'bundle' }, b.module));
  }
  const sources = [
    ...(bundled ? [] : workspacePlugins(root)),
    ...configPlugins(root),
    ...(o.plugins ?? []).map((p) => resolvePlugin(p, process.cwd(), '--plugin')),
  ];
  const seen = new Set<string>();
  for (const src of sources) {
    if (seen.has(src.entry)) continue;
    seen.add(src.entry);
    let mod: Record<string, unknown>;
    try {
      mod = (await import(pathToFileURL(src.entry).href)) as Record<string, unknown>;
    } catch (e) {
      throw new DamplError(`plug-in ${src.package} (${src.via}) failed to load ${src.entry}: ${(e as Error).message.split('\n')[0]}`,
        'fix the error in that package (npx tsc --noEmit -p <its folder> finds most), or leave it out');
    }
    out.push(registerFrom(src, mod));
  }
  if (!listMethods().length) throw new ConfigError('no method is registered', `no package declares "dampl": { "methods": ... } in ${root}`);
  return out;
}
