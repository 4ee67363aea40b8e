import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveConfig, schemaDefaults } from '@dampl/runtime';
import { SYNTH_MODEL_DIR } from './pretrain.js';
import { SYNTH_PRETRAIN_DEFAULTS, synthPretrainConfig, synthPretrainSchema } from './pretrain-config.js';

describe('synthetic CLIP pre-training settings', () => {
  it('default to the settings the committed model was trained with (its train-log provenance)', () => {
    const first = readFileSync(path.join(SYNTH_MODEL_DIR, 'train-log.txt'), 'utf8').split('\n')[0]!;
    const trained = JSON.parse(first.replace(/^# /, '')).config;
    trained.model.text.vocabSize = 0; // filled in from the trained vocabulary
    expect(SYNTH_PRETRAIN_DEFAULTS).toEqual(trained);
    expect(synthPretrainConfig(schemaDefaults(synthPretrainSchema))).toEqual(trained);
  });

  it('take command-line values by schema key, and refuse unknown keys, bad ranges and shapes', () => {
    const cfg = synthPretrainConfig(resolveConfig(synthPretrainSchema, [{ source: 'command line', values: { steps: '100', shareSketch: 0.3, width: 32 } }]));
    expect(cfg.steps).toBe(100);
    expect(cfg.domainShare.sketch).toBe(0.3);
    expect([cfg.model.vision.width, cfg.model.text.width]).toEqual([32, 32]);
    expect(() => resolveConfig(synthPretrainSchema, [{ source: 'command line', values: { stepz: 1 } }])).toThrow(/did you mean 'steps'/);
    expect(() => resolveConfig(synthPretrainSchema, [{ source: 'command line', values: { shareSketch: 2 } }])).toThrow(/shareSketch.*<= 1/);
    expect(() => synthPretrainConfig(resolveConfig(synthPretrainSchema, [{ source: 'x', values: { width: 50 } }]))).toThrow(/multiple of heads/);
  });
});
