import { beforeAll, describe, expect, it } from 'vitest';
import { rgbToHsv } from './colour.js';
import { SYNTH_CLASSES, renderSynthImage, sampleSynthScene } from './render.js';
import { SYNTH_DOMAINS, type SynthDomain } from './style-types.js';

const S = 64;

function variance(rgb: Uint8Array): number {
  let s = 0;
  let s2 = 0;
  for (const v of rgb) {
    s += v;
    s2 += v * v;
  }
  const m = s / rgb.length;
  return s2 / rgb.length - m * m;
}

function render(cls: string, domain: SynthDomain, seed: number, size = S): Uint8Array {
  return renderSynthImage({ cls, domain, seed, size }).rgb;
}

describe('renderSynthImage', () => {
  it('draws every class in every domain: right size, not blank, with attributes', () => {
    for (const c of SYNTH_CLASSES) {
      for (const d of SYNTH_DOMAINS) {
        const img = renderSynthImage({ cls: c.folder, domain: d.name, seed: 11 });
        expect(img.rgb.length).toBe(S * S * 3);
        expect([img.width, img.height]).toEqual([S, S]);
        expect(variance(img.rgb), `${c.folder}/${d.name}`).toBeGreaterThan(150);
        expect(img.attributes.class).toBe(c.folder);
        expect(img.attributes.className).toBe(c.name);
        expect(img.attributes.domain).toBe(d.name);
        expect(img.attributes.colourName).toMatch(/^[a-z]+$/);
        expect(['small', 'medium', 'large']).toContain(img.attributes.sizeName);
      }
    }
  });

  it('is deterministic: the same seed gives the same bytes, another seed other bytes', () => {
    for (const [cls, domain] of [['car', 'photo'], ['key', 'sketch'], ['flower', 'painting'], ['cup', 'clipart']] as const) {
      const a = render(cls, domain, 123);
      const b = render(cls, domain, 123);
      expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
      expect(Buffer.from(render(cls, domain, 124)).equals(Buffer.from(a))).toBe(false);
    }
  });

  it('does not depend on what was rendered before (buffers are reused)', () => {
    const first = render('house', 'clipart', 5);
    render('umbrella', 'painting', 9, 48);
    render('fish', 'photo', 9);
    expect(Buffer.from(render('house', 'clipart', 5)).equals(Buffer.from(first))).toBe(true);
  });

  it('accepts other sizes and class display names', () => {
    const img = renderSynthImage({ cls: 'alarm clock', domain: 'photo', seed: 1, size: 32 });
    expect(img.rgb.length).toBe(32 * 32 * 3);
    expect(img.attributes.class).toBe('alarm_clock');
  });

  it('shows the same object in every domain for one seed', () => {
    const scenes = SYNTH_DOMAINS.map((d) => sampleSynthScene({ cls: 'car', domain: d.name, seed: 77 }));
    for (const s of scenes) {
      expect(s.pose).toEqual(scenes[0].pose);
      expect(s.attributes.objectColourName).toBe(scenes[0].attributes.objectColourName);
    }
    expect(scenes.find((s) => s.domain === 'sketch')!.attributes.colourName).toMatch(/^(black|grey)$/);
  });

  it('rejects unknown classes and domains with the accepted names', () => {
    expect(() => renderSynthImage({ cls: 'zebra', domain: 'photo', seed: 0 })).toThrow(/unknown synth class "zebra"[\s\S]*alarm_clock/);
    expect(() => renderSynthImage({ cls: 'car', domain: 'cartoon' as SynthDomain, seed: 0 })).toThrow(/unknown synth domain/);
  });
});

