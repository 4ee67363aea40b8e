import { describe, expect, it } from 'vitest';
import type { ClipModel } from '@dampl/clip';
import type { TextTower } from './types.js';

/** Compile-time check (tsc): a real CLIP model is a TextTower. */
export const clipIsATextTower = (m: ClipModel): TextTower => m;

describe('TextTower', () => {
  it("is a structural subset of @dampl/clip's ClipModel (checked by the type checker)", () => {
    expect(typeof clipIsATextTower).toBe('function');
  });
});
