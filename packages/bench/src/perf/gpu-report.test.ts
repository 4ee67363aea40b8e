import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resultsCsv, type ResultRow } from '../results.js';
import { gpuReport, synthLines } from './gpu-report.js';
import { gpuShapes, torchSpec, type GpuMeasure } from './gpu.js';

let dir: string;
beforeAll(async () => { dir = await mkdtemp(path.join(os.tmpdir(), 'gpu-report-')); });
afterAll(async () => { await rm(dir, { recursive: true, force: true }); });

const row = (method: string, task: string, value: number): ResultRow => ({
  suite: 'synth', dataset: 'synth', task, method, seed: 1, metric: 'accuracy', value, bestValue: null, bestEpoch: null, epochs: 20, accuracy: value, meanClassAccuracy: value,
  nTest: 480, model: 'm', backbone: '', weightsHash: 'w', configHash: 'c', fitSeconds: 2, backend: 'webgpu', commit: 'x', date: 'd', key: `${method}${task}`,
});

describe('the GPU kit report', () => {
  it('sets each timing beside PyTorch in every precision, ratio = project / PyTorch', async () => {
    const shapes = gpuShapes(false);
    const measure: GpuMeasure = {
      format: 'dampl-gpu-measure', date: '2026-12-02T00:00:00Z', commit: 'abcdef1234', quick: false, backend: 'webgpu: webgpu (nvidia hopper NVIDIA H200)',
      model: { layout: 'huggingface', config: shapes.clip, tokenizer: 'bpe', loadSeconds: 3 },
      images: [{ batch: 64, seconds: [0.3, 0.2, 0.25], imagesPerSecond: 256 }, { batch: 256, seconds: [], imagesPerSecond: null, error: 'buffer too large' }],
      step: { shape: { classes: 65, domains: 2, nCtx: 16, nDomainCtx: 16, batchSource: 32, batchTarget: 32, width: 512, layers: 12, heads: 8 }, prompts: 'cut after EOT at 37', length: 37, seconds: [0.5, 0.4], mean: 0.45 },
    };
    await writeFile(path.join(dir, 'webgpu.json'), JSON.stringify(measure));
    await writeFile(path.join(dir, 'torch.json'), JSON.stringify({
      torch: '2.5.0', device: 'cuda', device_name: 'NVIDIA H200', cuda: '12.4', runs: [
        { kind: 'images', precision: 'fp32', batch: 64, times: [0.1, 0.125, 0.2] },
        { kind: 'images', precision: 'bf16', batch: 64, times: [0.05] },
        { kind: 'step', precision: 'fp32', length: 77, times: [0.9, 0.9] },
        { kind: 'step', precision: 'fp32', length: 37, times: [0.5] },
      ],
    }));
    await mkdir(path.join(dir, 'results', 'synth'), { recursive: true });
    await writeFile(path.join(dir, 'results', 'synth', 'results.csv'), resultsCsv([row('dampl', 'ph-sk', 70), row('dampl', 'cl-pa', 66)]));
    const reference = path.join(dir, 'reference.csv');
    await writeFile(reference, resultsCsv([row('dampl', 'ph-sk', 69), row('dampl', 'cl-pa', 66), row('dampl', 'sk-pa', 10)]));

    const r = await gpuReport(dir, reference);
    const images = r.rows.find((x) => x.task.includes('batch 64'))!;
    expect(images.project).toBe(0.25); // median seconds per batch
    expect(images.pytorch).toEqual({ fp32: 0.125, bf16: 0.05 });
    expect(images.ratio.fp32).toBeCloseTo(2, 12);
    expect(images.ratio.bf16).toBeCloseTo(5, 12);
    expect(r.rows.find((x) => x.task.includes('batch 256'))!.note).toBe('buffer too large');
    const [full, cut] = r.rows.filter((x) => x.task.startsWith('DAMPL step'));
    expect(full!.task).toMatch(/context 77 \(as DAPL's trainer runs it\)/);
    expect(full!.ratio.fp32).toBeCloseTo(0.5, 12);
    expect(cut!.ratio.fp32).toBeCloseTo(0.9, 12);
    expect(r.device.pytorch).toBe('PyTorch 2.5.0 on NVIDIA H200, CUDA 12.4');
    expect(r.synth!.lines).toEqual([{ method: 'dampl', cells: 2, accuracy: 68, reference: 67.5, difference: 0.5, fitSeconds: 4 }]);
    const md = await readFile(path.join(dir, 'gpu.md'), 'utf8');
    expect(md).toContain('| ViT-B/16 image tower, batch 64 (s per batch) | 0.2500 | 256.0 | 0.1250 | 2.00 | 0.0500 | 5.00 | - | - |  |');
    expect(md).toContain('| dampl | 2 | 68.0 | 67.5 | +0.5 | 4.0 |');
    expect(md).not.toContain('Smoke run');
  });

  it('compares only cells the reference has, and names a smoke run as one', () => {
    expect(synthLines([row('coop', 'ph-sk', 50)], [])).toEqual([{ method: 'coop', cells: 1, accuracy: 50, reference: null, difference: null, fitSeconds: 2 }]);
    const quick = gpuShapes(true);
    expect(quick.clip.vision.width).toBeLessThan(768);
    const spec = torchSpec(quick, [36, 35], 38);
    expect(spec).toMatchObject({ device: 'auto', precisions: ['fp32', 'bf16', 'fp16'], context_lengths: [77, 38], image_batches: quick.imageBatches, classes: 65 });
  });
});
