/**
 * Where a measurement was made: the checkout's commit and the machine. Shared by the benchmark
 * suites' result files (results/perf/*.json) and the bench's run records.
 */
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
import { workspaceRoot } from './fs.js';

function git(args: string[]): string | undefined {
  try {
    return execFileSync('git', args, { cwd: workspaceRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return undefined;
  }
}

/**
 * The checked-out commit, `-dirty` when tracked files other than results and Markdown (what the
 * bench and perf runs themselves write) are modified; 'unknown' outside git.
 */
export function gitCommit(): string {
  const head = git(['rev-parse', 'HEAD']);
  if (!head) return 'unknown';
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
