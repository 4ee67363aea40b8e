import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, vi } from 'vitest';
import { main } from './cli.js';
import { doctor, doctorLines } from './commands/doctor.js';

const DAMPL = fileURLToPath(new URL('../bin/dampl.js', import.meta.url));
const LAVAPIPE = {
  vendor: 'mesa', architecture: 'software', device: 'llvmpipe-llvm-15-0-6-256-bits-', description: 'llvmpipe: Mesa 25.0.7-2~bpo12+1 (LLVM 15.0.6) 0.0.1', isFallbackAdapter: true,
};
const DAWN_LINES = [
  'Warning: maxDynamicUniformBuffersPerPipelineLayout artificially reduced from 1000000 to 16 to fit dynamic offset allocation limit.',
  'Warning: maxDynamicStorageBuffersPerPipelineLayout artificially reduced from 1000000 to 16 to fit dynamic offset allocation limit.',
];
const notInstalled = async (pkg: string) => { throw Object.assign(new Error(`Cannot find package '${pkg}'`), { code: 'ERR_MODULE_NOT_FOUND' }); };

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((s) => { out.push(String(s)); return true; });
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((s) => { err.push(String(s)); return true; });
  return { out, err, restore: () => { o.mockRestore(); e.mockRestore(); } };
}

describe('dampl command line', () => {
  it('doctor reports node, backends, the chosen one and the reference folder', async () => {
    const r = await doctor('auto');
    expect(r.node.ok).toBe(true);
    expect(r.backends.map((b) => b.name)).toEqual(['tensorflow', 'webgpu', 'wasm', 'cpu']);
    expect(r.backends.find((b) => b.name === 'cpu')!.ok).toBe(true);
    const chosen = 'name' in r.chosen ? r.chosen.name : undefined;
    expect(r.backends.find((b) => b.name === chosen)?.ok).toBe(true);
    // the kernels: the addon, the BLAS or the command that brings one, what it is worth, wasm's threads
    const lines = doctorLines(r);
    const blas = lines.find((l) => l.startsWith('  BLAS'))!;
    if (r.kernels.blas) expect(blas).toMatch(/^ {2}BLAS +ok +\S+ .* from \S+/);
    else expect(blas).toMatch(/^ {2}BLAS +no +.*(apt-get install libopenblas0-pthread|DAMPL_BLAS)/);
    expect(lines.find((l) => l.startsWith('  products'))).toMatch(/GFLOP\/s on tfjs-wasm's own kernel/);
    expect(r.kernels.wasmThreads).toBe(1);
  });

  it('doctor, with only lavapipe as a webgpu adapter, chooses a CPU backend and names lavapipe as skipped', async () => {
    const r = await doctor('auto', { importPackage: notInstalled, webgpuProbe: () => ({ adapter: LAVAPIPE, messages: DAWN_LINES }) });
    expect('name' in r.chosen && r.chosen.name).toBe('wasm');
    const lines = doctorLines(r);
    const webgpu = lines.find((l) => /^ {2}webgpu/.test(l))!;
    expect(webgpu).toMatch(/^ {2}webgpu +skip +webgpu \(mesa software llvmpipe.*skipped by auto, the software adapter lavapipe/);
    // Dawn's two messages, as one line under the row
    expect(lines[lines.indexOf(webgpu) + 1]).toMatch(/^ +Dawn: 2 messages: maxDynamicUniformBuffers.*; maxDynamicStorageBuffers/);
    expect(lines.find((l) => l.startsWith('chosen'))).toMatch(/wasm: .*not webgpu: .*software adapter lavapipe/);
    // forced, webgpu is reported from the probe and not started in this process
    const forced = await doctor('webgpu', { importPackage: notInstalled, webgpuProbe: () => ({ adapter: LAVAPIPE, messages: DAWN_LINES }) });
    expect('name' in forced.chosen && forced.chosen.name).toBe('webgpu');
  });

  it("prints no Dawn or Vulkan-loader message from a command that does not use webgpu", () => {
    for (const args of [['doctor'], ['bench', 'run', '--dry-run', '--methods', 'zero-shot', '--tasks', 'ph-cl', '--results', os.tmpdir()]]) {
      // the command as a user runs it: outside vitest (whose module loader the CLI does not need)
      const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('VITEST')));
      const r = spawnSync(process.execPath, [DAMPL, ...args], { encoding: 'utf8', env: { ...env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? os.tmpdir() } });
      expect(r.status, r.stderr).toBe(0);
      const lines = `${r.stdout}\n${r.stderr}`.split('\n');
      expect(lines.filter((l) => /^Warning: |^\s+at operator\(\)/.test(l))).toEqual([]);
      // doctor summarises them in its one 'Dawn:' line; other commands say nothing of them
      const dawn = lines.filter((l) => /Couldn't load Vulkan|artificially reduced from|Dawn:/.test(l));
      if (args[0] === 'doctor') expect(dawn.length === 1 && /^ +Dawn: /.test(dawn[0]!)).toBe(true);
      else expect(dawn).toEqual([]);
    }
  }, 60_000);

  it('doctor --json prints a parsable report; a forced absent backend is reported, not fatal', async () => {
    const c = capture();
    try {
      expect(await main(['doctor', '--json', '--backend', 'cpu'])).toBe(0);
    } finally {
      c.restore();
    }
    const r = JSON.parse(c.out.join(''));
    expect(r.chosen.name).toBe('cpu');
  });

  it('an unknown command or option is a usage error with exit code 2', async () => {
    const c = capture();
    try {
      expect(await main(['frobnicate'])).toBe(2);
      expect(await main(['doctor', '--no-such-flag'])).toBe(2);
    } finally {
      c.restore();
    }
    expect(c.err.join('')).toMatch(/Unknown argument/);
  });

  it('bench run --dry-run into an empty folder lists all 144 synthetic cells to run (the committed reference is not resumed from)', async () => {
    const tmp = await mkdtemp(path.join(os.tmpdir(), 'dampl-cli-fresh-'));
    const c = capture();
    try {
      expect(await main(['bench', 'run', '--dry-run', '--suite', 'synth', '--results', tmp, '--backend', 'cpu', '--quiet'])).toBe(0);
    } finally {
      c.restore();
      await rm(tmp, { recursive: true, force: true });
    }
    expect(c.out.join('')).toContain('144 cell(s); 144 in this shard; 0 done; 144 to run');
  });

  it('bench run --dry-run lists the synth grid without a model or a backend', async () => {
    const tmp = await mkdtemp(path.join(os.tmpdir(), 'bench-cli-'));
    const c = capture();
    try {
      expect(await main(['bench', 'run', '--dry-run', '--results', tmp, '--methods', 'dampl', 'dampl@dapl-equivalent', '--tasks', 'ph-cl', 'sk-pa', '--quiet'])).toBe(0);
    } finally {
      c.restore();
      await rm(tmp, { recursive: true, force: true });
    }
    const out = c.out.join('');
    expect(out).toMatch(/^suite synth: model packages\/data\/assets\/synth-clip/);
    expect(out.match(/^ {2}to-run +synth +(ph-cl|sk-pa) +dampl(@dapl-equivalent)? +1 /gm)).toHaveLength(4);
    expect(out).toContain('4 cell(s); 4 in this shard; 0 done; 4 to run');
    expect(out).toContain('4 cell(s) with no earlier timing');
  });

  it('bench run names an unknown method, dataset or shard with what to do', async () => {
    const c = capture();
    try {
      expect(await main(['bench', 'run', '--dry-run', '--methods', 'dampel'])).toBe(1);
      expect(await main(['bench', 'run', '--dry-run', '--datasets', 'office-home'])).toBe(1);
      expect(await main(['bench', 'run', '--dry-run', '--shard', '3/2'])).toBe(1);
    } finally {
      c.restore();
    }
    const err = c.err.join('');
    expect(err).toMatch(/unknown method 'dampel'.*did you mean 'dampl'/s);
    expect(err).toContain('dataset office-home is in none of the suites run (synth)');
    expect(err).toContain('--shard must be i/n');
  });
});
