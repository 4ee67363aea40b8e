import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
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
      expect(await main(['bench', 'run', '--dry-run', '--results', tmp, '--methods', 'dampl', 'dampl@base', '--tasks', 'ph-cl', 'sk-pa', '--quiet'])).toBe(0);
    } finally {
      c.restore();
      await rm(tmp, { recursive: true, force: true });
    }
    const out = c.out.join('');
    // the model is named by its folder and weights, not by where the files are
    expect(out).toMatch(/^suite synth: model synth-clip@237ffbc47c3fac6f,/);
    expect(out.match(/^ {2}to-run +synth +(ph-cl|sk-pa) +dampl(@base)? +1 /gm)).toHaveLength(4);
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

  /** `bench run --dry-run` on two synthetic tasks into an empty folder: exit code, stdout and stderr. */
  async function dryRun(...args: string[]) {
    const tmp = await mkdtemp(path.join(os.tmpdir(), 'bench-cli-config-'));
    const c = capture();
    let code: number;
    try {
      code = await main(['bench', 'run', '--dry-run', '--results', tmp, '--tasks', 'ph-cl', 'sk-pa', '--backend', 'cpu', '--quiet', ...args]);
    } finally {
      c.restore();
      await rm(tmp, { recursive: true, force: true });
    }
    const out = c.out.join('');
    const cells = [...out.matchAll(/^ {2}to-run +synth +(\S+) +(\S+) +1 +([0-9a-f]{16}) +([0-9a-f]{24})$/gm)].map((m) => ({ task: m[1]!, method: m[2]!, hash: m[3]!, key: m[4]! }));
    return { code, out, err: c.err.join(''), cells };
  }

  it('--set changes a method\'s config: its cells get another config hash and key, and a label that says so', async () => {
    const base = await dryRun('--methods', 'dampl', 'dann');
    const set = await dryRun('--methods', 'dampl', 'dann', '--set', 'dampl.lr=0.002', '--set', 'dampl.csc=false');
    expect(base.code).toBe(0);
    expect(set.code, set.err).toBe(0);
    expect(set.cells.map((c) => c.method)).toEqual(['dampl[csc=false,lr=0.002]', 'dann', 'dampl[csc=false,lr=0.002]', 'dann']);
    const hash = (r: typeof base, m: RegExp) => new Set(r.cells.filter((c) => m.test(c.method)).map((c) => c.hash));
    expect(hash(set, /^dampl/).size).toBe(1);
    expect([...hash(set, /^dampl/)][0]).not.toBe([...hash(base, /^dampl/)][0]);
    expect(hash(set, /^dann/)).toEqual(hash(base, /^dann/));
    for (const c of set.cells.filter((x) => x.method.startsWith('dampl'))) expect(base.cells.map((b) => b.key)).not.toContain(c.key);
    // 2e-3 is 0.002: the same variant, the same cells
    const same = await dryRun('--methods', 'dampl', 'dann', '--set', 'dampl.csc=false', '--set', 'dampl.lr=2e-3');
    expect(same.cells.map((c) => c.key)).toEqual(set.cells.map((c) => c.key));
  });

  it('--config reads a file of values by method, under --set', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'bench-cli-file-'));
    const file = path.join(dir, 'run.json');
    await writeFile(file, JSON.stringify({ dampl: { lr: 0.002, csc: false } }));
    const viaFile = await dryRun('--methods', 'dampl', '--config', file);
    const viaSet = await dryRun('--methods', 'dampl', '--set', 'dampl.lr=0.002', '--set', 'dampl.csc=false');
    const over = await dryRun('--methods', 'dampl', '--config', file, '--set', 'dampl.lr=0.01');
    await writeFile(file, JSON.stringify({ dampel: { lr: 0.002 } }));
    const bad = await dryRun('--methods', 'dampl', '--config', file);
    await rm(dir, { recursive: true, force: true });
    expect(viaFile.cells.map((c) => c.key)).toEqual(viaSet.cells.map((c) => c.key));
    expect(over.cells[0]!.method).toBe('dampl[csc=false,lr=0.01]');
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/unknown method 'dampel'.*did you mean 'dampl'/s);
  });

  it('--sweep dampl.mu=0.5,1 doubles the DAMPL cells and leaves the others', async () => {
    const base = await dryRun();
    const swept = await dryRun('--sweep', 'dampl.mu=0.5,1');
    expect(swept.code, swept.err).toBe(0);
    const dampl = (r: typeof base) => r.cells.filter((c) => c.method.startsWith('dampl'));
    expect(dampl(base)).toHaveLength(2);
    expect(dampl(swept).map((c) => c.method)).toEqual(['dampl[mu=0.5]', 'dampl[mu=1]', 'dampl[mu=0.5]', 'dampl[mu=1]']);
    expect(swept.cells.length - base.cells.length).toBe(dampl(base).length);
    expect(new Set(dampl(swept).map((c) => c.hash)).size).toBe(2);
    // mu=1 is DAMPL's default: the same config as the plain row
    expect(dampl(swept).find((c) => c.method === 'dampl[mu=1]')!.hash).toBe(dampl(base)[0]!.hash);
    const others = (r: typeof base) => r.cells.filter((c) => !c.method.startsWith('dampl')).map((c) => c.key);
    expect(others(swept)).toEqual(others(base));
    // two sweeps: their product
    const two = await dryRun('--methods', 'dampl', '--sweep', 'dampl.mu=0.5,1', '--sweep', 'dampl.tau=0.3,0.6,0.9');
    expect(two.cells).toHaveLength(2 * 2 * 3);
  }, 60_000);

  it('refuses a bad key, type or range before any work, with the method\'s valid keys and a guess', async () => {
    const key = await dryRun('--set', 'dampl.lrr=0.002');
    expect(key.code).toBe(1);
    expect(key.err).toMatch(/unknown config key 'lrr' in --set dampl\.lrr=0\.002/);
    expect(key.err).toMatch(/did you mean 'lr'\? valid keys: nCtx, nDomainCtx, csc, .*evalBatch/);
    expect(key.out).toBe('');
    const type = await dryRun('--set', 'dampl.csc=yes');
    expect(type.err).toMatch(/'csc' in --set dampl\.csc=yes must be true or false, got "yes"/);
    const range = await dryRun('--sweep', 'dampl.tau=0.5,1.5');
    expect(range.err).toMatch(/'tau' in --sweep dampl\.tau=0\.5,1\.5 \(tau=1\.5\) must be a number >= 0 and <= 1, got 1\.5/);
    const shape = await dryRun('--set', 'dampl-lr=1');
    expect(shape.err).toMatch(/--set 'dampl-lr=1' is not method\.key=value/);
    const absent = await dryRun('--methods', 'dann', '--set', 'dampl.lr=0.1');
    expect(absent.err).toMatch(/gives values for dampl, which this run does not run \(dann\)/);
    for (const r of [type, range, shape, absent]) expect(r.code).toBe(1);
  });

  it('dampl methods lists every method, and prints one method\'s keys with default, range, doc and source', async () => {
    const c = capture();
    try {
      expect(await main(['methods'])).toBe(0);
      expect(await main(['methods', 'dampl'])).toBe(0);
      expect(await main(['methods', 'dampl', '--dataset', 'synth', '--set', 'dampl.lr=0.1', '--json'])).toBe(0);
      expect(await main(['methods', 'dampl', '--set', 'dampl.lr=0.1'])).toBe(1);
    } finally {
      c.restore();
    }
    const [list, one] = [c.out[0]!, c.out[1]!];
    for (const m of ['dampl', 'zero-shot', 'coop', 'dapl', 'dann', 'dan', 'cdan', 'mcc', 'shot-im']) expect(list).toMatch(new RegExp(`^${m} +@dampl/`, 'm'));
    expect(list).toMatch(/^shot-im +@dampl\/shot-im /m);
    expect(one).toMatch(/^ {2}lr +a number >= 0 +default 0\.003\n {6}base learning rate\n {6}source: DAPL configs\/trainers\/DAPL\/ep25-32-csc\.yaml OPTIM\.LR$/m);
    expect(one).toMatch(/^ {2}tau +a number >= 0 and <= 1 +default 0\.5$/m);
    expect(one).toMatch(/^ {2}synth: .*lr=0\.01/m);
    expect(one).toMatch(/^ {2}dampl@ep25-32-csc \(released for RN101\): /m);
    const json = JSON.parse(c.out[2]!);
    expect(json.config.lr).toEqual({ value: 0.1, from: '--set dampl.lr=0.1' });
    expect(json.config.nCtx).toEqual({ value: 8, from: "dampl's preset for synth" });
    expect(json.config.tau.from).toMatch(/^default: DAPL configs/);
    expect(c.err.join('')).toMatch(/--set and --config show the config on a dataset/);
  });

  it('dampl methods dapl@released prints the backbone it was released for and each of its values with its source', async () => {
    const c = capture();
    try {
      expect(await main(['methods', 'dapl@released'])).toBe(0);
      expect(await main(['methods', 'dapl@relased'])).toBe(1);
    } finally {
      c.restore();
    }
    const out = c.out[0]!;
    expect(out).toMatch(/^named config dapl@released: /m);
    expect(out).toMatch(/^ {2}backbone it was released for: RN101$/m);
    expect(out).toMatch(/^ {2}lrStepPer +'batch'\n {6}source: DAPL trainers\/dapl\.py forward_backward calls self\.update_lr\(\) after every batch/m);
    expect(out).toMatch(/^ {2}csc +true\n {6}source: DAPL configs\/trainers\/DAPL\/ep25-32-csc\.yaml TRAINER\.DAPL\.CSC$/m);
    expect(out).toMatch(/^ {2}momentum +0\.9\n {6}source: Dassl dassl\/config\/defaults\.py OPTIM\.MOMENTUM$/m);
    // every value it sets is printed with a source line under it
    const block = out.slice(out.indexOf('named config'), out.indexOf('\nkeys ('));
    const values = block.split('\n').filter((l) => /^ {2}\w+ {2,}/.test(l));
    expect(values.length).toBe(21);
    expect(block.split('\n').filter((l) => /^ {6}source: \S/.test(l)).length).toBe(values.length);
    expect(out).toMatch(/^ {2}dapl@pda-vitb16 \(released for ViT-B\/16\): .*epochs=10/m);
    expect(c.err.join('')).toMatch(/no config named 'relased' for method 'dapl'.*did you mean 'released'/s);
  });
});
