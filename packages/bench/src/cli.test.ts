import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { main } from './cli.js';
import { doctor } from './commands/doctor.js';

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
  });

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
