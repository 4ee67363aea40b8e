/**
 * Per-stage measurements of the rehearsal: wall and CPU seconds, the process's peak resident set
 * over the stage (VmHWM of /proc/self/status, reset at the stage's start through
 * /proc/self/clear_refs where Linux allows it, else the process's peak so far) and the tfjs
 * backend's memory (tf.memory(): bytes and tensors held at the end, and the largest seen when
 * sampled during the stage).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';

export interface StageRecord {
  stage: string;
  seconds: number;
  cpuSeconds: number;
  /** Peak resident set over the stage, bytes. */
  peakRssBytes: number;
  /** Whether the peak is the stage's own (VmHWM reset at its start) or the process's so far. */
  peakRssScope: 'stage' | 'process';
  /** tf.memory() at the end of the stage, and the largest numBytes sampled during it. */
  backend: { numBytes: number; numTensors: number; peakNumBytes: number };
  /** Stage-specific figures (images, steps, bytes). */
  detail: Record<string, unknown>;
}

function statusKiB(field: string): number | undefined {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync('/proc/self/status', 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** Resets the peak resident set to the current one; false where the kernel does not allow it. */
function resetPeakRss(): boolean {
  try {
    writeFileSync('/proc/self/clear_refs', '5');
    return true;
  } catch {
    return false;
  }
}

/** Peak resident set in bytes (VmHWM; resourceUsage's maxRSS where /proc is absent). */
export function peakRss(): number {
  const kib = statusKiB('VmHWM');
  return (kib ?? process.resourceUsage().maxRSS) * 1024;
}

/** Runs `fn` as one stage, sampling tf.memory() every `sampleMs` ms. */
export async function stage<T>(name: string, fn: (detail: Record<string, unknown>) => Promise<T>, sampleMs = 250): Promise<{ value: T; record: StageRecord }> {
  const scoped = resetPeakRss();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let peakNumBytes = tf.memory().numBytes;
  const timer = setInterval(() => { peakNumBytes = Math.max(peakNumBytes, tf.memory().numBytes); }, sampleMs);
  timer.unref();
  const detail: Record<string, unknown> = {};
  try {
    const value = await fn(detail);
    const cpu = process.cpuUsage(cpu0);
    const mem = tf.memory();
    peakNumBytes = Math.max(peakNumBytes, mem.numBytes);
    return {
      value,
      record: {
        stage: name,
        seconds: (performance.now() - t0) / 1000,
        cpuSeconds: (cpu.user + cpu.system) / 1e6,
        peakRssBytes: peakRss(),
        peakRssScope: scoped ? 'stage' : 'process',
        backend: { numBytes: mem.numBytes, numTensors: mem.numTensors, peakNumBytes },
        detail,
      },
    };
  } finally {
    clearInterval(timer);
  }
}
