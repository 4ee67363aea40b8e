/**
 * One image of the synthetic world: a scene (class, parts, pose, colours, domain style) drawn
 * from a seed, then rendered on a supersampled canvas and reduced to RGB bytes.
 *
 * Every random choice comes from named forks of `new Rng(seed)`, so the object's shape, pose and
 * colour do not depend on the domain: the same seed in two domains shows the same object in two
 * styles.
 */
import { DamplError, Rng } from '@dampl/runtime';
import { CLASS_DEFS, type SynthClassDef } from './classes.js';
import { type Part } from './parts.js';
import { type ColourName, type RolePalette, samplePalette } from './colour.js';
import { type Pose, bounds, transformPath } from './geometry.js';
import { Canvas, Mask } from './raster.js';
import { downsample, quantize } from './image-ops.js';
import { drawStyle, postStyle, sampleStyle, visibleColourName } from './styles.js';
import { BACKGROUND_PHRASES, SYNTH_DOMAINS, type Placed, type StyleParams, type SynthDomain } from './style-types.js';

export interface SynthClass {
  /** Folder name under `<split>/<domain>/`. */
  folder: string;
  /** Words for prompts and captions. */
  name: string;
}

export const SYNTH_CLASSES: readonly SynthClass[] = CLASS_DEFS.map(({ folder, name }) => ({ folder, name }));

export type SizeName = 'small' | 'medium' | 'large';
export type PositionName = 'centre' | 'left' | 'right' | 'top' | 'bottom';

/** What an image shows, for captions and analysis. */
export interface SynthAttributes {
  class: string;
  className: string;
  domain: SynthDomain;
  /** The colour a viewer sees: the object's, or the pencil's in a sketch. */
  colourName: ColourName;
  /** The object's own colour (the same as colourName except in sketches). */
  objectColourName: ColourName;
  sizeName: SizeName;
  positionName: PositionName;
  background: StyleParams['background'];
  backgroundPhrase: string;
  /** Degrees, clockwise. */
  rotation: number;
  flipped: boolean;
}

export interface SynthImageOptions {
  /** Class folder or name. */
  cls: string;
  domain: SynthDomain;
  seed: number;
  /** Output side in pixels (default 64). */
  size?: number;
  /** Supersampling factor per side (default 2). */
  supersample?: number;
}

export interface SynthImage {
  /** (size, size, 3) RGB bytes. */
  rgb: Uint8Array;
  width: number;
  height: number;
  attributes: SynthAttributes;
}

export interface SynthScene {
  cls: SynthClassDef;
  domain: SynthDomain;
  seed: number;
  parts: Part[];
  pose: Pose;
  palette: RolePalette;
  style: StyleParams;
  attributes: SynthAttributes;
}

export const DEFAULT_SIZE = 64;
export const DEFAULT_SUPERSAMPLE = 2;

export function synthClassDef(cls: string): SynthClassDef {
  const def = CLASS_DEFS.find((c) => c.folder === cls || c.name === cls);
  if (!def) {
    throw new DamplError(
      `unknown synth class "${cls}"`,
      `use one of: ${CLASS_DEFS.map((c) => c.folder).join(', ')}`,
    );
  }
  return def;
}

export function checkDomain(domain: string): SynthDomain {
  if (!SYNTH_DOMAINS.some((d) => d.name === domain)) {
    throw new DamplError(`unknown synth domain "${domain}"`, `use one of: ${SYNTH_DOMAINS.map((d) => d.name).join(', ')}`);
  }
  return domain as SynthDomain;
}

