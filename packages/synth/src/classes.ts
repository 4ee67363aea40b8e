/**
 * The object classes of the synthetic world. Each is a procedure that composes filled shapes
 * and lines in a local frame (x right, y down, inside about [-1, 1]^2), with its proportions and
 * optional pieces drawn from the image's random stream, so that instances of a class share a
 * shape structure and differ in detail. Colours are given by role (see colour.ts); the domain
 * style decides how a part is drawn.
 */
import type { Rng } from '@dampl/runtime';
import type { ColourName, Role } from './colour.js';
import type { Path } from './raster.js';
import { arc, bezier, circle, ellipse, join, puff, rect, roundRect, wave } from './geometry.js';

export interface Part {
  /** `fill`: closed paths filled even-odd; `line`: open polylines stroked at `width`. */
  kind: 'fill' | 'line';
  paths: Path[];
  role: Role;
  /** Line width in local units (lines only). */
  width?: number;
  /** How rounded the part is for shading: 0 a flat panel, 1 a ball. */
  round?: number;
  /** A small interior detail: drawn thinner, and skipped by coarse styles. */
  detail?: boolean;
}

export interface SynthClassDef {
  folder: string;
  name: string;
  /** Main colours an instance may have; a repeated name is drawn more often. */
  colours: readonly ColourName[];
  /** Largest rotation, degrees either way. */
  maxRotation: number;
  /** Whether mirror images are drawn (asymmetric objects). */
  flip: boolean;
  build(rng: Rng): Part[];
}

const TAU = Math.PI * 2;

function fill(paths: Path | Path[], role: Role, round = 0.3, detail = false): Part {
  const ps = typeof paths[0] === 'number' ? [paths as Path] : (paths as Path[]);
  return { kind: 'fill', paths: ps, role, round, detail };
}

function line(path: Path, width: number, role: Role, detail = false): Part {
  return { kind: 'line', paths: [path], role, width, round: 0.4, detail };
}

const ANY: readonly ColourName[] = ['red', 'orange', 'yellow', 'green', 'blue', 'purple', 'pink', 'brown', 'grey', 'black', 'white'];
const BRIGHT: readonly ColourName[] = ['red', 'orange', 'yellow', 'green', 'blue', 'purple', 'pink'];

function house(rng: Rng): Part[] {
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

function tree(rng: Rng): Part[] {
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

function car(rng: Rng): Part[] {
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

function fish(rng: Rng): Part[] {
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

function flower(rng: Rng): Part[] {
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

function cup(rng: Rng): Part[] {
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

function clock(rng: Rng): Part[] {
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

function key(rng: Rng): Part[] {
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

function lamp(rng: Rng): Part[] {
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

function umbrella(rng: Rng): Part[] {
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

function boat(rng: Rng): Part[] {
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

function mushroom(rng: Rng): Part[] {
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

export const CLASS_DEFS: readonly SynthClassDef[] = [
  { folder: 'house', name: 'house', colours: ANY, maxRotation: 6, flip: true, build: house },
  { folder: 'tree', name: 'tree', colours: ['green', 'green', 'green', 'orange', 'yellow', 'red'], maxRotation: 6, flip: true, build: tree },
  { folder: 'car', name: 'car', colours: ANY, maxRotation: 10, flip: true, build: car },
  { folder: 'fish', name: 'fish', colours: [...BRIGHT, 'grey'], maxRotation: 20, flip: true, build: fish },
  { folder: 'flower', name: 'flower', colours: ['red', 'orange', 'yellow', 'blue', 'purple', 'pink', 'white'], maxRotation: 15, flip: true, build: flower },
  { folder: 'cup', name: 'cup', colours: ANY, maxRotation: 10, flip: true, build: cup },
  { folder: 'alarm_clock', name: 'alarm clock', colours: ANY, maxRotation: 12, flip: false, build: clock },
  { folder: 'key', name: 'key', colours: ['yellow', 'yellow', 'grey', 'grey', 'brown', 'red', 'blue', 'green'], maxRotation: 35, flip: true, build: key },
  { folder: 'lamp', name: 'lamp', colours: ANY, maxRotation: 8, flip: true, build: lamp },
  { folder: 'umbrella', name: 'umbrella', colours: ANY, maxRotation: 15, flip: true, build: umbrella },
  { folder: 'sailboat', name: 'sailboat', colours: [...BRIGHT, 'brown', 'white', 'black'], maxRotation: 10, flip: true, build: boat },
  { folder: 'mushroom', name: 'mushroom', colours: ['red', 'red', 'brown', 'orange', 'yellow', 'purple'], maxRotation: 12, flip: true, build: mushroom },
];
