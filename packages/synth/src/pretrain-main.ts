/**
 * `nx run synth:pretrain`: pretrains the synthetic world's CLIP (pretrain.ts) and saves it in
 * Hugging Face layout with its training log. Every key of `synthPretrainSchema` is an option
 * (`--steps 100 --share-sketch 0.3`; `--help` lists them with their defaults and sources), besides
 * where to write and read.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import yargs from 'yargs';
import {
  BACKENDS, DamplError, createLogger, describeBackend, resolveConfig, selectBackend, workspaceRoot, type BackendChoice,
} from '@dampl/runtime';
import { saveClipHf } from '@dampl/clip';
import { SYNTH_MODEL_DIR, SYNTH_WORLD_DIR, pretrainSynthClip } from './pretrain.js';
import { synthPretrainConfig, synthPretrainSchema } from './pretrain-config.js';

const kebab = (k: string) => k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

async function main(argv: string[]): Promise<void> {
  let y = yargs(argv)
    .scriptName('pretrain-synth')
    .usage('$0 [options]\n\nPretrains the synthetic world\'s CLIP and saves it in Hugging Face layout.')
    .strict()
    .recommendCommands()
    .option('out', { type: 'string', default: SYNTH_MODEL_DIR, describe: 'model directory to write' })
    .option('world', { type: 'string', default: SYNTH_WORLD_DIR, describe: 'the generated world (made when absent)' })
    .option('init-from', { type: 'string', describe: 'continue from this model directory' })
    .option('backend', { choices: ['auto', ...BACKENDS], default: 'auto', describe: 'compute backend' });
  for (const [key, spec] of Object.entries(synthPretrainSchema)) {
    y = y.option(kebab(key), { type: 'number', describe: `${spec.doc} (default ${spec.default}: ${spec.source})` });
  }
  const a = (await y.parseAsync()) as Record<string, unknown>;
  const given = Object.fromEntries(Object.keys(synthPretrainSchema).filter((k) => a[k] !== undefined).map((k) => [k, a[k]]));
  const settings = resolveConfig(synthPretrainSchema, [{ source: 'command line', values: given }]);
  const cfg = synthPretrainConfig(settings);
  const out = a.out as string;
  const world = a.world as string;
  const initFrom = a['init-from'] as string | undefined;
  const log = createLogger();
  const backend = await selectBackend(a.backend as BackendChoice);
  log.info(`backend ${describeBackend(backend)}`);
  const started = new Date();
  const r = await pretrainSynthClip(cfg, world, log, initFrom);
  await mkdir(out, { recursive: true });
  const provenance = {
    made_by: 'nx run synth:pretrain (packages/synth/src/pretrain-main.ts)',
    config: { ...cfg, model: r.model.config },
    settings,
    init_from: initFrom ? path.relative(workspaceRoot, path.resolve(initFrom)) : null,
    zero_shot_adapt: r.zeroShot,
    linear_probe_adapt: r.linearProbe,
    backend: backend.name,
    backend_detail: describeBackend(backend),
    device: `${os.cpus()[0]?.model ?? 'cpu'} x${os.cpus().length}`,
    date: started.toISOString(),
  };
  await saveClipHf(out, r.model, { vocab: r.tokenizer.bpe, provenance });
  const earlier = initFrom && existsSync(path.join(initFrom, 'train-log.txt')) ? [await readFile(path.join(initFrom, 'train-log.txt'), 'utf8')] : [];
  await writeFile(path.join(out, 'train-log.txt'), [...earlier, `# ${JSON.stringify(provenance)}`, ...r.log].join('\n') + '\n');
  log.info(`saved to ${out}`);
  r.model.dispose();
}

main(process.argv.slice(2)).catch((e) => {
  process.stderr.write(e instanceof DamplError ? `error: ${e.message}\n` : `${(e as Error).stack ?? e}\n`);
  process.exit(1);
});
