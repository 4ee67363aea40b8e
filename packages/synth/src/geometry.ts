/**
 * Shape construction in an object's local frame (x right, y down, the object inside about
 * [-1, 1]^2) and the pose transform that places it on the canvas.
 */
import type { Path } from './raster.js';

const TAU = Math.PI * 2;

export function ellipse(cx: number, cy: number, rx: number, ry: number, rot = 0, n = 40): Path {
  const p: Path = [];
  const c = Math.cos(rot);
  const s = Math.sin(rot);
  for (let i = 0; i < n; i++) {
    const t = (i / n) * TAU;
    const x = rx * Math.cos(t);
    const y = ry * Math.sin(t);
    p.push(cx + x * c - y * s, cy + x * s + y * c);
  }
  return p;
}

export function circle(cx: number, cy: number, r: number, n = 40): Path {
  return ellipse(cx, cy, r, r, 0, n);
}

/** Open elliptical arc from angle a0 to a1 (radians, y down so +pi/2 is the bottom), n segments. */
export function arc(cx: number, cy: number, rx: number, ry: number, a0: number, a1: number, n = 16): Path {
  const p: Path = [];
  for (let i = 0; i <= n; i++) {
    const t = a0 + ((a1 - a0) * i) / n;
    p.push(cx + rx * Math.cos(t), cy + ry * Math.sin(t));
  }
  return p;
}

export function rect(x0: number, y0: number, x1: number, y1: number): Path {
  return [x0, y0, x1, y0, x1, y1, x0, y1];
}

export function roundRect(x0: number, y0: number, x1: number, y1: number, r: number, n = 5): Path {
  const rr = Math.min(r, (x1 - x0) / 2, (y1 - y0) / 2);
  const p: Path = [];
  const corners: [number, number, number][] = [
    [x1 - rr, y0 + rr, -Math.PI / 2],
    [x1 - rr, y1 - rr, 0],
    [x0 + rr, y1 - rr, Math.PI / 2],
    [x0 + rr, y0 + rr, Math.PI],
  ];
  for (const [cx, cy, a] of corners) {
    for (let i = 0; i <= n; i++) {
      const t = a + ((Math.PI / 2) * i) / n;
      p.push(cx + rr * Math.cos(t), cy + rr * Math.sin(t));
    }
  }
  return p;
}

/** Quadratic (3 points) or cubic (4 points) Bezier curve sampled at n + 1 points. */
export function bezier(ctrl: readonly (readonly [number, number])[], n = 12): Path {
  const p: Path = [];
  for (let i = 0; i <= n; i++) {
    const t = i / n;
    const u = 1 - t;
    if (ctrl.length === 3) {
      const [a, b, c] = ctrl as [readonly [number, number], readonly [number, number], readonly [number, number]];
      p.push(u * u * a[0] + 2 * u * t * b[0] + t * t * c[0], u * u * a[1] + 2 * u * t * b[1] + t * t * c[1]);
    } else {
      const [a, b, c, d] = ctrl as [
        readonly [number, number],
        readonly [number, number],
        readonly [number, number],
        readonly [number, number],
      ];
      const k0 = u * u * u;
      const k1 = 3 * u * u * t;
      const k2 = 3 * u * t * t;
      const k3 = t * t * t;
      p.push(k0 * a[0] + k1 * b[0] + k2 * c[0] + k3 * d[0], k0 * a[1] + k1 * b[1] + k2 * c[1] + k3 * d[1]);
    }
  }
  return p;
}

/**
 * A puffy closed outline (tree crown, cloud): radius r * (1 - depth + depth * |cos(lobes * t / 2)|),
 * bulging outwards between `lobes` inward cusps.
 */
export function puff(cx: number, cy: number, rx: number, ry: number, lobes: number, depth: number, phase = 0, n = 72): Path {
  const p: Path = [];
  for (let i = 0; i < n; i++) {
    const t = (i / n) * TAU;
    const k = 1 - depth + depth * Math.sqrt(Math.abs(Math.cos((lobes * t) / 2 + phase)));
    p.push(cx + rx * k * Math.cos(t), cy + ry * k * Math.sin(t));
  }
  return p;
}

/** Sine wave polyline from (x0, y) to (x1, y). */
export function wave(x0: number, x1: number, y: number, amp: number, periods: number, phase = 0, n = 24): Path {
  const p: Path = [];
  for (let i = 0; i <= n; i++) {
    const t = i / n;
    p.push(x0 + (x1 - x0) * t, y + amp * Math.sin(TAU * periods * t + phase));
  }
  return p;
}

/** Concatenates paths into one (for outlines assembled from pieces). */
export function join(...parts: Path[]): Path {
  return ([] as number[]).concat(...parts);
}

/** Where and how the object sits on the canvas. */
export interface Pose {
  /** Centre, as fractions of the canvas side. */
  x: number;
  y: number;
  /** Half-extent of the local [-1, 1] box, as a fraction of the canvas side. */
  scale: number;
  /** Rotation in radians (clockwise on screen, since y points down). */
  angle: number;
  flip: boolean;
}

/** Maps local coordinates to canvas pixels for a canvas of `side` pixels. */
export function transformPath(p: Path, pose: Pose, side: number): Path {
  const s = pose.scale * side;
  const c = Math.cos(pose.angle) * s;
  const sn = Math.sin(pose.angle) * s;
  const fx = pose.flip ? -1 : 1;
  const tx = pose.x * side;
  const ty = pose.y * side;
  const out: Path = new Array(p.length);
  for (let i = 0; i < p.length; i += 2) {
    const x = p[i] * fx;
    const y = p[i + 1];
    out[i] = tx + x * c - y * sn;
    out[i + 1] = ty + x * sn + y * c;
  }
  return out;
}

export function bounds(paths: readonly Path[]): { x0: number; y0: number; x1: number; y1: number } {
  let x0 = Infinity;
  let y0 = Infinity;
  let x1 = -Infinity;
  let y1 = -Infinity;
  for (const p of paths) {
    for (let i = 0; i < p.length; i += 2) {
      if (p[i] < x0) x0 = p[i];
      if (p[i] > x1) x1 = p[i];
      if (p[i + 1] < y0) y0 = p[i + 1];
      if (p[i + 1] > y1) y1 = p[i + 1];
    }
  }
  return { x0, y0, x1, y1 };
}

/** Resamples a path so that consecutive points are at most `step` apart (for wobbling strokes). */
export function densify(p: Path, step: number, closed: boolean): Path {
  const n = p.length >> 1;
  if (n < 2) return p.slice();
  const out: Path = [];
  const segs = closed ? n : n - 1;
  for (let s = 0; s < segs; s++) {
    const ax = p[2 * s];
    const ay = p[2 * s + 1];
    const k = (s + 1) % n;
    const bx = p[2 * k];
    const by = p[2 * k + 1];
    const m = Math.max(1, Math.ceil(Math.hypot(bx - ax, by - ay) / step));
    for (let i = 0; i < m; i++) out.push(ax + ((bx - ax) * i) / m, ay + ((by - ay) * i) / m);
  }
  if (!closed) out.push(p[2 * n - 2], p[2 * n - 1]);
  return out;
}
