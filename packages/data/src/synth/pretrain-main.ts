/**
 * `nx run data:pretrain-synth`: pretrains the synthetic world's CLIP (pretrain.ts) and saves it in
 * Hugging Face layout with its training log. Options are listed in pretrain.ts.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createLogger, describeBackend, selectBackend, workspaceRoot, type BackendChoice } from '@dampl/runtime';
import { saveClipHf } from '@dampl/clip';
import { SYNTH_MODEL_DIR, SYNTH_PRETRAIN_DEFAULTS, SYNTH_WORLD_DIR, pretrainSynthClip, type SynthPretrainConfig } from './pretrain.js';
import type { SynthDomain } from './styles.js';

async function main(argv: string[]): Promise<void> {
  const arg = (name: string) => { const i = argv.indexOf(`--${name}`); return i >= 0 ? argv[i + 1] : undefined; };
  const cfg: SynthPretrainConfig = structuredClone(SYNTH_PRETRAIN_DEFAULTS);
  if (arg('steps')) cfg.steps = Number(arg('steps'));
  if (arg('batch-size')) cfg.batchSize = Number(arg('batch-size'));
  if (arg('lr')) cfg.lr = Number(arg('lr'));
  if (arg('warmup')) cfg.warmupSteps = Number(arg('warmup'));
  if (arg('eval-every')) cfg.evalEvery = Number(arg('eval-every'));
  if (arg('short-caption')) cfg.shortCaption = Number(arg('short-caption'));
  if (arg('seed')) cfg.seed = Number(arg('seed'));
  if (arg('per-class')) cfg.perClass = Number(arg('per-class'));
  if (arg('domain-share')) {
    // --domain-share photo=1,clipart=0.6,painting=0.3,sketch=0.2 (domains left out keep their default)
    for (const kv of arg('domain-share')!.split(',')) {
      const [k, v] = kv.split('=');
      if (!(k! in cfg.domainShare) || !Number.isFinite(Number(v))) throw new Error(`--domain-share: bad entry "${kv}"`);
      cfg.domainShare[k as SynthDomain] = Number(v);
    }
  }
  if (arg('shift')) cfg.augment.shift = Number(arg('shift'));
  if (arg('min-scale')) cfg.augment.minScale = Number(arg('min-scale'));
  // tower sizes: --width sets both towers' widths, --layers both depths
  if (arg('width')) { cfg.model.vision.width = Number(arg('width')); cfg.model.text.width = Number(arg('width')); }
  if (arg('layers')) { cfg.model.vision.layers = Number(arg('layers')); cfg.model.text.layers = Number(arg('layers')); }
  if (arg('embed-dim')) cfg.model.embedDim = Number(arg('embed-dim'));
  const out = arg('out') ?? SYNTH_MODEL_DIR;
  const world = arg('world') ?? SYNTH_WORLD_DIR;
  const log = createLogger();
  const backend = await selectBackend((arg('backend') ?? 'auto') as BackendChoice);
  log.info(`backend ${describeBackend(backend)}`);
  const started = new Date();
  const r = await pretrainSynthClip(cfg, world, log, arg('init-from'));
  await mkdir(out, { recursive: true });
  const provenance = {
    made_by: 'nx run data:pretrain-synth (packages/data/src/synth/pretrain-main.ts)',
    config: { ...cfg, model: r.model.config },
    init_from: arg('init-from') ? path.relative(workspaceRoot, path.resolve(arg('init-from')!)) : null,
    zero_shot_adapt: r.zeroShot,
    linear_probe_adapt: r.linearProbe,
    backend: backend.name,
    backend_detail: describeBackend(backend),
    device: `${os.cpus()[0]?.model ?? 'cpu'} x${os.cpus().length}`,
    date: started.toISOString(),
  };
  await saveClipHf(out, r.model, { vocab: r.tokenizer.bpe, provenance });
  const earlier = arg('init-from') && existsSync(path.join(arg('init-from')!, 'train-log.txt'))
    ? [await readFile(path.join(arg('init-from')!, 'train-log.txt'), 'utf8')] : [];
  await writeFile(path.join(out, 'train-log.txt'), [...earlier, `# ${JSON.stringify(provenance)}`, ...r.log].join('\n') + '\n');
  log.info(`saved to ${out}`);
  r.model.dispose();
}

main(process.argv.slice(2)).catch((e) => {
  process.stderr.write(`${(e as Error).stack ?? e}\n`);
  process.exit(1);
});
