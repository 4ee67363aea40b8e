/** The synthetic domains, the parameters each draws with, and what their drawing functions take. */
import type { Rng } from '@dampl/runtime';
import type { Part } from './parts.js';
import { type Canvas, type Mask, type Path } from './raster.js';

export type SynthDomain = 'photo' | 'clipart' | 'sketch' | 'painting';

export interface SynthDomainInfo {
  name: SynthDomain;
  /** Folder under `<split>/`. */
  folder: string;
  /** The phrase a caption opens with: "a clipart image" (of a red car). */
  style: string;
  /** Other ways captions name the style. */
  styleSynonyms: readonly string[];
}

export const SYNTH_DOMAINS: readonly SynthDomainInfo[] = [
  { name: 'photo', folder: 'photo', style: 'a photo', styleSynonyms: ['a photo', 'a photograph', 'a close-up photo', 'a real photo'] },
  { name: 'clipart', folder: 'clipart', style: 'a clipart image', styleSynonyms: ['a clipart image', 'a clip art illustration', 'a cartoon drawing', 'a flat vector icon'] },
  { name: 'sketch', folder: 'sketch', style: 'a sketch', styleSynonyms: ['a sketch', 'a pencil sketch', 'a line drawing', 'a pencil drawing'] },
  { name: 'painting', folder: 'painting', style: 'a painting', styleSynonyms: ['a painting', 'an oil painting', 'a painted picture', 'an artwork'] },
];

/** A part placed on the canvas: its paths in canvas pixels and its line width there. */
export interface Placed {
  part: Part;
  paths: Path[];
  width: number;
  box: { x0: number; y0: number; x1: number; y1: number };
}

export interface DrawContext {
  canvas: Canvas;
  /** A second canvas of the same size for the style's own use. */
  scratch: Canvas;
  /** A canvas at output resolution, for textures that need no anti-aliasing (backgrounds). */
  small: Canvas;
  /** Supersampling factor: side = size * ss. */
  ss: number;
  /** Canvas side in supersampled pixels. */
  side: number;
  /** Output image side. */
  size: number;
  /** One pixel of a 64-pixel image, in canvas pixels: widths and textures scale with it. */
  u: number;
  mask: Mask;
  mask2: Mask;
  rng: Rng;
}

export interface PhotoStyle {
  domain: 'photo';
  background: 'wooden table' | 'grass' | 'studio' | 'room' | 'fabric';
  light: [number, number, number];
  exposure: number;
  warmth: number;
  noise: number;
}
export interface ClipartStyle {
  domain: 'clipart';
  background: 'white' | 'pastel';
  ground: boolean;
  outline: number;
  highlight: boolean;
}
export interface SketchStyle {
  domain: 'sketch';
  background: 'paper' | 'lined paper';
  pencil: number;
  width: number;
  jitter: number;
  passes: number;
  hatch: boolean;
}
export interface PaintingStyle {
  domain: 'painting';
  background: 'abstract' | 'landscape';
  hues: number[];
  hueShift: number;
  satMul: number;
  strokes: number;
  outline: boolean;
  cast: [number, number, number];
  castAmount: number;
  impasto: number;
}
export type StyleParams = PhotoStyle | ClipartStyle | SketchStyle | PaintingStyle;

/** Words a caption may use for the background. */
export const BACKGROUND_PHRASES: Record<StyleParams['background'], string> = {
  'wooden table': 'on a wooden table',
  grass: 'on the grass',
  studio: 'on a plain background',
  room: 'in front of a blurry background',
  fabric: 'on a cloth',
  white: 'on a white background',
  pastel: 'on a plain coloured background',
  paper: 'on white paper',
  'lined paper': 'on lined paper',
  abstract: 'with a busy background',
  landscape: 'in a landscape',
};
