/**
 * Method packages found and checked: workspaces made under .cache (inside the checkout, so that
 * their modules resolve @dampl/* as the real packages do), with good and broken plug-ins.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { workspaceRoot } from '@dampl/runtime';
import { getMethod, listMethods } from '@dampl/core';
import { loadMethods, methodFault, methodPackage, workspacePlugins } from './plugins.js';

const base = path.join(workspaceRoot, '.cache');
mkdirSync(base, { recursive: true });
const made: string[] = [];
afterAll(() => { for (const d of made) rmSync(d, { recursive: true, force: true }); });

function write(file: string, text: string): string {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, text);
  return file;
}

/** A workspace with packages/<dir> for each entry: its package.json fields and its src/index.ts. */
function workspace(packages: Record<string, { pkg: Record<string, unknown>; index?: string }>, extra: Record<string, string> = {}): string {
  const root = mkdtempSync(path.join(base, 'plugins-ws-'));
  made.push(root);
  write(path.join(root, 'package.json'), JSON.stringify({ name: 'ws', private: true, workspaces: ['packages/*'] }));
  for (const [dir, p] of Object.entries(packages)) {
    write(path.join(root, 'packages', dir, 'package.json'), JSON.stringify(p.pkg));
    if (p.index) write(path.join(root, 'packages', dir, 'src', 'index.ts'), p.index);
  }
  for (const [f, text] of Object.entries(extra)) write(path.join(root, f), text);
  return root;
}

/** A module exporting one nearest-nothing method named `name`, with `patch` spliced into it. */
function methodModule(name: string, patch = ''): string {
  // a plain object: the bench checks the schema, as defineSchema would
  return `const schema = { k: { type: 'number', default: 1, min: 0, doc: 'a key', source: 'a test' } };
export const m = {
  name: '${name}', describe: 'a plug-in method of the tests', configSchema: schema,
  async fit() { throw new Error('not run'); },
  ${patch}
};
export const methods = [m];
`;
}

const declares = (name: string, deps: Record<string, string> = {}) => ({ name, dampl: { methods: './src/index.ts' }, dependencies: deps });

describe('method packages', () => {
  it('finds every workspace package that declares dampl.methods, each after those it depends on, and registers their methods', async () => {
    const root = workspace({
      a: { pkg: declares('@t/a', { '@t/b': '*' }), index: methodModule('plugin-a') },
      b: { pkg: declares('@t/b'), index: methodModule('plugin-b') },
      c: { pkg: { name: '@t/c' } },
    });
    expect(workspacePlugins(root).map((p) => p.package)).toEqual(['@t/b', '@t/a']);
    const loaded = await loadMethods({ workspace: root });
    expect(loaded.map((l) => [l.package, l.via, l.methods])).toEqual([['@t/b', 'workspace', ['plugin-b']], ['@t/a', 'workspace', ['plugin-a']]]);
    expect(getMethod('plugin-a').describe).toBe('a plug-in method of the tests');
    expect(methodPackage('plugin-b')).toBe('@t/b');
  });

  it('the checkout: core, then baselines, then the SHOT-IM package', async () => {
    const loaded = await loadMethods();
    expect(loaded.map((l) => l.package)).toEqual(['@dampl/core', '@dampl/baselines', '@dampl/shot-im']);
    expect(loaded.flatMap((l) => l.methods)).toEqual(['dampl', 'zero-shot', 'zero-shot-ensemble', 'coop', 'linear-probe', 'source-only', 'dapl', 'dann', 'dan', 'cdan', 'mcc', 'shot-im']);
    for (const m of ['dampl', 'dann', 'shot-im']) expect(listMethods().map((x) => x.name)).toContain(m);
  });

  it('loads dampl.config.json plugins (paths and installed packages) and --plugin, and refuses an unknown key', async () => {
    const root = workspace({}, {
      'extra/package.json': JSON.stringify(declares('@t/extra')),
      'extra/src/index.ts': methodModule('plugin-extra'),
      'node_modules/@t/installed/package.json': JSON.stringify(declares('@t/installed')),
      'node_modules/@t/installed/src/index.ts': methodModule('plugin-installed'),
      'single.ts': methodModule('plugin-single'),
      'dampl.config.json': JSON.stringify({ plugins: ['./extra', '@t/installed'] }),
    });
    const loaded = await loadMethods({ workspace: root, plugins: [path.join(root, 'single.ts')] });
    expect(loaded.map((l) => [l.package, l.via])).toEqual([['@t/extra', 'dampl.config.json'], ['@t/installed', 'dampl.config.json'], [path.join(root, 'single.ts'), '--plugin']]);
    write(path.join(root, 'dampl.config.json'), JSON.stringify({ plugin: ['./extra'] }));
    await expect(loadMethods({ workspace: root })).rejects.toThrow(/unknown key 'plugin' in .*dampl\.config\.json/);
    await expect(loadMethods({ workspace: root, plugins: ['@t/absent'] })).rejects.toThrow();
    write(path.join(root, 'dampl.config.json'), JSON.stringify({ plugins: ['@t/absent'] }));
    await expect(loadMethods({ workspace: root })).rejects.toThrow(/plug-in @t\/absent \(dampl\.config\.json\): no installed package of that name/);
  });

  it('a broken plug-in is an error that names the package and the fault', async () => {
    const cases: [string, string, RegExp][] = [
      ['no-export', "export const m = 1;\n", /plug-in @t\/no-export .* exports no methods/],
      ['no-source', methodModule('plugin-no-source').replace(", source: 'a test'", ''), /plug-in @t\/no-source .*method 'plugin-no-source': configSchema: schema key 'k' needs a doc and the source of its default/],
      ['bad-default', methodModule('plugin-bad-default').replace('default: 1, min: 0', 'default: -1, min: 0'), /plug-in @t\/bad-default .*'k' in schema default must be a number >= 0/],
      ['no-fit', methodModule('plugin-no-fit').replace("async fit() { throw new Error('not run'); },", ''), /plug-in @t\/no-fit .*method 'plugin-no-fit' has no fit\(input\) function/],
      ['bad-name', methodModule('Bad Name'), /plug-in @t\/bad-name .*has name "Bad Name": a method's name is kebab-case/],
      ['bad-preset', methodModule('plugin-bad-preset', "presets: { synth: { values: { kk: 2 }, source: 'x' } },"), /plug-in @t\/bad-preset .*unknown config key 'kk' in presets\.synth/],
      ['taken', methodModule('dampl'), /plug-in @t\/taken .*a method named 'dampl' is already registered by @dampl\/core/],
      ['throws', "import './missing-file.js';\nexport const methods = [];\n", /plug-in @t\/throws \(workspace\) failed to load .*index\.ts/],
    ];
    for (const [dir, index, fault] of cases) {
      const root = workspace({ [dir]: { pkg: declares(`@t/${dir}`), index } });
      await expect(loadMethods({ workspace: root }), dir).rejects.toThrow(fault);
    }
    const missing = workspace({ gone: { pkg: { name: '@t/gone', dampl: { methods: './src/nowhere.ts' } } } });
    await expect(loadMethods({ workspace: missing })).rejects.toThrow(/plug-in @t\/gone: its entry \.\/src\/nowhere\.ts .* does not exist/);
  });

  it('checks the shape of a method object', () => {
    expect(methodFault(null)).toMatch(/null, not a Method/);
    expect(methodFault({ name: 'x', describe: '', fit() {} })).toMatch(/no describe/);
    expect(methodFault(getMethod('dampl'))).toBeUndefined();
  });
});
