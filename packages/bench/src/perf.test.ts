import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PERF_END, PERF_START, ratioTable, replaceSection } from './perf.js';
import { findTorchPython } from './perf/step.bench.js';

const data = {
  suite: 'dampl-step',
  date: '2026-11-27T14:00:00.000Z',
  commit: 'abcdef1234567',
  machine: {
    cpu: 'Some CPU', cpus: 2, memoryGiB: 24, loadAverage: 0.5, node: 'v20', tfjs: '4.22.0', pytorch: '1.13, 2 threads',
    kernels: 'avx512', peak: { gflops: 200, singleThreadGflops: 100, threads: 2 },
  },
  results: [
    { task: 'DAMPL step, context 77', backend: 'wasm', seconds: 6, pytorchSeconds: 24, ratio: 0.25, gflops: 150, pytorchGflops: 40, peakFraction: 0.75, pytorchPeakFraction: 0.2 },
    { task: 'pytorch anchor', backend: '-', seconds: null, pytorchSeconds: null, ratio: null, note: 'no torch' },
  ],
};

describe('the README ratio table', () => {
  it('renders every row with the machine, date and commit', () => {
    const t = ratioTable(data);
    expect(t).toContain('Measured 2026-11-27 on Some CPU × 2, 24 GiB (load average 0.5)');
    expect(t).toContain('commit abcdef1');
    expect(t).toContain('| DAMPL step, context 77 | wasm | 6.000 | 24.000 | 0.25 | 150 (75%) | 40 (20%) |');
    expect(t).toContain('| pytorch anchor | - | - | - | - (no torch) | - (-) | - (-) |');
    expect(t).toContain('fp32 FMA peak measured in the run: 200 GFLOP/s on 2 threads (100 on one), fused kernels avx512.');
  });

  it('replaces only the marked section, and says when there is none', () => {
    const before = `# Title\n\ntext\n\n${PERF_START}\nold table\n${PERF_END}\n\nafter\n`;
    const after = replaceSection(before, 'new table')!;
    expect(after).toBe(`# Title\n\ntext\n\n${PERF_START}\nnew table\n${PERF_END}\n\nafter\n`);
    expect(replaceSection(after, 'new table')).toBe(after);
    expect(replaceSection('# no markers\n', 'x')).toBeUndefined();
  });
});

describe('findTorchPython', () => {
  it('names what it tried and how to install torch when no interpreter has it', () => {
    const r = findTorchPython(undefined, ['/also/not/here', '/nonexistent/python3']);
    expect(r.python).toBeUndefined();
    expect(r.reason).toMatch(/\/also\/not\/here: ENOENT.*\/nonexistent\/python3: ENOENT.*apt-get install python3-torch/);
  });

  it('takes the first interpreter that imports torch, passing over those that fail', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'perf-python-'));
    try {
      // stand-ins for interpreters: one whose `import torch` fails, one that prints a version
      const fails = path.join(dir, 'no-torch');
      const works = path.join(dir, 'with-torch');
      writeFileSync(fails, '#!/bin/sh\necho "ModuleNotFoundError: No module named torch" >&2\nexit 1\n', { mode: 0o755 });
      writeFileSync(works, '#!/bin/sh\necho 1.13.0\n', { mode: 0o755 });
      expect(findTorchPython(undefined, ['/nonexistent/python3', fails, works])).toEqual({ python: works });
      const none = findTorchPython(undefined, [fails]);
      expect(none.python).toBeUndefined();
      expect(none.reason).toContain(`${fails}: ModuleNotFoundError: No module named torch`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
