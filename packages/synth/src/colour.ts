/** Named colours, HSV conversion and the colour roles that the object parts are painted with. */
import type { Rng } from '@dampl/runtime';
import type { RGB } from './raster.js';

export type Hsv = [number, number, number];

function hsvToRgb(h: number, s: number, v: number): [number, number, number] {
  h = ((h % 1) + 1) % 1;
  s = Math.min(1, Math.max(0, s));
  v = Math.min(1, Math.max(0, v));
  const i = Math.floor(h * 6);
  const f = h * 6 - i;
  const p = v * (1 - s);
  const q = v * (1 - f * s);
  const t = v * (1 - (1 - f) * s);
  switch (i % 6) {
    case 0:
      return [v, t, p];
    case 1:
      return [q, v, p];
    case 2:
      return [p, v, t];
    case 3:
      return [p, q, v];
    case 4:
      return [t, p, v];
    default:
      return [v, p, q];
  }
}

export function rgbToHsv(c: RGB): Hsv {
  const [r, g, b] = c;
  const max = Math.max(r, g, b);
  const min = Math.min(r, g, b);
  const d = max - min;
  let h = 0;
  if (d > 0) {
    if (max === r) h = ((g - b) / d) % 6;
    else if (max === g) h = (b - r) / d + 2;
    else h = (r - g) / d + 4;
    h /= 6;
    if (h < 0) h += 1;
  }
  return [h, max === 0 ? 0 : d / max, max];
}

/** The colour names used in captions, with the HSV centre that each is drawn around. */
export const COLOUR_NAMES = [
  'red', 'orange', 'yellow', 'green', 'blue', 'purple', 'pink', 'brown', 'grey', 'black', 'white',
] as const;
export type ColourName = (typeof COLOUR_NAMES)[number];

const CENTRES: Record<ColourName, Hsv> = {
  red: [0.995, 0.82, 0.85],
  orange: [0.07, 0.85, 0.96],
  yellow: [0.14, 0.82, 0.96],
  green: [0.32, 0.68, 0.66],
  blue: [0.6, 0.75, 0.82],
  purple: [0.77, 0.6, 0.68],
  pink: [0.93, 0.45, 0.96],
  brown: [0.07, 0.68, 0.5],
  grey: [0.6, 0.04, 0.58],
  black: [0.6, 0.1, 0.16],
  white: [0.12, 0.03, 0.95],
};

/** A colour near the named centre, varied enough to look different image to image but keep its name. */
function sampleNamed(name: ColourName, rng: Rng): Hsv {
  const [h, s, v] = CENTRES[name];
  const chromatic = s > 0.3;
  return [
    h + (chromatic ? rng.uniform(-0.02, 0.02) : 0),
    Math.min(1, s * rng.uniform(0.85, 1.12)),
    Math.min(1, v * rng.uniform(chromatic ? 0.86 : 0.92, 1.06)),
  ];
}

/** The colours every part can be painted with; `main` carries the image's colour name. */
export const ROLES = [
  'main', 'second', 'dark', 'light', 'white', 'wood', 'leaf', 'metal', 'glass', 'accent', 'water',
] as const;
export type Role = (typeof ROLES)[number];
export type RolePalette = Record<Role, Hsv>;

/** Samples the colours of one object: `main` from the class's allowed names, the rest generic. */
export function samplePalette(mainName: ColourName, rng: Rng): RolePalette {
  const others = COLOUR_NAMES.filter((c) => c !== mainName && c !== 'black' && c !== 'white' && c !== 'grey');
  return {
    main: sampleNamed(mainName, rng),
    second: sampleNamed(rng.pick(others), rng),
    dark: [rng.next(), rng.uniform(0.05, 0.25), rng.uniform(0.1, 0.2)],
    light: [rng.uniform(0.08, 0.14), rng.uniform(0.04, 0.16), rng.uniform(0.9, 0.98)],
    white: [0.1, rng.uniform(0, 0.04), rng.uniform(0.95, 1)],
    wood: [rng.uniform(0.055, 0.09), rng.uniform(0.55, 0.75), rng.uniform(0.35, 0.55)],
    leaf: [rng.uniform(0.27, 0.36), rng.uniform(0.55, 0.75), rng.uniform(0.42, 0.62)],
    metal: [rng.uniform(0.55, 0.65), rng.uniform(0, 0.06), rng.uniform(0.6, 0.78)],
    glass: [rng.uniform(0.53, 0.6), rng.uniform(0.2, 0.4), rng.uniform(0.78, 0.92)],
    accent: [rng.uniform(0.11, 0.15), rng.uniform(0.7, 0.9), rng.uniform(0.9, 1)],
    water: [rng.uniform(0.55, 0.62), rng.uniform(0.5, 0.7), rng.uniform(0.6, 0.8)],
  };
}

export function hsvRgb(c: Hsv): [number, number, number] {
  return hsvToRgb(c[0], c[1], c[2]);
}

export function mix(a: RGB, b: RGB, t: number): [number, number, number] {
  return [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t];
}

export function scale(a: RGB, k: number): [number, number, number] {
  return [a[0] * k, a[1] * k, a[2] * k];
}
