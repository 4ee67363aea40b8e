/**
 * A random-weights ViT-B/16 in Hugging Face layout, with CLIP's real BPE tokenizer (the merges
 * file committed in packages/clip/assets), served from a local hub mirror on 127.0.0.1: the bench
 * then resolves `openai/clip-vit-base-patch16` through its real download path (HF_ENDPOINT,
 * `<endpoint>/<id>/resolve/main/<file>`, the hub cache layout) and loads the 600 MB safetensors.
 */
import { createReadStream, existsSync, statSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { CLIP_BPE_VOCAB, HF_MODEL_FILES, createClip, randomClipWeights, readBpeVocab, saveClipHf, type ClipConfig } from '@dampl/clip';

/** openai/clip-vit-base-patch16's shapes (its config.json). */
const VIT_B16: ClipConfig = {
  embedDim: 512,
  vision: { kind: 'vit', imageSize: 224, patchSize: 16, width: 768, layers: 12, heads: 12 },
  text: { contextLength: 77, vocabSize: 49408, width: 512, heads: 8, layers: 12 },
};

const STAMP = 'rehearsal.json';

/** Writes the model directory once (seeded; kept while the stamp matches). */
export async function writeRandomVitB16(dir: string, seed = 0): Promise<{ dir: string; bytes: number; written: boolean }> {
  const stamp = path.join(dir, STAMP);
  const want = JSON.stringify({ config: VIT_B16, seed });
  const done = existsSync(stamp) && (await readFile(stamp, 'utf8')) === want && existsSync(path.join(dir, 'model.safetensors'));
  if (!done) {
    const model = await createClip({ config: VIT_B16, weights: randomClipWeights(VIT_B16, seed, 0.02) });
    try {
      await saveClipHf(dir, model, {
        vocab: await readBpeVocab(CLIP_BPE_VOCAB),
        provenance: { made: 'random weights (normal, std 0.02) for the rehearsal at true scale; not a trained CLIP', seed },
      });
    } finally {
      model.dispose();
    }
    await writeFile(stamp, want);
  }
  const bytes = HF_MODEL_FILES.reduce((s, f) => s + (existsSync(path.join(dir, f)) ? statSync(path.join(dir, f)).size : 0), 0);
  return { dir, bytes, written: !done };
}

export interface HubMirror {
  endpoint: string;
  /** Files served, with their bytes. */
  served: { file: string; bytes: number }[];
  close(): Promise<void>;
}

/** Serves `dir` as hub model `id` at revision main on 127.0.0.1 (an ephemeral port). */
export async function serveHubMirror(id: string, dir: string, commit = 'a'.repeat(40)): Promise<HubMirror> {
  const served: HubMirror['served'] = [];
  const prefix = `/${id}/resolve/main/`;
  const server: Server = createServer((req, res) => {
    const url = decodeURIComponent((req.url ?? '').split('?')[0]!);
    const file = url.startsWith(prefix) ? url.slice(prefix.length) : '';
    const full = path.join(dir, file);
    if (!file || file.includes('/') || !existsSync(full)) {
      res.writeHead(404).end('not found');
      return;
    }
    const size = statSync(full).size;
    served.push({ file, bytes: size });
    res.writeHead(200, { 'content-length': String(size), 'x-repo-commit': commit, 'content-type': 'application/octet-stream' });
    createReadStream(full).pipe(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    served,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
