/** Living things of the synthetic world (classes.ts): tree, flower, mushroom, fish. */
import type { Rng } from '@dampl/runtime';
import { arc, bezier, circle, ellipse, join, puff } from './geometry.js';
import type { Path } from './raster.js';
import { TAU, fill, line, type Part } from './parts.js';

export function tree(rng: Rng): Part[] {
  const tw = rng.uniform(0.08, 0.13);
  const parts: Part[] = [fill([-tw * 1.5, 0.96, tw * 1.5, 0.96, tw, -0.05, -tw, -0.05], 'wood', 0.4)];
  if (rng.next() < 0.3) {
    // conifer: three stacked tiers as one zigzag outline
    const tiers = 3;
    const right: number[] = [];
    const top = -0.98;
    const base = rng.uniform(0.45, 0.6);
    const hw = rng.uniform(0.58, 0.72);
    for (let i = 0; i < tiers; i++) {
      const y = top + ((base - top) * (i + 1)) / tiers;
      const wOut = hw * (0.55 + (0.45 * (i + 1)) / tiers);
      const wIn = wOut * 0.55;
      right.push(wOut, y);
      if (i < tiers - 1) right.push(wIn, y - 0.02);
    }
    const pts: number[] = [0, top];
    for (let i = 0; i < right.length; i += 2) pts.push(right[i], right[i + 1]);
    for (let i = right.length - 2; i >= 0; i -= 2) pts.push(-right[i], right[i + 1]);
    parts.push(fill(pts, 'main', 0.5));
  } else {
    const r = rng.uniform(0.58, 0.68);
    const cy = -0.32;
    parts.push(fill(puff(0, cy, r, r * rng.uniform(0.85, 1.0), rng.int(4) + 5, rng.uniform(0.1, 0.18), rng.uniform(0, TAU)), 'main', 0.8));
    if (rng.next() < 0.25) {
      for (let i = 0; i < 5; i++) {
        const a = rng.uniform(0, TAU);
        const d = rng.uniform(0.1, r * 0.7);
        parts.push(fill(circle(Math.cos(a) * d, cy + Math.sin(a) * d, 0.06, 12), 'second', 0.8, true));
      }
    }
  }
  return parts;
}

export function flower(rng: Rng): Part[] {
  const cy = -0.38;
  const n = rng.int(4) + 5;
  const pl = rng.uniform(0.24, 0.32);
  const pw = rng.uniform(0.1, 0.15) * (n > 6 ? 0.85 : 1);
  const cr = rng.uniform(0.12, 0.17);
  const sway = rng.uniform(-0.15, 0.15);
  const parts: Part[] = [
    line(bezier([[0, cy], [sway, 0.35], [sway * 0.5, 0.95]], 14), 0.07, 'leaf'),
  ];
  const sides = rng.next() < 0.5 ? [1] : [1, -1];
  for (const s of sides) {
    const ly = rng.uniform(0.35, 0.6);
    parts.push(fill(ellipse(sway * 0.6 + s * 0.2, ly, 0.21, 0.08, s * -0.5, 24), 'leaf', 0.4));
  }
  const phase = rng.uniform(0, TAU);
  const d = cr + pl * 0.75;
  for (let i = 0; i < n; i++) {
    const a = phase + (i * TAU) / n;
    parts.push(fill(ellipse(Math.cos(a) * d, cy + Math.sin(a) * d, pl, pw, a, 24), 'main', 0.5));
  }
  parts.push(fill(circle(0, cy, cr, 24), 'accent', 0.8));
  return parts;
}

export function mushroom(rng: Rng): Part[] {
  const capW = rng.uniform(0.7, 0.92);
  const capH = rng.uniform(0.45, 0.75);
  const yc = rng.uniform(-0.05, 0.12);
  const st = rng.uniform(0.15, 0.2);
  const sb = st * rng.uniform(1.1, 1.5);
  const parts: Part[] = [];
  const stem = join([-st, yc, st, yc], bezier([[st, yc], [st * 0.9, 0.5], [sb, 0.8]], 6).slice(2), bezier([[sb, 0.8], [0, 0.94], [-sb, 0.8]], 8).slice(2), bezier([[-sb, 0.8], [-st * 0.9, 0.5], [-st, yc]], 6).slice(2, -2));
  parts.push(fill(stem, 'light', 0.5));
  parts.push(fill(ellipse(0, yc + 0.03, capW * 0.82, 0.07, 0, 24), 'light', 0.2, true));
  const cap = join(arc(0, yc, capW, capH, Math.PI, TAU, 24), bezier([[capW, yc], [0, yc + 0.16], [-capW, yc]], 10).slice(2, -2));
  parts.push(fill(cap, 'main', 0.85));
  if (rng.next() < 0.6) {
    const k = rng.int(4) + 3;
    for (let i = 0; i < k; i++) {
      const u = rng.uniform(-0.7, 0.7);
      const v = rng.uniform(0.2, 0.75) * Math.sqrt(1 - u * u);
      parts.push(fill(ellipse(u * capW, yc - v * capH, rng.uniform(0.06, 0.1), rng.uniform(0.05, 0.08), 0, 14), 'white', 0.6, true));
    }
  }
  return parts;
}

export function fish(rng: Rng): Part[] {
  const rx = 0.62;
  const ry = rng.uniform(0.3, 0.45);
  const cx = -0.12;
  const tail = [0.4, 0, 0.95, -ry * 1.15, 0.8, 0, 0.95, ry * 1.15];
  const parts: Part[] = [fill(tail, 'second', 0.2)];
  parts.push(fill([-0.4, -ry * 0.85, rng.uniform(-0.05, 0.15), -ry * 1.55, 0.25, -ry * 0.6], 'second', 0.2));
  parts.push(fill([-0.18, ry * 0.8, 0.02, ry * 1.3, 0.15, ry * 0.62], 'second', 0.2));
  const body: Path = [];
  for (let i = 0; i < 48; i++) {
    const t = (i / 48) * TAU;
    const c = Math.cos(t);
    body.push(cx + rx * c, ry * Math.sin(t) * (c > 0 ? 1 - 0.4 * c : 1 + 0.08 * c));
  }
  parts.push(fill(body, 'main', 0.85));
  parts.push(line(arc(-0.22, 0, ry * 0.45, ry * 0.7, -1.0, 1.0, 10), 0.035, 'dark', true));
  parts.push(fill(circle(-0.5, -ry * 0.22, 0.085, 16), 'white', 0.6));
  parts.push(fill(circle(-0.52, -ry * 0.22, 0.045, 12), 'dark', 0.6, true));
  return parts;
}
