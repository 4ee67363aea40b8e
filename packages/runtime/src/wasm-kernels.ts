/**
 * Kernel replacements for tfjs's `wasm` backend that change no value, only what is copied.
 *
 * Identity: the wasm kernel copies its input into a new buffer. tfjs calls it for every tensor a
 * gradient saves (`save` in tf.customGrad, saved inputs of built-in ops) and for tf.clone, so a
 * training step copies every activation it keeps for the backward pass once more (in CLIP's text
 * tower: 7 tensors per residual block, ~0.6 s of a 7 s step at ViT-B/16 scale). Tensors are
 * immutable and tf.Variable.assign swaps buffers rather than writing into them, so the output can
 * share the input's buffer, as the cpu backend's Identity and every backend's Reshape already do.
 */
import * as tf from '@tensorflow/tfjs-core';

interface RefCountingBackend {
  incRef(dataId: tf.DataId): void;
}

let installed = false;

/** Makes the wasm backend's Identity share its input's buffer. Idempotent. */
export function shareWasmIdentity(): void {
  if (installed) return;
  const original = tf.getKernel('Identity', 'wasm');
  if (!original) return;
  tf.unregisterKernel('Identity', 'wasm');
  tf.registerKernel({
    kernelName: 'Identity',
    backendName: 'wasm',
    kernelFunc: (args) => {
      const x = (args.inputs as { x: tf.TensorInfo }).x;
      if (x.dtype === 'string') return original.kernelFunc(args) as tf.TensorInfo;
      (args.backend as unknown as RefCountingBackend).incRef(x.dataId);
      return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
    },
  });
  installed = true;
}
