/**
 * The native kernels (native.ts, native/src) against the backends' own kernels and tfjs's
 * formulas: nx run runtime:test:native, which needs the addon built and a BLAS to load.
 */
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it, onTestFinished } from 'vitest';
import { selectBackend } from './backend.js';
import './ops.js';
import {
  disableNativeKernels, enableNativeKernels, fmaPeak, loadNativeBlas, nativeBlasError, nativeKernelsActive, nativeOp, nativeOpsActive,
  setNativeKernelPath,
} from './native.js';
import { ConfigError } from './errors.js';

const unavailable = nativeBlasError();
if (unavailable) throw new Error(`runtime:test:native needs the native kernels with a BLAS: ${unavailable}; on Debian/Ubuntu: apt-get install libopenblas0-pthread, then npm ci`);

describe('native matMul', () => {
  /** Runs f with the native kernel and with the backend's own, returning both results. */
  async function both(backend: 'wasm' | 'cpu', f: () => tf.Tensor): Promise<[tf.Tensor, tf.Tensor]> {
    await selectBackend(backend);
    expect(enableNativeKernels(backend)).toBeDefined();
    expect(nativeKernelsActive(backend)).toBe(true);
    const fast = f();
    disableNativeKernels(backend);
    expect(nativeKernelsActive(backend)).toBe(false);
    const own = f();
    enableNativeKernels(backend);
    return [fast, own];
  }

  const r = (shape: number[], seed: number) => tf.randomNormal(shape, 0, 1, 'float32', seed);
  const cases: [string, () => tf.Tensor][] = [
    ['2-d', () => tf.matMul(r([33, 17], 1), r([17, 9], 2))],
    ['transposeA', () => tf.matMul(r([17, 33], 1), r([17, 9], 2), true, false)],
    ['transposeB', () => tf.matMul(r([33, 17], 1), r([9, 17], 2), false, true)],
    ['both transposed', () => tf.matMul(r([17, 33], 1), r([9, 17], 2), true, true)],
    ['batched 3-d (attention shape)', () => tf.matMul(r([24, 13, 8], 1), r([24, 13, 8], 2), false, true)],
    ['rank 4', () => tf.matMul(r([2, 3, 5, 4], 1), r([2, 3, 4, 6], 2))],
    ['rank-2 right operand broadcast over a batch', () => tf.matMul(r([6, 5, 4], 1), r([7, 4], 2), false, true)],
    ['batch-1 left operand broadcast', () => tf.matMul(r([1, 5, 4], 1), r([6, 4, 3], 2))],
    ['large (library threads)', () => tf.matMul(r([300, 256], 1), r([256, 300], 2))],
  ];
  for (const backend of ['wasm', 'cpu'] as const) {
    for (const [name, f] of cases) {
      it(`${backend}: ${name} equals the backend's own kernel`, async () => {
        const [fast, own] = await both(backend, f);
        expect(fast.shape).toEqual(own.shape);
        const a = fast.dataSync();
        const b = own.dataSync();
        let worst = 0;
        for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!) / (1 + Math.abs(b[i]!)));
        expect(worst).toBeLessThan(1e-4);
        tf.dispose([fast, own]);
      });
    }
  }

  it('gives zeros for an inner size of 0 (where the wasm kernel returns uninitialised memory)', async () => {
    for (const backend of ['wasm', 'cpu'] as const) {
      await selectBackend(backend);
      const c = tf.matMul(tf.zeros([3, 0]), tf.zeros([0, 4]));
      expect(c.shape).toEqual([3, 4]);
      expect(Array.from(c.dataSync())).toEqual(new Array(12).fill(0));
    }
  });

  it('gradients through the native kernel equal those of the backend kernel', async () => {
    const f = () => tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.square(tf.matMul(x as tf.Tensor3D, y as tf.Tensor3D, false, true))))([r([4, 7, 5], 3), r([4, 6, 5], 4)]);
    await selectBackend('wasm');
    const fast = f();
    disableNativeKernels('wasm');
    const own = f();
    enableNativeKernels('wasm');
    for (let i = 0; i < 2; i++) {
      const a = fast[i]!.dataSync();
      const b = own[i]!.dataSync();
      for (let j = 0; j < a.length; j++) expect(Math.abs(a[j]! - b[j]!)).toBeLessThan(1e-4 * (1 + Math.abs(b[j]!)));
    }
  });

  describe('fused kernels equal their tfjs formulas', () => {
    const close = (a: tf.Tensor, b: tf.Tensor, tol = 1e-5) => {
      expect(a.shape).toEqual(b.shape);
      const x = a.dataSync();
      const y = b.dataSync();
      let worst = 0;
      for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(x[i]! - y[i]!) / (1 + Math.abs(y[i]!)));
      expect(worst).toBeLessThan(tol);
    };
    const moments = (x: tf.Tensor) => {
      const mean = tf.mean(x, -1, true);
      const r = tf.rsqrt(tf.add(tf.mean(tf.square(tf.sub(x, mean)), -1, true), 1e-5));
      return { xhat: tf.mul(tf.sub(x, mean), r), r };
    };
    // every code path this build and CPU run (avx512, avx2, sse2 on x86-64), each against tfjs
    const paths = loadNativeBlas()!.kernelPaths;
    const best = paths[0]!;
    for (const [backend, path] of (['wasm', 'cpu'] as const).flatMap((b) => paths.map((p) => [b, p] as const))) {
      it(`${backend}, ${path} code path: layerNorm, QuickGELU, attention (plain, causal, shared prefixes) and their gradients; dense with bias and residual; patches; conv2d`, async () => {
        await selectBackend(backend);
        expect(nativeOpsActive()).toBe(true);
        expect(setNativeKernelPath(path).kernels).toBe(path);
        onTestFinished(() => void setNativeKernelPath(best));
        const x = r([37, 24], 1).mul(3).add(1) as tf.Tensor2D;
        const dy = r([37, 24], 2) as tf.Tensor2D;
        const base = r([37, 24], 3) as tf.Tensor2D;
        const w = r([24], 4);
        const b = r([24], 5);
        const { xhat, r: rs } = moments(x);
        close(nativeOp('layerNorm', [x, w, b], x.shape, [37, 24, 1e-5]), tf.add(tf.mul(xhat, w), b));
        const g = tf.mul(dy, w);
        const lnGrad = tf.mul(tf.sub(tf.sub(g, tf.mean(g, -1, true)), tf.mul(xhat, tf.mean(tf.mul(g, xhat), -1, true))), rs);
        close(nativeOp('layerNormGrad', [x, dy, w, null], x.shape, [37, 24, 1e-5]), lnGrad);
        close(nativeOp('layerNormGrad', [x, dy, w, base], x.shape, [37, 24, 1e-5]), tf.add(base, lnGrad));
        // the gradient formula itself, against tfjs's autodiff of the forward
        close(lnGrad, tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.add(tf.mul(moments(t).xhat, w), b), dy)))(x), 1e-4);
        const s = tf.sigmoid(tf.mul(x, 1.702));
        close(nativeOp('quickGelu', [x], x.shape, [x.size]), tf.mul(x, s));
        close(nativeOp('quickGeluGrad', [x, dy], x.shape, [x.size]), tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.mul(t, tf.sigmoid(tf.mul(t, 1.702))), dy)))(x), 1e-4);
        const wd = r([24, 13], 8);
        const bd = r([13], 9);
        close(nativeOp('dense', [x, wd, bd, null], [37, 13], [37, 13, 24]), tf.add(tf.matMul(x, wd), bd));
        close(nativeOp('dense', [x, wd, null, null], [37, 13], [37, 13, 24]), tf.matMul(x, wd));
        const res = r([37, 13], 10);
        close(nativeOp('dense', [x, wd, bd, res], [37, 13], [37, 13, 24]), tf.add(tf.add(tf.matMul(x, wd), bd), res));
        close(nativeOp('dense', [x, wd, null, res], [37, 13], [37, 13, 24]), tf.add(tf.matMul(x, wd), res));
        // ViT patches: [2, 3, 8, 8] images, 4 x 4 patches -> [2 * 4, 3 * 16] in (c, kh, kw) order
        const pixels = r([2, 3, 8, 8], 13);
        close(nativeOp('patches', [pixels], [8, 48], [2, 3, 8, 4]),
          tf.reshape(tf.transpose(tf.reshape(pixels, [2, 3, 2, 4, 2, 4]), [0, 2, 4, 1, 3, 5]), [8, 48]), 1e-7); // copies: exact
        // NHWC convolution with a bias (and a residual and a ReLU): 1 x 1 (one product), 3 x 3 padded, 3 x 3 with stride 2
        // (odd sizes), and one whose gathered pixels (3200 x 2700 values) take several chunks
        for (const [n, h, wd, c, k, stride, pad, oc] of [[2, 5, 6, 7, 1, 1, 0, 9], [2, 7, 6, 5, 3, 1, 1, 4], [3, 9, 7, 3, 3, 2, 1, 5], [2, 40, 40, 300, 3, 1, 1, 8]] as const) {
          const xi = r([n, h, wd, c], 20 + c) as tf.Tensor4D;
          const wi = r([k, k, c, oc], 21 + c) as tf.Tensor4D;
          const bi = r([oc], 22 + c);
          const want = tf.add(tf.conv2d(xi, wi, stride, pad), bi);
          const sizes = [n, h, wd, c, k, k, stride, pad, oc];
          const res = r(want.shape, 23 + c);
          close(nativeOp('conv2d', [xi, wi, bi, null], want.shape, [...sizes, false]), want, 1e-4);
          close(nativeOp('conv2d', [xi, wi, null, null], want.shape, [...sizes, false]), tf.conv2d(xi, wi, stride, pad), 1e-4);
          close(nativeOp('conv2d', [xi, wi, bi, res], want.shape, [...sizes, true]), tf.relu(tf.add(want, res)), 1e-4);
        }
        // multi-head attention on q | k | v rows: 3 sequences of 9 tokens, 2 heads of d; d = 4 runs
        // the library's sgemm on the avx2 and avx512 paths, 24 and 48 the tiled kernel (whole
        // vectors of 8 or 16: two-vector panels, a one-vector panel, row blocks of 6 and fewer)
        for (const d of [4, 24, 48]) {
          const [n, l, heads] = [3, 9, 2];
          const W = heads * d;
          const scale = 1 / Math.sqrt(d);
          const qkv = r([n * l, 3 * W], 11 + d).mul(2) as tf.Tensor2D;
          const causal = tf.tensor2d(Array.from({ length: l * l }, (_, i) => (i % l > Math.floor(i / l) ? -Infinity : 0)), [l, l]);
          const reference = (t: tf.Tensor, mask?: tf.Tensor) => {
            const part = (i: number) => tf.transpose(tf.reshape(tf.slice(t, [0, i * W], [-1, W]), [n, l, heads, d]), [0, 2, 1, 3]); // [n, H, l, d]
            const scores = tf.mul(tf.matMul(part(0) as tf.Tensor4D, part(1) as tf.Tensor4D, false, true), scale);
            const o = tf.matMul(tf.softmax(mask ? tf.add(scores, mask) : scores) as tf.Tensor4D, part(2) as tf.Tensor4D); // [n, H, l, d]
            return tf.reshape(tf.transpose(o, [0, 2, 1, 3]), [n * l, W]);
          };
          const dO = r([n * l, W], 12 + d);
          for (const mask of [undefined, causal]) {
            const numbers = [n, 0, 1, l, false, heads, d, !!mask, scale];
            close(nativeOp('attention', [qkv], [n * l, W], numbers), reference(qkv, mask));
            close(nativeOp('attentionGrad', [qkv, dO], qkv.shape, numbers), tf.grad((t: tf.Tensor) => tf.sum(tf.mul(reference(t, mask), dO)))(qkv), 1e-4);
          }
          // shared prefixes: 3 groups of a 4-row prefix and 3 branches of 5 rows (the rows of the
          // 9 joined sequences of 9), branch j in group j % 3; outputs equal the joined sequences'
          const joinedRows = (t: tf.Tensor, j: number, g: number) => tf.concat([tf.slice(t, [g * 4, 0], [4, -1]), tf.slice(t, [12 + j * 5, 0], [5, -1])], 0);
          const [nj, lj] = [9, 9];
          // the tree's rows in its own order (prefixes, then the branches), from the joined sequences
          const refTree = (t: tf.Tensor) => {
            const joined = tf.concat(Array.from({ length: nj }, (_, j) => joinedRows(t, j, j % 3)), 0); // [9 * 9, 3W]
            const part = (i: number) => tf.transpose(tf.reshape(tf.slice(joined, [0, i * W], [-1, W]), [nj, lj, heads, d]), [0, 2, 1, 3]);
            const scores = tf.add(tf.mul(tf.matMul(part(0) as tf.Tensor4D, part(1) as tf.Tensor4D, false, true), scale), causal);
            const o = tf.reshape(tf.transpose(tf.matMul(tf.softmax(scores) as tf.Tensor4D, part(2) as tf.Tensor4D), [0, 2, 1, 3]), [nj * lj, W]);
            return tf.concat([
              ...[0, 1, 2].map((g) => tf.slice(o, [g * lj, 0], [4, -1])),
              ...Array.from({ length: nj }, (_, j) => tf.slice(o, [j * lj + 4, 0], [5, -1])),
            ], 0);
          };
          const tree = r([12 + 9 * 5, 3 * W], 14 + d);
          const treeShape = [3, 4, 3, 5, true, heads, d, true, scale];
          close(nativeOp('attention', [tree], [12 + 45, W], treeShape), refTree(tree));
          // the branches' gradients reach their shared prefix rows
          const dTree = r([12 + 45, W], 15 + d);
          close(nativeOp('attentionGrad', [tree, dTree], tree.shape, treeShape), tf.grad((t: tf.Tensor) => tf.sum(tf.mul(refTree(t), dTree)))(tree), 1e-4);
        }
      });
    }
  });

  it('runs the best code path the CPU has unless told, refuses one it has not, and measures a peak on each', () => {
    const info = loadNativeBlas()!;
    expect(info.kernels).toBe(info.kernelPaths[0]);
    if (process.arch === 'x64') expect(info.kernelPaths).toContain('sse2');
    expect(() => setNativeKernelPath('no-such-path')).toThrow(ConfigError);
    expect(info.kernels).toBe(info.kernelPaths[0]);
    for (const p of info.kernelPaths) {
      setNativeKernelPath(p);
      const peak = fmaPeak(0.05, 1)!;
      expect(Number.isFinite(peak) && peak > 1e8, `${p}: ${peak} FLOP/s`).toBe(true);
    }
    setNativeKernelPath(info.kernelPaths[0]!);
  });

  it('leaves int32 products to the backend', async () => {
    await selectBackend('cpu');
    expect(nativeKernelsActive('cpu')).toBe(true);
    const c = tf.matMul(tf.tensor2d([[1, 2]], [1, 2], 'int32'), tf.tensor2d([[3], [4]], [2, 1], 'int32'));
    expect(c.dtype).toBe('int32');
    expect(Array.from(c.dataSync())).toEqual([11]);
  });
});

