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
});
