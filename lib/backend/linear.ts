/**
 * Dense layer `y = x @ W (+ b)` whose backward pass stays on the fast 2D matmul path.
 *
 * tfjs's built-in matMul gradient multiplies with `transposeA`/`transposeB` set, which the wasm backend runs at
 * 1-2 GFLOP/s instead of ~20-35 (shared/NOTES.md). The forward pass is XNNPACK's fused 2D matmul; the backward
 * products dx = dy @ W^T and dW = x^T @ dy run on the kit's SIMD kernel (kernels/batch-matmul.ts), which reads
 * the transposed operand in place (~50 GFLOP/s here; on other backends it is tf.matMul with the flags).
 * db = 1^T @ dy is a [1,N] x [N,out] matmul: a column sum with tf.sum(axis 0) is ~20x slower on wasm.
 *
 * With the native kernel set (kernels/native-ops.ts) the forward pass is one BLAS sgemm with the bias, and the
 * gradient is registered per input, so tfjs computes dW and db only when the weights are being trained.
 *
 * With `weightGrad: false` the weight and bias are closed over rather than passed as inputs, so the tape records
 * no edge to them and their gradients are never computed: under prompt tuning only dx is computed.
 */
import { tf } from "./backend";
import { customOp } from "./custom-op";
import { product } from "./kernels/batch-matmul";
import { activeKernels } from "./kernels/kernel-set";
import { nativeColSum, nativeLinear } from "./kernels/native-ops";

export interface LinearOptions {
  /** Whether gradients w.r.t. the weight and bias are needed (false for a frozen layer). */
  readonly weightGrad: boolean;
}

/** x: [N, in], w: [in, out], b: [out] -> [N, out]. */
export function linear(x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D | null, opts: LinearOptions): tf.Tensor2D {
  if (x.shape[1] !== w.shape[0]) {
    throw new Error(`linear: x is [${x.shape}] but w is [${w.shape}]: inner sizes differ`);
  }
  if (activeKernels() === "native") return nativeLinear(x, w, b); // registered gradient: dW only when W is on the path
  if (!opts.weightGrad) return frozenLinear(x, w, b);
  return b ? linearWithBias(x, w, b) : linearNoBias(x, w);
}

/**
 * y = x @ w^T (+ b) for a weight stored [out, in], e.g. a tied LM head read from the [V, D] token embedding.
 * With the native kernels the product reads w in place and its gradient comes back as [out, in]: no [in, out]
 * transposed copy is made in the forward pass, nor transposed back in the backward pass (for GPT-2 small's
 * 50257 x 768 embedding that is two 154 MB copies per training step). Other kernel sets transpose w once
 * (callers that keep w frozen can cache that transpose and call `linear` instead).
 */
export function linearTransposed(
  x: tf.Tensor2D,
  w: tf.Tensor2D,
  b: tf.Tensor1D | null,
  opts: LinearOptions,
): tf.Tensor2D {
  if (x.shape[1] !== w.shape[1]) {
    throw new Error(
      `linearTransposed: x is [${x.shape}] but w is [${w.shape}] (used as [out, in]): inner sizes differ`,
    );
  }
  if (activeKernels() === "native") return nativeLinear(x, w, b, true);
  return linear(x, tf.transpose(w), b, opts);
}

/** Whether linearTransposed reads the [out, in] weight in place (no transposed copy). */
export function transposedInPlace(): boolean {
  return activeKernels() === "native";
}

function forward(x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D | null): tf.Tensor2D {
  return (b ? tf.fused.matMul({ a: x, b: w, bias: b }) : tf.matMul(x, w)) as tf.Tensor2D;
}

const as3 = (m: tf.Tensor2D) => tf.reshape(m, [1, m.shape[0], m.shape[1]]) as tf.Tensor3D;

/** dx = dy @ W^T: [N, out] @ [out, in], the transpose handled inside the kernel (no transposed copy of W). */
function inputGrad(dy: tf.Tensor2D, w: tf.Tensor2D): tf.Tensor2D {
  return tf.reshape(product(as3(dy), as3(w), false, true), [dy.shape[0], w.shape[0]]);
}

/** dW = x^T @ dy: [in, N] @ [N, out], the transpose handled inside the kernel. */
function weightGradOf(x: tf.Tensor2D, dy: tf.Tensor2D): tf.Tensor2D {
  return tf.reshape(product(as3(x), as3(dy), true, false), [x.shape[1], dy.shape[1]]);
}

/** db = 1^T @ dy: [1, N] @ [N, out] -> [out]. */
export function columnSum(dy: tf.Tensor2D): tf.Tensor1D {
  if (activeKernels() === "native") return nativeColSum(dy);
  return tf.reshape(tf.matMul(tf.ones([1, dy.shape[0]]), dy), [dy.shape[1]]);
}

const linearWithBias = customOp<[tf.Tensor2D, tf.Tensor2D, tf.Tensor1D], tf.Tensor2D>(([x, w, b], save) => {
  save([x, w]);
  return {
    value: forward(x, w, b),
    grad: (dy, [xs, ws]) => [inputGrad(dy, ws as tf.Tensor2D), weightGradOf(xs as tf.Tensor2D, dy), columnSum(dy)],
  };
});

const linearNoBias = customOp<[tf.Tensor2D, tf.Tensor2D], tf.Tensor2D>(([x, w], save) => {
  save([x, w]);
  return {
    value: forward(x, w, null),
    grad: (dy, [xs, ws]) => [inputGrad(dy, ws as tf.Tensor2D), weightGradOf(xs as tf.Tensor2D, dy)],
  };
});

function frozenLinear(x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D | null): tf.Tensor2D {
  const op = customOp<[tf.Tensor2D], tf.Tensor2D>(([xi]) => ({
    value: forward(xi, w, b),
    grad: (dy) => [inputGrad(dy, w)],
  }));
  return op(x);
}
