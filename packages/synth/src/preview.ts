/**
 * Contact sheet of the synthetic world: one row per class, `perDomain` columns per domain.
 *
 *   npx tsx packages/synth/src/preview-main.ts /tmp/synth-preview.png [--seed 0] [--per-domain 2] [--size 64] [--zoom 2]
 */
import { Rng } from '@dampl/runtime';
import { SYNTH_CLASSES, renderSynthImage } from './render.js';
import { SYNTH_DOMAINS } from './style-types.js';

export interface ContactSheetOptions {
  seed?: number;
  perDomain?: number;
  size?: number;
  /** Nearest-neighbour magnification of each tile. */
  zoom?: number;
  /** Pixels between tiles. */
  gap?: number;
}

/** Renders the sheet; returns (H, W, 3) RGB bytes and the dimensions. */
export function contactSheet(opts: ContactSheetOptions = {}): { rgb: Uint8Array; width: number; height: number } {
  const seed = opts.seed ?? 0;
  const per = opts.perDomain ?? 2;
  const size = opts.size ?? 64;
  const zoom = opts.zoom ?? 2;
  const gap = opts.gap ?? 2;
  const tile = size * zoom;
  const cols = SYNTH_DOMAINS.length * per;
  const rows = SYNTH_CLASSES.length;
  const width = cols * (tile + gap) + gap * 3;
  const height = rows * (tile + gap) + gap;
  const rgb = new Uint8Array(width * height * 3).fill(40);
  const rng = new Rng(seed);
  SYNTH_CLASSES.forEach((cls, r) => {
    const seeds = Array.from({ length: per }, () => rng.nextU32());
    SYNTH_DOMAINS.forEach((d, di) => {
      for (let k = 0; k < per; k++) {
        // the same seed across domains: the same object drawn in each style
        const img = renderSynthImage({ cls: cls.folder, domain: d.name, seed: seeds[k], size });
        const x0 = gap + (di * per + k) * (tile + gap) + di * gap;
        const y0 = gap + r * (tile + gap);
        for (let y = 0; y < tile; y++) {
          for (let x = 0; x < tile; x++) {
            const s = (Math.floor(y / zoom) * size + Math.floor(x / zoom)) * 3;
            const o = ((y0 + y) * width + x0 + x) * 3;
            rgb[o] = img.rgb[s];
            rgb[o + 1] = img.rgb[s + 1];
            rgb[o + 2] = img.rgb[s + 2];
          }
        }
      }
    });
  });
  return { rgb, width, height };
}