/** Draws everything about an image except its pixels (cheap: no rasterising). */
export function sampleSynthScene(opts: Pick<SynthImageOptions, 'cls' | 'domain' | 'seed'>): SynthScene {
  const cls = synthClassDef(opts.cls);
  const domain = checkDomain(opts.domain);
  const root = new Rng(opts.seed >>> 0);
  const parts = cls.build(root.fork('shape'));
  const pr = root.fork('pose');
  const scaleF = pr.uniform(0.28, 0.45);
  const room = Math.max(0, 0.5 - scaleF * 1.04) * 0.85;
  const pose: Pose = {
    x: 0.5 + pr.uniform(-room, room),
    y: 0.5 + pr.uniform(-room, room),
    scale: scaleF,
    angle: (pr.uniform(-cls.maxRotation, cls.maxRotation) * Math.PI) / 180,
    flip: cls.flip && pr.next() < 0.5,
  };
  const cr = root.fork('colour');
  const colourName = cr.pick(cls.colours);
  const palette = samplePalette(colourName, cr);
  const style = sampleStyle(domain, root.fork(`style:${domain}`));
  const dx = pose.x - 0.5;
  const dy = pose.y - 0.5;
  const positionName: PositionName =
    Math.max(Math.abs(dx), Math.abs(dy)) < 0.06 ? 'centre' : Math.abs(dx) >= Math.abs(dy) ? (dx < 0 ? 'left' : 'right') : dy < 0 ? 'top' : 'bottom';
  const attributes: SynthAttributes = {
    class: cls.folder,
    className: cls.name,
    domain,
    colourName: visibleColourName(style, colourName),
    objectColourName: colourName,
    sizeName: scaleF < 0.335 ? 'small' : scaleF < 0.395 ? 'medium' : 'large',
    positionName,
    background: style.background,
    backgroundPhrase: BACKGROUND_PHRASES[style.background],
    rotation: Math.round((pose.angle * 1800) / Math.PI) / 10,
    flipped: pose.flip,
  };
  return { cls, domain, seed: opts.seed >>> 0, parts, pose, palette, style, attributes };
}

/** Places the parts on a canvas of `side` pixels. */
function placeParts(parts: readonly Part[], pose: Pose, side: number): Placed[] {
  return parts.map((part) => {
    const paths = part.paths.map((p) => transformPath(p, pose, side));
    return { part, paths, width: (part.width ?? 0) * pose.scale * side, box: bounds(paths) };
  });
}

interface Buffers {
  small: Canvas;
  canvas: Canvas;
  scratch: Canvas;
  mask: Mask;
  mask2: Mask;
}
let cached: Buffers | undefined;

/** Drawing buffers for a canvas side, reused from call to call (rendering is synchronous). */
function buffers(size: number, side: number): Buffers {
  if (cached?.canvas.width !== side || cached.small.width !== size) {
    cached = { small: new Canvas(size, size), canvas: new Canvas(side, side), scratch: new Canvas(side, side), mask: new Mask(side, side), mask2: new Mask(side, side) };
  }
  return cached;
}

/** Renders a sampled scene to (size, size, 3) bytes. */
export function renderSynthScene(scene: SynthScene, size = DEFAULT_SIZE, supersample = DEFAULT_SUPERSAMPLE): Uint8Array {
  if (!Number.isInteger(size) || size < 8 || size > 1024) {
    throw new DamplError(`synth image size must be an integer in [8, 1024], got ${size}`);
  }
  const ss = Math.max(1, Math.round(supersample));
  const side = size * ss;
  const { small, canvas, scratch, mask, mask2 } = buffers(size, side);
  mask.clear();
  mask2.clear();
  const root = new Rng(scene.seed);
  drawStyle(
    { canvas, scratch, small, ss, side, size, u: (ss * size) / 64, mask, mask2, rng: root.fork(`draw:${scene.domain}`) },
    placeParts(scene.parts, scene.pose, side),
    scene.palette,
    scene.style,
  );
  const out = downsample(canvas, ss);
  postStyle(out, size, scene.style, root.fork(`post:${scene.domain}`));
  return quantize(out);
}

/** Renders one image of class `cls` in `domain` from `seed`. */
export function renderSynthImage(opts: SynthImageOptions): SynthImage {
  const size = opts.size ?? DEFAULT_SIZE;
  const scene = sampleSynthScene(opts);
  const rgb = renderSynthScene(scene, size, opts.supersample ?? DEFAULT_SUPERSAMPLE);
  return { rgb, width: size, height: size, attributes: scene.attributes };
}
