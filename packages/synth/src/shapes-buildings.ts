/** Buildings and vehicles of the synthetic world (classes.ts): house, car, sailboat. */
import type { Rng } from '@dampl/runtime';
import { bezier, circle, ellipse, join, rect, wave } from './geometry.js';
import type { Role } from './colour.js';
import { TAU, fill, line, type Part } from './parts.js';

export function house(rng: Rng): Part[] {
  const w = rng.uniform(0.58, 0.78);
  const top = rng.uniform(-0.12, 0.05);
  const bottom = 0.92;
  const roofH = rng.uniform(0.55, 0.8);
  const oh = rng.uniform(0.06, 0.16);
  const parts: Part[] = [];
  if (rng.next() < 0.6) {
    const cx = rng.uniform(0.2, w - 0.2) * (rng.next() < 0.5 ? -1 : 1);
    parts.push(fill(rect(cx - 0.08, top - roofH * 0.85, cx + 0.08, top - 0.1), 'second', 0.2));
  }
  parts.push(fill(rect(-w, top, w, bottom), 'main', 0.15));
  parts.push(fill([-w - oh, top + 0.04, w + oh, top + 0.04, 0, top - roofH], 'second', 0.2));
  const slot = rng.int(3) - 1;
  const dw = rng.uniform(0.13, 0.17);
  const dx = slot * w * 0.5;
  const doorTop = bottom - rng.uniform(0.4, 0.5);
  parts.push(fill(rect(dx - dw, doorTop, dx + dw, bottom), 'wood', 0.1));
  parts.push(fill(circle(dx + dw * 0.55, (doorTop + bottom) / 2 + 0.03, 0.03, 10), 'accent', 0.8, true));
  const winY = top + rng.uniform(0.13, 0.22);
  const ws = rng.uniform(0.13, 0.18);
  const slots = [-1, 0, 1].filter((s) => s !== slot);
  const nWin = rng.next() < 0.5 ? 2 : 1;
  for (const s of nWin === 2 ? slots : [rng.pick(slots)]) {
    const cx = s * w * 0.5;
    const cy = s === 0 || slot !== 0 ? winY + ws : winY + ws + 0.05;
    parts.push(fill(rect(cx - ws, cy - ws, cx + ws, cy + ws), 'glass', 0.1));
    parts.push(line([cx, cy - ws, cx, cy + ws], 0.04, 'white', true));
    parts.push(line([cx - ws, cy, cx + ws, cy], 0.04, 'white', true));
  }
  if (rng.next() < 0.3) parts.push(fill(circle(0, top - roofH * 0.38, 0.09, 20), 'glass', 0.3, true));
  return parts;
}

export function car(rng: Rng): Part[] {
  const L = 0.96;
  const bodyTop = rng.uniform(-0.06, 0.06);
  const bottom = 0.42;
  const cabinTop = rng.uniform(-0.48, -0.34);
  const xr = rng.uniform(-0.68, -0.45);
  const xf = rng.uniform(0.2, 0.42);
  const wr = rng.uniform(0.19, 0.24);
  const parts: Part[] = [];
  const body = [
    -L, bottom - 0.06, -L + 0.02, bodyTop + 0.06, -L + 0.12, bodyTop, xr, bodyTop, xr + 0.2, cabinTop, xf - 0.06, cabinTop,
    xf + 0.2, bodyTop, L - 0.12, bodyTop + 0.06, L, bodyTop + 0.2, L, bottom - 0.06, L - 0.06, bottom, -L + 0.06, bottom,
  ];
  parts.push(fill(body, 'main', 0.35));
  const pillar = (xr + xf) / 2 + 0.05;
  const yT = cabinTop + 0.07;
  const yB = bodyTop - 0.01;
  parts.push(fill([xr + 0.1, yB, xr + 0.24, yT, pillar - 0.04, yT, pillar - 0.04, yB], 'glass', 0.1));
  parts.push(fill([pillar + 0.04, yB, pillar + 0.04, yT, xf - 0.09, yT, xf + 0.08, yB], 'glass', 0.1));
  parts.push(line([pillar, bodyTop + 0.05, pillar, bottom - 0.1], 0.03, 'dark', true));
  parts.push(fill(ellipse(L - 0.05, bodyTop + 0.2, 0.05, 0.06, 0, 12), 'accent', 0.6, true));
  for (const x of [-0.56, 0.56]) {
    parts.push(fill(circle(x, bottom, wr, 32), 'dark', 1));
    parts.push(fill(circle(x, bottom, wr * 0.5, 20), 'metal', 0.8));
  }
  return parts;
}

export function boat(rng: Rng): Part[] {
  const deck = rng.uniform(0.22, 0.32);
  const keel = rng.uniform(0.55, 0.65);
  const parts: Part[] = [];
  const mx = rng.uniform(-0.08, 0.08);
  parts.push(line([mx, deck, mx, -0.94], 0.05, 'wood'));
  const sailRole: Role = rng.next() < 0.7 ? 'light' : 'second';
  const sb = deck - 0.08;
  parts.push(fill(join([mx + 0.04, -0.9, mx + 0.04, sb], bezier([[rng.uniform(0.62, 0.78), sb], [0.42, -0.32], [mx + 0.04, -0.9]], 10).slice(0)), sailRole, 0.3));
  if (rng.next() < 0.65) parts.push(fill([mx - 0.04, -0.76, mx - 0.04, sb, -rng.uniform(0.5, 0.66), sb], sailRole, 0.3));
  if (rng.next() < 0.4) parts.push(fill([mx, -0.94, mx - 0.24, -0.88, mx, -0.82], 'accent', 0.2, true));
  const hull = [-0.92, deck, 0.97, deck - 0.04, 0.62, keel, -0.64, keel];
  parts.push(fill(hull, 'main', 0.3));
  if (rng.next() < 0.4) {
    for (const x of [-0.3, 0.05, 0.4]) parts.push(fill(circle(x, (deck + keel) / 2, 0.055, 12), 'light', 0.5, true));
  } else if (rng.next() < 0.5) {
    parts.push(line([-0.82, deck + 0.08, 0.86, deck + 0.05], 0.05, 'white', true));
  }
  if (rng.next() < 0.6) {
    const ph = rng.uniform(0, TAU);
    parts.push(line(wave(-0.95, 0.95, keel + 0.12, 0.04, 3, ph), 0.045, 'water'));
    if (rng.next() < 0.5) parts.push(line(wave(-0.7, 0.8, keel + 0.25, 0.04, 2.5, ph + 1), 0.045, 'water'));
  }
  return parts;
}
