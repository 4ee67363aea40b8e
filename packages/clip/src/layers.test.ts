/**
 * The frozen residual block, fused and as the op graph, on tfjs's kernels (the native kernels:
 * layers.native.test.ts, in nx run clip:test:native).
 */
import { afterAll, describe, it } from 'vitest';
import type { WeightStore } from './weight-store.js';
import { expectFusedBlockEqualsGraph } from './testing/blocks.js';

describe('frozen residual block', () => {
  const stores: WeightStore[] = [];
  afterAll(() => stores.forEach((s) => s.dispose()));

  it('fused op equals the op graph, forward and d/dx (tfjs kernels only)', () => expectFusedBlockEqualsGraph(false, stores));
});
