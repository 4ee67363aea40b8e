/**
 * Where a measurement was made: the checkout's commit and the machine. Shared by the benchmark
 * suites' result files (results/perf/*.json) and the bench's run records.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { workspaceRoot } from './fs.js';

function git(args: string[]): string | undefined {
  try {
    return execFileSync('git', args, { cwd: workspaceRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return undefined;
  }
}

/** Where a bundle of the code (the GPU kit) records the commit it was built from. */
const COMMIT_FILE = 'COMMIT';

/**
 * The checked-out commit, `-dirty` when tracked files other than results and Markdown (what the
 * bench and perf runs themselves write) are modified; outside git, the commit a bundle was built
 * from (its COMMIT file), else 'unknown'.
 */
export function gitCommit(): string {
  const head = git(['rev-parse', 'HEAD']);
  if (!head) {
    const f = path.join(workspaceRoot, COMMIT_FILE);
    return existsSync(f) ? readFileSync(f, 'utf8').trim() : 'unknown';
  }
  const status = git(['status', '--porcelain', '--untracked-files=no', '--', '.', ':(exclude)results', ':(exclude)*.md']);
  return status ? `${head}-dirty` : head;
}

export interface MachineRecord {
  os: string;
  cpu: string;
  cpus: number;
  memoryGiB: number;
  /** 1-minute load average when the record was made: other work on the machine slows every number. */
  loadAverage: number;
  node: string;
  tfjs: string;
}

export function machineRecord(): MachineRecord {
  const cpus = os.cpus();
  return {
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cpus: cpus.length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    loadAverage: Number(os.loadavg()[0]!.toFixed(2)),
    node: process.version,
    tfjs: tf.version_core,
  };
}
