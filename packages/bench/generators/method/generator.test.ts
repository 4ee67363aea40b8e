/**
 * The method-package generator in an Nx tree: the files of packages/<name>, the package.json the
 * bench discovers, and the names it refuses. generated-method.test.ts (src/) runs what it writes.
 */
import { createTreeWithEmptyWorkspace } from '@nx/devkit/testing.js';
import { describe, expect, it } from 'vitest';
import { methodGenerator } from './generator.js';

function workspace() {
  const tree = createTreeWithEmptyWorkspace();
  tree.write('package.json', JSON.stringify({ name: 'ws', workspaces: ['packages/*'], dependencies: { '@tensorflow/tfjs-core': '4.22.0' } }));
  tree.write('packages/core/package.json', JSON.stringify({ name: '@dampl/core' }));
  return tree;
}

describe('nx g @dampl/bench:method', () => {
  it('creates packages/<name>: a package that declares its methods, a method with its schema, and a test', async () => {
    const tree = workspace();
    await methodGenerator(tree, { name: 'nearest-demo', describe: "NearestDemo: it's a demo" });
    const dir = 'packages/nearest-demo';
    expect(tree.children(dir).sort()).toEqual(['README.md', 'package.json', 'project.json', 'src', 'tsconfig.json']);
    expect(tree.children(`${dir}/src`).sort()).toEqual(['index.ts', 'nearest-demo.test.ts', 'nearest-demo.ts']);
    const pkg = JSON.parse(tree.read(`${dir}/package.json`, 'utf-8')!);
    expect(pkg).toMatchObject({
      name: '@dampl/nearest-demo', type: 'module', description: "NearestDemo: it's a demo", dampl: { methods: './src/index.ts' },
      dependencies: { '@dampl/core': '*', '@dampl/runtime': '*', '@tensorflow/tfjs-core': '4.22.0' },
    });
    const project = JSON.parse(tree.read(`${dir}/project.json`, 'utf-8')!);
    expect(project.name).toBe('nearest-demo');
    // its tests run as a project of the workspace's vitest config; Nx's boundary rule places it among the method packages
    expect(project.targets.test.options).toEqual({ cwd: '{workspaceRoot}', command: 'vitest run --project nearest-demo --reporter=default --reporter=json --outputFile.json=.cache/vitest/nearest-demo.json' });
    expect(project.tags).toEqual(['layer:method']);
    expect(project.targets.lint.options.command).toBe('eslint .');
    const mod = tree.read(`${dir}/src/nearest-demo.ts`, 'utf-8')!;
    expect(mod).toContain("name: 'nearest-demo'");
    expect(mod).toContain('export const nearestDemo: Method<NearestDemoConfig>');
    expect(mod).toContain('export const nearestDemoSchema = defineSchema(');
    expect(mod).toContain("describe: 'NearestDemo: it\\'s a demo',");
    expect(mod).toMatch(/source: '/);
    expect(tree.read(`${dir}/src/index.ts`, 'utf-8')).toContain('export const methods = [nearestDemo];');
    for (const f of ['package.json', 'project.json', 'README.md', 'src/index.ts', 'src/nearest-demo.ts', 'src/nearest-demo.test.ts']) {
      expect(tree.read(`${dir}/${f}`, 'utf-8')).not.toMatch(/<%|%>|&#39;/);
    }
  });

  it('takes another folder and package name, with relative paths to the workspace root to match', async () => {
    const tree = workspace();
    await methodGenerator(tree, { name: 'deep', directory: 'packages/methods/deep', packageName: '@lab/deep' });
    expect(JSON.parse(tree.read('packages/methods/deep/package.json', 'utf-8')!).name).toBe('@lab/deep');
    expect(JSON.parse(tree.read('packages/methods/deep/project.json', 'utf-8')!).$schema).toBe('../../../node_modules/nx/schemas/project-schema.json');
  });

  it('refuses bad names, an existing folder and a package name the workspace has', async () => {
    const tree = workspace();
    await expect(methodGenerator(tree, { name: 'MyMethod' })).rejects.toThrow(/kebab-case/);
    await methodGenerator(tree, { name: 'twice' });
    await expect(methodGenerator(tree, { name: 'twice' })).rejects.toThrow(/packages\/twice already exists/);
    await expect(methodGenerator(tree, { name: 'other', packageName: '@dampl/core' })).rejects.toThrow(/already has a package named @dampl\/core/);
  });
});
