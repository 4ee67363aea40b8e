/** Household objects of the synthetic world (classes.ts): cup, alarm clock, key, lamp, umbrella. */
import type { Rng } from '@dampl/runtime';
import { arc, bezier, circle, ellipse, join, rect, roundRect } from './geometry.js';
import type { Role } from './colour.js';
import type { Path } from './raster.js';
import { TAU, fill, line, type Part } from './parts.js';

export function cup(rng: Rng): Part[] {
  const topY = -0.42;
  const botY = 0.6;
  const teacup = rng.next() < 0.35;
  const th = rng.uniform(0.44, 0.54);
  const bh = th * (teacup ? rng.uniform(0.55, 0.68) : rng.uniform(0.8, 0.95));
  const parts: Part[] = [];
  if (teacup || rng.next() < 0.3) parts.push(fill(ellipse(0, botY + 0.02, 0.85, 0.13, 0, 32), 'light', 0.3));
  const hx = (th + bh) / 2 + 0.04;
  const hy = teacup ? -0.15 : 0.05;
  parts.push(fill([ellipse(hx, hy, 0.27, 0.28, 0, 28), ellipse(hx, hy, 0.15, 0.16, 0, 24)], 'main', 0.5));
  const body = join(
    [-th, topY, th, topY],
    bezier([[th, topY], [teacup ? th : bh + 0.02, botY - 0.25], [bh, botY - 0.02]], 8),
    [bh - 0.1, botY, -bh + 0.1, botY],
    bezier([[-bh, botY - 0.02], [teacup ? -th : -bh - 0.02, botY - 0.25], [-th, topY]], 8),
  );
  parts.push(fill(body, 'main', 0.5));
  parts.push(fill(ellipse(0, topY, th, 0.09, 0, 28), 'main', 0.2));
  parts.push(fill(ellipse(0, topY + 0.012, th * 0.86, 0.062, 0, 24), 'wood', 0.2, true));
  if (rng.next() < 0.35) {
    for (const x0 of [-0.15, 0.12]) {
      const ph = rng.uniform(0, TAU);
      const steam: Path = [];
      for (let i = 0; i <= 14; i++) {
        const t = i / 14;
        steam.push(x0 + 0.05 * Math.sin(t * TAU * 1.2 + ph), topY - 0.14 - t * 0.45);
      }
      parts.push(line(steam, 0.04, 'metal', true));
    }
  }
  return parts;
}

export function clock(rng: Rng): Part[] {
  const R = rng.uniform(0.54, 0.62);
  const cy = 0.12;
  const parts: Part[] = [];
  for (const s of [-1, 1]) {
    parts.push(line([s * R * 0.45, cy + R * 0.8, s * R * 0.78, cy + R * 1.25], 0.1, 'dark'));
  }
  if (rng.next() < 0.85) {
    const rb = R * rng.uniform(0.36, 0.44);
    for (const s of [-1, 1]) {
      const a = -Math.PI / 2 + s * 0.75;
      const bx = Math.cos(a) * R * 0.98;
      const by = cy + Math.sin(a) * R * 0.98;
      const rot = a + Math.PI / 2;
      const dome: Path = [];
      for (let i = 0; i <= 16; i++) {
        const t = Math.PI + (Math.PI * i) / 16;
        const x = rb * Math.cos(t);
        const y = rb * 0.9 * Math.sin(t);
        dome.push(bx + x * Math.cos(rot) - y * Math.sin(rot), by + x * Math.sin(rot) + y * Math.cos(rot));
      }
      parts.push(fill(dome, rng.next() < 0.5 ? 'main' : 'metal', 0.8));
    }
    parts.push(line([0, cy - R, 0, cy - R - 0.12], 0.06, 'dark', true));
  }
  parts.push(fill(circle(0, cy, R, 48), 'main', 0.9));
  parts.push(fill(circle(0, cy, R * 0.8, 44), 'white', 0.3));
  for (let i = 0; i < 12; i++) {
    const a = (i * TAU) / 12;
    const major = i % 3 === 0;
    const r0 = R * (major ? 0.6 : 0.67);
    parts.push(line([Math.cos(a) * r0, cy + Math.sin(a) * r0, Math.cos(a) * R * 0.74, cy + Math.sin(a) * R * 0.74], major ? 0.05 : 0.03, 'dark', true));
  }
  const ha = rng.uniform(0, TAU);
  const ma = rng.uniform(0, TAU);
  parts.push(line([0, cy, Math.cos(ha) * R * 0.38, cy + Math.sin(ha) * R * 0.38], 0.07, 'dark'));
  parts.push(line([0, cy, Math.cos(ma) * R * 0.6, cy + Math.sin(ma) * R * 0.6], 0.045, 'dark'));
  parts.push(fill(circle(0, cy, 0.05, 10), 'dark', 0.5, true));
  return parts;
}

