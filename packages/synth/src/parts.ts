/** The parts object classes are built of (classes.ts), and the two ways of making one. */
import type { Role } from './colour.js';
import type { Path } from './raster.js';

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

export const TAU = Math.PI * 2;

export function fill(paths: Path | Path[], role: Role, round = 0.3, detail = false): Part {
  const ps = typeof paths[0] === 'number' ? [paths as Path] : (paths as Path[]);
  return { kind: 'fill', paths: ps, role, round, detail };
}

export function line(path: Path, width: number, role: Role, detail = false): Part {
  return { kind: 'line', paths: [path], role, width, round: 0.4, detail };
}
