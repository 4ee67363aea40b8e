import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SafetensorsFile, readSafetensors, toFloat32, toInt32, type SafeTensor } from '@dampl/runtime';
import { CLIP_REFERENCE_SOURCE, clipReferenceDir, fullTensors, referenceTokenIds, slimTensors } from './reference.js';

describe("the reference folder written from the committed copy", () => {
  it('has the golden and weight files with their names, dtypes and shapes', async () => {
    const clip = await clipReferenceDir();
    const vit = await SafetensorsFile.open(path.join(clip, 'vit-tiny/openai.safetensors'));
    expect(vit.entry('visual.conv1.weight')).toMatchObject({ dtype: 'F32', shape: [128, 3, 8, 8] });
    expect(vit.entry('token_embedding.weight')).toMatchObject({ dtype: 'F32', shape: [49408, 32] });
    expect(vit.entry('transformer.resblocks.0.attn.in_proj_weight')).toMatchObject({ shape: [96, 32] });
    await vit.close();
    const hf = await SafetensorsFile.open(path.join(clip, 'vit-tiny/hf/model.safetensors'));
    expect(hf.entry('vision_model.embeddings.patch_embedding.weight').shape).toEqual([128, 3, 8, 8]);
    expect(hf.entry('text_model.embeddings.token_embedding.weight').shape).toEqual([49408, 32]);
    await hf.close();
    const golden = await SafetensorsFile.open(path.join(clip, 'vit-tiny/golden.safetensors'));
    expect(golden.entry('images')).toMatchObject({ dtype: 'F32' });
    expect(golden.entry('images').shape.slice(1)).toEqual([3, 32, 32]);
    expect(golden.entry('tokens')).toMatchObject({ dtype: 'I32', shape: [6, 77] });
    expect(golden.entry('prompt_embeddings').shape.slice(1)).toEqual([77, 32]);
    const feats = await golden.read('image_features');
    expect(feats.shape[1]).toBe(24);
    expect(toFloat32(feats).every(Number.isFinite)).toBe(true);
    await golden.close();
    const rn = await SafetensorsFile.open(path.join(clip, 'rn-tiny/openai.safetensors'));
    expect(rn.names.some((n) => n.startsWith('visual.attnpool.'))).toBe(true);
    await rn.close();
  });

  it('keeps every token row the goldens use and zeros the rest', async () => {
    const ids = await referenceTokenIds(CLIP_REFERENCE_SOURCE);
    expect(ids).toContain(49406);
    expect(ids).toContain(49407);
    const { tensors, metadata } = await readSafetensors(path.join(CLIP_REFERENCE_SOURCE, 'vit-tiny/openai.slim.safetensors'));
    expect(Array.from(toInt32(tensors.get('token_embedding.weight.ids')!))).toEqual(ids);
    const full = fullTensors(tensors, metadata).get('token_embedding.weight')!;
    const rows = toFloat32(tensors.get('token_embedding.weight.rows')!);
    const data = toFloat32(full);
    ids.forEach((id, i) => expect(Array.from(data.subarray(id * 32, id * 32 + 32))).toEqual(Array.from(rows.subarray(i * 32, i * 32 + 32))));
    expect(Array.from(data.subarray(5 * 32, 6 * 32)).every((v) => v === 0)).toBe(!ids.includes(5));
  });

  it('slims and restores a checkpoint exactly on the rows kept', () => {
    const e: SafeTensor = { dtype: 'F32', shape: [4, 2], data: Float32Array.from([0, 1, 2, 3, 4, 5, 6, 7]) };
    const other: SafeTensor = { dtype: 'F32', shape: [1], data: Float32Array.from([9]) };
    const slim = slimTensors(new Map([['e', e], ['b', other]]), 'e', [1, 3]);
    expect(slim.metadata).toEqual({ slim: 'e', vocab: '4' });
    expect(Array.from(toFloat32(slim.tensors.get('e.rows')!))).toEqual([2, 3, 6, 7]);
    const back = fullTensors(slim.tensors, slim.metadata);
    expect(Array.from(toFloat32(back.get('e')!))).toEqual([0, 0, 2, 3, 0, 0, 6, 7]);
    expect(back.get('b')).toBe(other);
    expect([...back.keys()].sort()).toEqual(['b', 'e']);
  });
});
