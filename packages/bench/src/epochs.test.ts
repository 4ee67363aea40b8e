import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger, defineSchema, selectBackend } from '@dampl/runtime';
import { registerMethod, type Method, type MethodResult, type Prediction } from '@dampl/core';
import { bestEpoch, correctPerClass, metricFromCounts } from './epochs.js';
import { readRecords } from './records.js';
import { parseResultsCsv } from './results.js';
import { runSuite } from './runner.js';
import { centroidMethod, registerTinyDataset, writeRandomClip, writeTinyImages } from './testing.js';

describe('per-epoch test scores', () => {
  it('counts, metrics and the best epoch by hand', () => {
    const labels = Int32Array.from([0, 0, 1, 1, 1, 2]);
    expect(correctPerClass(Int32Array.from([0, 1, 1, 1, 0, 0]), labels, 3)).toEqual([1, 2, 0]);
    const totals = [2, 3, 1];
    expect(metricFromCounts([1, 2, 0], totals, 'accuracy')).toBeCloseTo(3 / 6, 12);
    expect(metricFromCounts([1, 2, 0], totals, 'mean-class')).toBeCloseTo((1 / 2 + 2 / 3 + 0) / 3, 12);
    // epoch 2 is best by accuracy (4/6), epoch 3 by mean-class ((1 + 1/3 + 1) / 3 = 0.778 > (1 + 2/3 + 0) / 3)
    const epochs = [{ epoch: 1, correct: [1, 2, 0] }, { epoch: 2, correct: [2, 2, 0] }, { epoch: 3, correct: [2, 1, 1] }];
    expect(bestEpoch(epochs, totals, 'accuracy')).toEqual({ epoch: 2, value: 4 / 6 });
    expect(bestEpoch(epochs, totals, 'mean-class')!.epoch).toBe(3);
    expect(bestEpoch([{ epoch: 1, correct: [2, 2, 0] }, { epoch: 2, correct: [2, 2, 0] }], totals, 'accuracy')!.epoch).toBe(1);
    expect(bestEpoch(undefined, totals, 'accuracy')).toBeUndefined();
  });
});

/**
 * A method of three epochs that scores the target test set after each: all class 0 after epochs
 * 1 and 3, the source centroids after epoch 2, and predicts all class 0 at the end (its last epoch).
 */
const schema = defineSchema({});
const threeEpochs: Method<Record<string, never>> = {
  name: 'test-three-epochs', describe: 'three scored epochs (tests)', configSchema: schema,
  async fit(input): Promise<MethodResult> {
    const K = input.classNames.length;
    const zeros = (rows: number): Prediction => ({ probs: new Float32Array(rows * K).map((_, i) => (i % K === 0 ? 1 : 0)), labels: new Int32Array(rows) });
    const centroid = await centroidMethod.fit({ ...input, config: {} as never });
    const history = [];
    for (let epoch = 1; epoch <= 3; epoch++) {
      const ev = input.evalTarget!;
      const p = epoch === 2 ? await centroid.predict(ev.features) : zeros(ev.features.rows);
      history.push({ epoch, step: epoch, lr: 0, losses: {}, evalAccuracy: ev.analysis.accuracy(p.labels) });
    }
    centroid.dispose();
    return { predict: async (f) => zeros(f.rows), history, state: async () => ({ method: 'test-three-epochs', config: {}, tensors: {}, meta: {} }), dispose: () => {} };
  },
};

describe('the runner keeps each epoch\'s test scores', () => {
  let tmp: string;
  beforeAll(async () => { tmp = await mkdtemp(path.join(os.tmpdir(), 'bench-epochs-')); });
  afterAll(async () => { await rm(tmp, { recursive: true, force: true }); });

  it('records one score per epoch, the last equal to the final predictions, and the best epoch in results.csv', async () => {
    registerMethod(threeEpochs);
    registerTinyDataset('bench-epochs', ['one', 'two'], ['red', 'green', 'blue']);
    const data = path.join(tmp, 'data');
    await writeTinyImages(data, ['one', 'two'], ['red', 'green', 'blue'], 4);
    const model = await writeRandomClip(path.join(tmp, 'clip'));
    const out = path.join(tmp, 'results');
    await runSuite({
      suite: { name: 'tiny', model, seeds: [1], datasets: [{ dataset: 'bench-epochs', root: data }] }, resultsDir: out, cacheDir: path.join(tmp, 'cache'),
      methods: [threeEpochs.name], tasks: ['one-two'], backend: await selectBackend('cpu'), log: createLogger({ level: 'warn', sink: () => {} }), print: () => {},
    });
    const [rec] = [...(await readRecords(path.join(out, 'tiny'))).values()];
    expect(rec!.epochs!.map((e) => e.epoch)).toEqual([1, 2, 3]);
    const totals = rec!.result.perClass.map((c) => c.total);
    expect(totals).toEqual([4, 4, 4]);
    // all class 0: only class 0's images are right
    expect(rec!.epochs![0]!.correct).toEqual([4, 0, 0]);
    expect(rec!.epochs![2]!.correct).toEqual(rec!.result.perClass.map((c) => c.correct));
    const [row] = parseResultsCsv(readFileSync(path.join(out, 'tiny', 'results.csv'), 'utf8'));
    const byEpoch = rec!.epochs!.map((e) => 100 * e.correct.reduce((a, b) => a + b, 0) / 12);
    expect(row!.value).toBeCloseTo(100 / 3, 10);
    expect(row!.epochs).toBe(3);
    expect(row!.bestValue).toBeCloseTo(Math.max(...byEpoch), 10);
    expect(row!.bestEpoch).toBe(byEpoch.indexOf(Math.max(...byEpoch)) + 1);
  });
});
