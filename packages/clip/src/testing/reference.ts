/**
 * OpenAI's CLIP reference vectors for the tests, from the copy committed in packages/clip/reference
 * (see its README): the tiny models' outputs made by openai/CLIP's own code, and the models
 * themselves in a slim form. A tiny model's token embedding is 49408 x 32 floats (6.3 MB of its
 * 8 MB) of which the references use 41 rows; the slim file keeps those rows and their ids, and
 * `clipReferenceDir` writes the full-size checkpoints back (the other rows zero) into a cache
 * folder laid out as the original reference folder, so tests load real files of the real sizes.
 *
 *   const ref = await clipReferenceDir();   // <ref>/vit-tiny/openai.safetensors, <ref>/vit-tiny/hf/, ...
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { cp, mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { readSafetensors, toFloat32, toInt32, workspaceRoot, writeSafetensors, type SafeTensor } from '@dampl/runtime';
import { CLIP_BPE_VOCAB } from '../token-batch.js';

/** The committed copy. */
export const CLIP_REFERENCE_SOURCE = path.join(workspaceRoot, 'packages', 'clip', 'reference');

/** The checkpoints kept slim, and the name of each one's token embedding. */
export const SLIM_CHECKPOINTS: readonly { file: string; embedding: string }[] = [
  { file: 'vit-tiny/openai.safetensors', embedding: 'token_embedding.weight' },
  { file: 'vit-tiny/hf/model.safetensors', embedding: 'text_model.embeddings.token_embedding.weight' },
  { file: 'rn-tiny/openai.safetensors', embedding: 'token_embedding.weight' },
];

const slimName = (file: string) => file.replace(/\.safetensors$/, '.slim.safetensors');

/** Token ids the reference tests look up: every id of the golden token rows, and 'a' (320). */
export async function referenceTokenIds(dir: string): Promise<number[]> {
  const ids = new Set<number>([320]);
  for (const set of ['vit-tiny', 'rn-tiny']) {
    const { tensors } = await readSafetensors(path.join(dir, set, 'golden.safetensors'));
    for (const name of ['tokens', 'prompt_tokens']) for (const id of toInt32(tensors.get(name)!)) ids.add(id);
  }
  return [...ids].sort((a, b) => a - b);
}

/**
 * A checkpoint's tensors with the token embedding `embedding` [V, W] cut to the rows `ids`:
 * `<embedding>.rows` [n, W], `<embedding>.ids` [n] and the vocabulary size in the metadata.
 */
export function slimTensors(tensors: ReadonlyMap<string, SafeTensor>, embedding: string, ids: readonly number[]): { tensors: Map<string, SafeTensor>; metadata: Record<string, string> } {
  const out = new Map(tensors);
  const e = tensors.get(embedding)!;
  const [V, W] = e.shape as [number, number];
  const all = toFloat32(e);
  const rows = new Float32Array(ids.length * W);
  ids.forEach((id, i) => rows.set(all.subarray(id * W, (id + 1) * W), i * W));
  out.delete(embedding);
  out.set(`${embedding}.rows`, { dtype: 'F32', shape: [ids.length, W], data: rows });
  out.set(`${embedding}.ids`, { dtype: 'I32', shape: [ids.length], data: Int32Array.from(ids) });
  return { tensors: out, metadata: { slim: embedding, vocab: String(V) } };
}

/** The full checkpoint of a slim one: the embedding's other rows are zero. */
export function fullTensors(tensors: ReadonlyMap<string, SafeTensor>, metadata: Record<string, string>): Map<string, SafeTensor> {
  const name = metadata.slim;
  if (!name) return new Map(tensors);
  const rows = tensors.get(`${name}.rows`)!;
  const ids = toInt32(tensors.get(`${name}.ids`)!);
  const W = rows.shape[1]!;
  const V = Number(metadata.vocab);
  const full = new Float32Array(V * W);
  const r = toFloat32(rows);
  ids.forEach((id, i) => full.set(r.subarray(i * W, (i + 1) * W), id * W));
  const out = new Map([...tensors].filter(([k]) => k !== `${name}.rows` && k !== `${name}.ids`));
  out.set(name, { dtype: 'F32', shape: [V, W], data: full });
  return out;
}

async function listFiles(dir: string, base = ''): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(path.join(dir, base), { withFileTypes: true })) {
    const rel = path.join(base, e.name);
    if (e.isDirectory()) out.push(...await listFiles(dir, rel));
    else out.push(rel);
  }
  return out.sort();
}

let ready: Promise<string> | undefined;

/**
 * A folder laid out as OpenAI's reference folder (shared/reference/clip): the goldens, the full-size
 * checkpoints and CLIP's BPE vocabulary, written once per content into the system's temporary folder.
 */
export function clipReferenceDir(): Promise<string> {
  ready ??= (async () => {
    const files = await listFiles(CLIP_REFERENCE_SOURCE);
    const hash = createHash('sha256');
    for (const f of files) hash.update(f).update(readFileSync(path.join(CLIP_REFERENCE_SOURCE, f)));
    const dir = path.join(os.tmpdir(), `dampl-clip-reference-${hash.digest('hex').slice(0, 16)}`);
    if (existsSync(path.join(dir, 'complete'))) return dir;
    // written beside, then renamed into place: test files running side by side may race here
    const tmp = `${dir}.${process.pid}.${Date.now()}`;
    await mkdir(tmp, { recursive: true });
    for (const f of files) {
      const dest = path.join(tmp, f.replace(/\.slim\.safetensors$/, '.safetensors'));
      await mkdir(path.dirname(dest), { recursive: true });
      if (f.endsWith('.slim.safetensors')) {
        const { tensors, metadata } = await readSafetensors(path.join(CLIP_REFERENCE_SOURCE, f));
        const { slim: _s, vocab: _v, ...rest } = metadata;
        await writeSafetensors(dest, fullTensors(tensors, metadata), rest);
      } else {
        await cp(path.join(CLIP_REFERENCE_SOURCE, f), dest);
      }
    }
    await cp(CLIP_BPE_VOCAB, path.join(tmp, path.basename(CLIP_BPE_VOCAB)));
    await writeFile(path.join(tmp, 'complete'), 'written by clipReferenceDir (@dampl/clip/testing)\n');
    try {
      await rename(tmp, dir);
    } catch {
      await rm(tmp, { recursive: true, force: true }); // another process finished first
    }
    return dir;
  })();
  return ready;
}

/**
 * Writes the committed copy from OpenAI's reference folder `sharedClip` (shared/reference/clip):
 * the goldens and READMEs as they are, the three checkpoints slim.
 */
export async function writeSlimReference(sharedClip: string, out = CLIP_REFERENCE_SOURCE): Promise<void> {
  const ids = await referenceTokenIds(sharedClip);
  for (const f of ['tokenizer/golden.json', 'vit-tiny/golden.json', 'vit-tiny/golden.safetensors', 'vit-tiny/hf/config.json', 'rn-tiny/golden.json', 'rn-tiny/golden.safetensors']) {
    await mkdir(path.dirname(path.join(out, f)), { recursive: true });
    await cp(path.join(sharedClip, f), path.join(out, f));
  }
  for (const c of SLIM_CHECKPOINTS) {
    const { tensors, metadata } = await readSafetensors(path.join(sharedClip, c.file));
    const slim = slimTensors(tensors, c.embedding, ids);
    await writeSafetensors(path.join(out, slimName(c.file)), slim.tensors, { ...metadata, ...slim.metadata });
  }
}
