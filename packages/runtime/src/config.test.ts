import '@tensorflow/tfjs-core';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from './errors.js';
import {
  closest, defineSchema, hashConfig, hashSchemaConfig, loadConfigFile, parseConfigPairs, resolveConfig, resolveWithSources, stableStringify, validateConfig,
} from './config.js';

const schema = defineSchema({
  lr: { type: 'number', default: 3e-3, min: 0, doc: 'learning rate', source: 'test' },
  epochs: { type: 'integer', default: 25, min: 1, doc: 'epochs', source: 'test' },
  csc: { type: 'boolean', default: true, doc: 'class-specific context', source: 'test' },
  correction: { type: 'enum', choices: ['none', 'curriculum'], default: 'curriculum', doc: 'correction', source: 'test' },
  templates: { type: 'string[]', default: ['a photo of a {class}.'], minItems: 1, doc: 'templates', source: 'test' },
  ctxInit: { type: 'string', default: '', doc: 'init words', source: 'test' },
});

const errorOf = (f: () => unknown): ConfigError => {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return e as ConfigError;
  }
  throw new Error('expected a ConfigError');
};

describe('config', () => {
  it('merges layers in order over the schema defaults and types the result', () => {
    const c = resolveConfig(schema, [
      { source: 'dataset defaults', values: { lr: 0.01, epochs: 10 } },
      { source: 'named', values: { epochs: 5, correction: 'none' } },
      { source: 'cli', values: { epochs: 7 } },
    ]);
    expect(c).toEqual({ lr: 0.01, epochs: 7, csc: true, correction: 'none', templates: ['a photo of a {class}.'], ctxInit: '' });
    const lr: number = c.lr;
    const corr: 'none' | 'curriculum' = c.correction;
    expect([lr, corr]).toEqual([0.01, 'none']);
  });

  it('an unknown key names the key, its source and the closest valid key', () => {
    const e = errorOf(() => resolveConfig(schema, [{ source: 'file run.json', values: { epoch: 3 } }]));
    expect(e.message).toContain("unknown config key 'epoch' in file run.json");
    expect(e.message).toContain("did you mean 'epochs'?");
    expect(errorOf(() => resolveConfig(schema, [parseConfigPairs(['LR=0.1'])])).message).toContain("did you mean 'lr'?");
    expect(closest('correctoin', Object.keys(schema))).toBe('correction');
  });

  it('wrong types and ranges name the key, what it must be and what it got', () => {
    expect(errorOf(() => resolveConfig(schema, [{ source: 'cli', values: { lr: -1 } }])).message).toContain("'lr' in cli must be a number >= 0, got -1");
    expect(errorOf(() => resolveConfig(schema, [{ source: 'cli', values: { epochs: 2.5 } }])).message).toContain('must be an integer >= 1');
    expect(errorOf(() => resolveConfig(schema, [{ source: 'cli', values: { csc: 'yes' } }])).message).toContain('true or false');
    const e = errorOf(() => resolveConfig(schema, [{ source: 'cli', values: { correction: 'curiculum' } }]));
    expect(e.message).toContain("one of 'none', 'curriculum'");
    expect(e.message).toContain("did you mean 'curriculum'?");
    expect(errorOf(() => resolveConfig(schema, [{ source: 'cli', values: { templates: [] } }])).message).toContain('at least 1');
    expect(() => defineSchema({ x: { type: 'number', default: -1, min: 0, doc: '', source: 'test' } })).toThrow(ConfigError);
  });

  it('parses key=value pairs by the field type', () => {
    const c = resolveConfig(schema, [parseConfigPairs(['lr=1e-2', 'epochs=3', 'csc=false', 'correction=none', 'templates=a {class}., the {class}.', 'ctxInit=a photo of a'])]);
    expect(c).toEqual({ lr: 0.01, epochs: 3, csc: false, correction: 'none', templates: ['a {class}.', 'the {class}.'], ctxInit: 'a photo of a' });
    expect(resolveConfig(schema, [parseConfigPairs(['templates=["x, {class}"]'])]).templates).toEqual(['x, {class}']);
    expect(errorOf(() => resolveConfig(schema, [parseConfigPairs(['epochs=many'])])).message).toContain("'epochs' in command line must be an integer");
    expect(errorOf(() => parseConfigPairs(['lr'])).message).toContain('not a key=value pair');
  });

  it('loads a JSON file as a layer and reports bad files', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'dampl-config-'));
    const good = path.join(dir, 'good.json');
    await writeFile(good, JSON.stringify({ lr: 0.02 }));
    expect(resolveConfig(schema, [await loadConfigFile(good)]).lr).toBe(0.02);
    const bad = path.join(dir, 'bad.json');
    await writeFile(bad, '[1, 2]');
    await expect(loadConfigFile(bad)).rejects.toThrow(/JSON object/);
    await writeFile(bad, JSON.stringify({ lrr: 1 }));
    expect(() => resolveConfig(schema, [{ source: 'x', values: {} }, { source: `file ${bad}`, values: { lrr: 1 } }])).toThrow(/'lrr' in file .*bad\.json/);
  });

  it('validates a complete config and hashes it stably', () => {
    const c = resolveConfig(schema, []);
    expect(validateConfig(schema, c)).toEqual(c);
    expect(() => validateConfig(schema, { ...c, extra: 1 })).toThrow(/unknown config key 'extra'/);
    const { lr: _lr, ...missing } = c;
    expect(() => validateConfig(schema, missing)).toThrow(/missing key 'lr'/);
    const reordered = Object.fromEntries(Object.entries(c).reverse());
    expect(stableStringify(reordered)).toBe(stableStringify(c));
    expect(hashConfig(reordered)).toBe(hashConfig(c));
    expect(hashConfig(c)).toMatch(/^[0-9a-f]{64}$/);
    expect(hashConfig({ ...c, lr: 0.004 })).not.toBe(hashConfig(c));
  });

  it('says where each resolved value came from: the last layer that set it, else the default and its source', () => {
    const out = resolveWithSources(schema, [{ source: 'preset', values: { lr: 0.1, epochs: 3 } }, { source: '--set', values: { lr: '0.2' } }]);
    expect(out.lr).toEqual({ value: 0.2, from: '--set' });
    expect(out.epochs).toEqual({ value: 3, from: 'preset' });
    expect(out.csc).toEqual({ value: true, from: 'default: test' });
  });

  it('refuses a schema key without a doc or the source of its default', () => {
    expect(() => defineSchema({ a: { type: 'number', default: 1, doc: 'a', source: '' } })).toThrow(/schema key 'a' needs a doc and the source/);
  });
});

describe('config hashes', () => {
  it('leave out a key added later while it holds its default, so earlier hashes stay', () => {
    const before = defineSchema({ lr: { type: 'number', default: 0.1, doc: 'lr', source: 'test' } });
    const after = defineSchema({ ...before, neck: { type: 'enum', choices: ['bn', 'dropout'], default: 'bn', doc: 'neck', source: 'test', hashOmitsDefault: true } });
    const old = hashConfig(resolveConfig(before, []));
    expect(hashSchemaConfig(before, resolveConfig(before, []))).toBe(old);
    expect(hashSchemaConfig(after, resolveConfig(after, []))).toBe(old);
    expect(hashSchemaConfig(after, resolveConfig(after, [{ source: 't', values: { neck: 'dropout' } }]))).not.toBe(old);
    // a key without the flag is part of the hash at its default too
    const { hashOmitsDefault: _omit, ...neck } = after.neck;
    const plain = defineSchema({ ...before, neck });
    expect(hashSchemaConfig(plain, resolveConfig(plain, []))).not.toBe(old);
  });
});