export function key(rng: Rng): Part[] {
  const h = rng.uniform(0.065, 0.085);
  const tip = 0.95;
  const parts: Part[] = [];
  const shaft: number[] = [-0.35, -h, tip - 0.04, -h, tip, 0, tip - 0.04, h];
  const teeth = rng.int(3) + 2;
  const x0 = 0.3;
  const span = (tip - 0.06 - x0) / teeth;
  let x = tip - 0.06;
  for (let i = 0; i < teeth; i++) {
    const depth = rng.uniform(0.1, 0.24);
    const gap = span * 0.35;
    shaft.push(x, h, x, h + depth, x - span + gap, h + depth, x - span + gap, h);
    x -= span;
  }
  shaft.push(-0.35, h);
  parts.push(fill(shaft, 'main', 0.3));
  parts.push(line([-0.2, 0, tip - 0.15, 0], 0.025, 'dark', true));
  parts.push(fill(rect(-0.36, -h * 1.8, -0.26, h * 1.8), 'main', 0.3));
  const bx = -0.6;
  const ro = rng.uniform(0.3, 0.36);
  const ri = ro * rng.uniform(0.38, 0.5);
  if (rng.next() < 0.65) parts.push(fill([circle(bx, 0, ro, 40), circle(bx - 0.05, 0, ri, 24)], 'main', 0.6));
  else parts.push(fill([roundRect(bx - ro, -ro * 0.9, bx + ro, ro * 0.9, 0.12), circle(bx - 0.05, 0, ri, 24)], 'main', 0.5));
  return parts;
}

export function lamp(rng: Rng): Part[] {
  const shadeBot = -0.12;
  const parts: Part[] = [];
  parts.push(fill(ellipse(0, shadeBot, 0.18, 0.08, 0, 16), 'accent', 0.8));
  const stemCol: Role = rng.next() < 0.5 ? 'metal' : 'second';
  parts.push(fill(rect(-0.045, shadeBot, 0.045, 0.74), stemCol, 0.6));
  if (rng.next() < 0.4) parts.push(fill(circle(0, 0.3, 0.1, 18), stemCol, 0.9));
  const bw = rng.uniform(0.26, 0.4);
  parts.push(fill(rng.next() < 0.6 ? [-bw, 0.92, bw, 0.92, bw * 0.7, 0.72, -bw * 0.7, 0.72] : ellipse(0, 0.82, bw, 0.11, 0, 24), stemCol, 0.4));
  // shade: a truncated cone, straight-sided or bell-curved, its bottom rim seen from slightly above
  const tw = rng.uniform(0.2, 0.34);
  const sw = rng.uniform(0.52, 0.7);
  const top = rng.uniform(-0.92, -0.74);
  const bell = rng.uniform(-0.08, 0.1);
  const side = (s: number): Path =>
    bezier([[s * tw, top], [s * ((tw + sw) / 2 - bell), (top + shadeBot) / 2], [s * sw, shadeBot]], 8);
  const left = side(-1);
  const leftUp: Path = [];
  for (let k = left.length - 2; k >= 0; k -= 2) leftUp.push(left[k], left[k + 1]);
  parts.push(fill(join(side(1), arc(0, shadeBot, sw, 0.07, 0, Math.PI, 12).slice(2, -2), leftUp), 'main', 0.5));
  if (rng.next() < 0.3) {
    parts.push(line([0.25, shadeBot + 0.03, 0.25, shadeBot + 0.28], 0.025, 'dark', true));
    parts.push(fill(circle(0.25, shadeBot + 0.3, 0.035, 10), 'dark', 0.5, true));
  }
  return parts;
}

export function umbrella(rng: Rng): Part[] {
  const W = rng.uniform(0.85, 0.96);
  const H = rng.uniform(0.5, 0.65);
  const y0 = rng.uniform(-0.05, 0.05);
  const n = rng.int(3) + 4;
  const striped = rng.next() < 0.4;
  const parts: Part[] = [];
  parts.push(line([0, y0 - H - 0.1, 0, y0 + 0.72], 0.05, 'dark'));
  const hc = 0.12;
  parts.push(line(arc(hc, y0 + 0.72, hc, hc, Math.PI, 0, 12), 0.08, rng.next() < 0.5 ? 'wood' : 'main'));
  const rib = (xe: number): Path => {
    const p: Path = [];
    for (let i = 0; i <= 12; i++) {
      const phi = (i / 12) * (Math.PI / 2);
      p.push(xe * Math.sin(phi), y0 - H * Math.cos(phi));
    }
    return p;
  };
  const sag = rng.uniform(0.08, 0.14);
  for (let i = 0; i < n; i++) {
    const xa = -W + (2 * W * i) / n;
    const xb = -W + (2 * W * (i + 1)) / n;
    const ra = rib(xa);
    const rb = rib(xb);
    const scallop = bezier([[xa, y0], [(xa + xb) / 2, y0 - sag * (xb - xa) * 1.5], [xb, y0]], 8);
    const back: Path = [];
    for (let k = rb.length - 2; k >= 0; k -= 2) back.push(rb[k], rb[k + 1]);
    parts.push(fill(join(ra, scallop.slice(2), back.slice(2)), striped && i % 2 === 1 ? 'second' : 'main', 0.5));
  }
  return parts;
}