describe('domain styles', () => {
  interface Stats {
    /** Fraction of pixels that are near white and unsaturated. */
    paper: number;
    meanSat: number;
    /** Mean absolute difference between horizontal neighbours near the border (background texture). */
    grain: number;
    /** Standard deviation of the border pixels (a plain background has little); the median over images. */
    borderStd: number;
  }

  function stats(rgb: Uint8Array): Stats {
    let paper = 0;
    let sat = 0;
    let grain = 0;
    let band = 0;
    const border: number[] = [];
    for (let y = 0; y < S; y++) {
      for (let x = 0; x < S; x++) {
        const o = (y * S + x) * 3;
        const [, s, v] = rgbToHsv([rgb[o] / 255, rgb[o + 1] / 255, rgb[o + 2] / 255]);
        sat += s;
        if (v > 0.85 && s < 0.12) paper++;
        const edge = x < 6 || y < 6 || x >= S - 6 || y >= S - 6;
        if (x > 0 && edge) {
          grain += Math.abs(rgb[o] - rgb[o - 3]) + Math.abs(rgb[o + 1] - rgb[o - 2]) + Math.abs(rgb[o + 2] - rgb[o - 1]);
          band++;
        }
        if (x === 0 || y === 0 || x === S - 1 || y === S - 1) border.push(rgb[o] + rgb[o + 1] + rgb[o + 2]);
      }
    }
    const bm = border.reduce((a, b) => a + b, 0) / border.length;
    const borderStd = Math.sqrt(border.reduce((a, b) => a + (b - bm) ** 2, 0) / border.length);
    return { paper: paper / (S * S), meanSat: sat / (S * S), grain: grain / band, borderStd };
  }

  const per = {} as Record<SynthDomain, Stats>;
  beforeAll(() => {
    const N = 24;
    for (const d of SYNTH_DOMAINS) {
      const acc: Stats = { paper: 0, meanSat: 0, grain: 0, borderStd: 0 };
      const borders: number[] = [];
      for (let i = 0; i < N; i++) {
        const s = stats(render(SYNTH_CLASSES[i % SYNTH_CLASSES.length].folder, d.name, 1000 + i));
        acc.paper += s.paper / N;
        acc.meanSat += s.meanSat / N;
        acc.grain += s.grain / N;
        borders.push(s.borderStd);
      }
      acc.borderStd = borders.sort((a, b) => a - b)[Math.floor(N / 2)];
      per[d.name] = acc;
    }
  });

  it('sketches are mostly paper-white and unsaturated', () => {
    expect(per.sketch.paper).toBeGreaterThan(0.7);
    expect(per.sketch.meanSat).toBeLessThan(0.08);
    for (const d of ['photo', 'clipart', 'painting'] as const) expect(per[d].meanSat).toBeGreaterThan(per.sketch.meanSat * 2);
  });

  it('clipart has a plain background, photo and painting textured ones', () => {
    expect(per.clipart.borderStd).toBeLessThan(1);
    expect(per.photo.borderStd).toBeGreaterThan(5);
    expect(per.painting.borderStd).toBeGreaterThan(5);
  });

  it('paintings have the busiest backgrounds, clipart the plainest', () => {
    expect(per.painting.grain).toBeGreaterThan(per.photo.grain);
    expect(per.photo.grain).toBeGreaterThan(per.clipart.grain * 4);
  });
});

describe('class shapes', () => {
  const G = 20;

  /**
   * The object's silhouette in a clipart image (pixels unlike the plain background), cropped to
   * its bounding box and resampled to G x G, so that position and size do not count.
   */
  function silhouette(rgb: Uint8Array): Float32Array {
    const m = new Uint8Array(S * S);
    const [r0, g0, b0] = [rgb[0], rgb[1], rgb[2]];
    let x0 = S;
    let y0 = S;
    let x1 = 0;
    let y1 = 0;
    for (let y = 0; y < S; y++) {
      for (let x = 0; x < S; x++) {
        const i = y * S + x;
        const d = Math.abs(rgb[i * 3] - r0) + Math.abs(rgb[i * 3 + 1] - g0) + Math.abs(rgb[i * 3 + 2] - b0);
        if (d > 40) {
          m[i] = 1;
          x0 = Math.min(x0, x);
          y0 = Math.min(y0, y);
          x1 = Math.max(x1, x + 1);
          y1 = Math.max(y1, y + 1);
        }
      }
    }
    const out = new Float32Array(G * G);
    for (let v = 0; v < G; v++) {
      for (let u = 0; u < G; u++) {
        const x = Math.min(S - 1, Math.floor(x0 + ((u + 0.5) * (x1 - x0)) / G));
        const y = Math.min(S - 1, Math.floor(y0 + ((v + 0.5) * (y1 - y0)) / G));
        out[v * G + u] = m[y * S + x];
      }
    }
    return out;
  }

  it('silhouettes tell the classes apart (nearest mean mask)', () => {
    const train = 16;
    const test = 8;
    const means = SYNTH_CLASSES.map((c) => {
      const mean = new Float32Array(G * G);
      for (let i = 0; i < train; i++) {
        const m = silhouette(render(c.folder, 'clipart', 5000 + i));
        for (let k = 0; k < mean.length; k++) mean[k] += m[k] / train;
      }
      return mean;
    });
    // the mean masks of any two classes differ substantially
    for (let a = 0; a < means.length; a++) {
      for (let b = a + 1; b < means.length; b++) {
        let diff = 0;
        for (let k = 0; k < G * G; k++) diff += Math.abs(means[a][k] - means[b][k]);
        expect(diff / (G * G), `${SYNTH_CLASSES[a].folder} vs ${SYNTH_CLASSES[b].folder}`).toBeGreaterThan(0.08);
      }
    }
    let correct = 0;
    SYNTH_CLASSES.forEach((c, label) => {
      for (let i = 0; i < test; i++) {
        const m = silhouette(render(c.folder, 'clipart', 9000 + i));
        let best = -1;
        let bestD = Infinity;
        means.forEach((mean, j) => {
          let d = 0;
          for (let k = 0; k < G * G; k++) d += (m[k] - mean[k]) ** 2;
          if (d < bestD) {
            bestD = d;
            best = j;
          }
        });
        if (best === label) correct++;
      }
    });
    // chance is 1/12 (measured when written: 0.84, smallest pairwise mean-mask difference 0.14)
    expect(correct / (SYNTH_CLASSES.length * test)).toBeGreaterThan(0.6);
  });
});
