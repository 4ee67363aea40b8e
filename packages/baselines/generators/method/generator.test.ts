/**
 * The method generator: files and registration line in an Nx tree, then the generated method
 * imported from a copy of the project and run through the method registry and `fitMethod`, as
 * the bench runs every registered method.
 */
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { addProjectConfiguration, type Tree } from '@nx/devkit';
import { createTreeWithEmptyWorkspace } from '@nx/devkit/testing.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectBackend, workspaceRoot } from '@dampl/runtime';
import { fitMethod, getMethod, listMethods, resolveMethodConfig } from '@dampl/core';
import { FakeTextTower, makeToyProblem } from '@dampl/core/testing';
import { LIST_MARKER, methodGenerator } from './generator.js';

const project = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');
const SRC = 'packages/baselines/src';

function workspaceWithBaselines(): Tree {
  const tree = createTreeWithEmptyWorkspace();
  addProjectConfiguration(tree, 'baselines', { root: 'packages/baselines', sourceRoot: SRC, projectType: 'library' });
  tree.write(`${SRC}/index.ts`, readFileSync(path.join(project, 'src', 'index.ts'), 'utf8'));
  return tree;
}

describe('nx g @dampl/baselines:method', () => {
  it('creates the module and its test, and imports, lists and re-exports it in index.ts', async () => {
    const tree = workspaceWithBaselines();
    await methodGenerator(tree, { name: 'nearest-demo' });
    const mod = tree.read(`${SRC}/nearest-demo.ts`, 'utf-8')!;
    expect(mod).toContain("name: 'nearest-demo'");
    expect(mod).toContain('export const nearestDemo: Method<NearestDemoConfig>');
    expect(mod).toContain('export const nearestDemoSchema = defineSchema(');
    expect(mod).toMatch(/Paper: .*\n/);
    expect(mod).not.toMatch(/<%|%>/);
    expect(tree.read(`${SRC}/nearest-demo.test.ts`, 'utf-8')).toContain("getMethod('nearest-demo')");
    const index = tree.read(`${SRC}/index.ts`, 'utf-8')!;
    expect(index).toContain("import { nearestDemo } from './nearest-demo.js';");
    expect(index).toContain(`  nearestDemo,\n  ${LIST_MARKER}`);
    expect(index).toContain("export { nearestDemo, nearestDemoSchema, type NearestDemoConfig } from './nearest-demo.js';");
    // a second method goes after the first
    await methodGenerator(tree, { name: 'other', describe: "Other: it's another" });
    expect(tree.read(`${SRC}/index.ts`, 'utf-8')).toContain(`  nearestDemo,\n  other,\n  ${LIST_MARKER}`);
    expect(tree.read(`${SRC}/other.ts`, 'utf-8')).toContain("describe: 'Other: it\\'s another',");
  });

  it('refuses bad names, existing files and a missing list marker, saying what to do', async () => {
    const tree = workspaceWithBaselines();
    await expect(methodGenerator(tree, { name: 'MyMethod' })).rejects.toThrow(/kebab-case/);
    await expect(methodGenerator(tree, { name: 'dann' })).rejects.toThrow(/already uses the name 'dann'/);
    await methodGenerator(tree, { name: 'twice' });
    await expect(methodGenerator(tree, { name: 'twice' })).rejects.toThrow(/already exists/);
    tree.write(`${SRC}/index.ts`, 'export {};\n');
    await expect(methodGenerator(tree, { name: 'fresh' })).rejects.toThrow(/lacks the line/);
  });

  describe('the generated method in a copy of the project', () => {
    let dir: string;
    let tower: FakeTextTower;

    beforeAll(async () => {
      await selectBackend('wasm');
      tower = new FakeTextTower();
      const tree = workspaceWithBaselines();
      await methodGenerator(tree, { name: 'nearest-demo' });
      const cache = path.join(workspaceRoot, '.cache');
      mkdirSync(cache, { recursive: true });
      dir = mkdtempSync(path.join(cache, 'baselines-generator-'));
      cpSync(path.join(project, 'src'), path.join(dir, 'src'), { recursive: true, filter: (f) => !f.endsWith('.test.ts') });
      for (const f of ['index.ts', 'nearest-demo.ts']) writeFileSync(path.join(dir, 'src', f), tree.read(`${SRC}/${f}`, 'utf-8')!);
    });

    afterAll(() => {
      tower?.dispose();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it('registers on import of index.ts and runs through fitMethod', async () => {
      await import(pathToFileURL(path.join(dir, 'src', 'index.ts')).href);
      expect(listMethods().map((m) => m.name)).toEqual(expect.arrayContaining(['dann', 'dan', 'zero-shot', 'nearest-demo']));
      const method = getMethod('nearest-demo');
      const toy = await makeToyProblem(tower);
      const config = await resolveMethodConfig(method, { dataset: 'synth', overrides: ['temperature=0.05'] });
      const result = await fitMethod(method, {
        source: toy.source, sourceLabels: toy.sourceLabels, target: toy.target, targetLabelsForAnalysis: toy.targetLabels,
        evalTarget: toy.evalTarget, classNames: toy.classNames, domainNames: toy.domainNames, clip: tower, config, seed: 1,
      });
      const K = toy.classNames.length;
      const p = await result.predict(toy.evalTarget.features);
      for (let i = 0; i < p.labels.length; i++) expect(p.probs.subarray(i * K, (i + 1) * K).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 4);
      expect(result.history[0]!.evalAccuracy).toBeGreaterThan(1 / K);
      const restored = await method.restore!(await result.state(), { classNames: toy.classNames, domainNames: toy.domainNames });
      expect(Array.from((await restored.predict(toy.evalTarget.features)).labels)).toEqual(Array.from(p.labels));
      restored.dispose();
      result.dispose();
    });
  });
});
