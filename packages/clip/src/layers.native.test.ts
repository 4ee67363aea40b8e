/**
 * The frozen residual block, fused and as the op graph, with the native kernels
 * (nx run clip:test:native): needs the addon and a BLAS.
 */
import { afterAll, describe, it } from 'vitest';
import { nativeBlasError } from '@dampl/runtime';
import type { WeightStore } from './weight-store.js';
import { expectFusedBlockEqualsGraph } from './testing/blocks.js';

const why = nativeBlasError();
if (why) throw new Error(`clip:test:native needs the native kernels with a BLAS: ${why}; on Debian/Ubuntu: apt-get install libopenblas0-pthread, then npm ci`);

describe('frozen residual block', () => {
  const stores: WeightStore[] = [];
  afterAll(() => stores.forEach((s) => s.dispose()));

  it('fused op equals the op graph, forward and d/dx (with the native kernels)', () => expectFusedBlockEqualsGraph(true, stores));
});
