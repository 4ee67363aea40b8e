/**
 * Checkpoints on disk.
 *
 * A method state (what `MethodResult.state()` returns) is a directory of two files:
 *
 *   state.safetensors   the learned tensors (F32), metadata { method, configHash }
 *   method.json         { method, config, configHash, meta }
 *
 * A training checkpoint root holds one directory per saved epoch plus a pointer:
 *
 *   <root>/epoch-0003/{state.safetensors, method.json, optimizer.safetensors, trainer.json}
 *   <root>/latest.json  { "epoch": 3, "dir": "epoch-0003" }
 *
 * Every file is written atomically (temporary name, then rename), and latest.json only after
 * the epoch's directory is complete, so a crash or a failed run (e.g. a NaN loss) always
 * leaves the previous checkpoint intact. Older epoch directories beyond `keep` are removed
 * after the pointer moves.
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { atomicWriteFile, DamplError, readSafetensors, toFloat32, writeSafetensors, type SafeTensor } from '@dampl/runtime';
import { hashConfig } from '@dampl/runtime';
import type { EpochRecord, MethodState } from './methods.js';

const STATE_FILE = 'state.safetensors';
const METHOD_FILE = 'method.json';
const OPTIMIZER_FILE = 'optimizer.safetensors';
const TRAINER_FILE = 'trainer.json';
const LATEST_FILE = 'latest.json';

/** Everything a trainer needs to continue exactly where it stopped. */
export interface TrainerState {
  /** Epochs completed. */
  epoch: number;
  /** Optimizer steps taken. */
  step: number;
  seed: number;
  configHash: string;
  /** Generator states by stream name. */
  rng: Record<string, number[]>;
  optimizer: { name: string; steps: number };
  history: EpochRecord[];
}

export async function saveMethodState(dir: string, state: MethodState): Promise<void> {
  await mkdir(dir, { recursive: true });
  const configHash = hashConfig(state.config);
  await writeSafetensors(path.join(dir, STATE_FILE), state.tensors, { method: state.method, configHash });
  await atomicWriteFile(path.join(dir, METHOD_FILE), JSON.stringify({ method: state.method, config: state.config, configHash, meta: state.meta }, null, 2) + '\n');
}

/**
 * Reads a method state from a state directory, an epoch directory or a checkpoint root (its
 * latest epoch).
 */
export async function loadMethodState(dir: string): Promise<MethodState> {
  const where = await resolveStateDir(dir);
  const json = JSON.parse(await readFile(path.join(where, METHOD_FILE), 'utf8')) as { method: string; config: unknown; meta: Record<string, unknown> };
  const { tensors } = await readSafetensors(path.join(where, STATE_FILE));
  return { method: json.method, config: json.config, meta: json.meta ?? {}, tensors: Object.fromEntries(tensors) };
}

/** The directory holding state.safetensors: `dir` itself, or the epoch directory latest.json names. */
async function resolveStateDir(dir: string): Promise<string> {
  const latest = path.join(dir, LATEST_FILE);
  if (existsSync(latest)) {
    const { dir: sub } = JSON.parse(await readFile(latest, 'utf8')) as { dir: string };
    return path.join(dir, sub);
  }
  if (existsSync(path.join(dir, STATE_FILE))) return dir;
  throw new DamplError(`${dir} holds no checkpoint (neither ${LATEST_FILE} nor ${STATE_FILE})`,
    'point to the checkpoint directory a run wrote (its checkpoint.dir)');
}

export interface Checkpoint {
  dir: string;
  method: MethodState;
  optimizer: Map<string, Float32Array>;
  trainer: TrainerState;
}

/** Writes epoch `trainer.epoch`'s checkpoint under `root`, moves latest.json, prunes to `keep`. */
export async function writeCheckpoint(root: string, ckpt: { method: MethodState; optimizer: Map<string, SafeTensor>; trainer: TrainerState }, keep = 1): Promise<string> {
  const name = `epoch-${String(ckpt.trainer.epoch).padStart(4, '0')}`;
  const dir = path.join(root, name);
  await saveMethodState(dir, ckpt.method);
  await writeSafetensors(path.join(dir, OPTIMIZER_FILE), ckpt.optimizer, { optimizer: ckpt.trainer.optimizer.name });
  await atomicWriteFile(path.join(dir, TRAINER_FILE), JSON.stringify(ckpt.trainer) + '\n');
  await atomicWriteFile(path.join(root, LATEST_FILE), JSON.stringify({ epoch: ckpt.trainer.epoch, dir: name }) + '\n');
  const old = (await readdir(root)).filter((d) => /^epoch-\d+$/.test(d)).sort().reverse().slice(Math.max(1, keep));
  for (const d of old) await rm(path.join(root, d), { recursive: true, force: true });
  return dir;
}

export async function readCheckpoint(dir: string): Promise<Checkpoint> {
  const where = await resolveStateDir(dir);
  if (!existsSync(path.join(where, TRAINER_FILE))) {
    throw new DamplError(`${where} is a saved method state, not a training checkpoint (no ${TRAINER_FILE})`, 'resume from a directory written through the checkpoint option');
  }
  const method = await loadMethodState(where);
  const trainer = JSON.parse(await readFile(path.join(where, TRAINER_FILE), 'utf8')) as TrainerState;
  const { tensors } = await readSafetensors(path.join(where, OPTIMIZER_FILE));
  const optimizer = new Map([...tensors].map(([k, t]) => [k, toFloat32(t)]));
  return { dir: where, method, optimizer, trainer };
}
