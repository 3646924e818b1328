/**
 * Batched matmul C[b] = op(A[b]) @ op(B[b]) with a gradient, fast on the wasm backend.
 *
 * tfjs-backend-wasm runs rank-3 matMul through a naive loop (~2-3 GFLOP/s, shared/NOTES.md); attention's
 * score/context products and their gradients are exactly that. On 'wasm' this op runs our register-blocked
 * WebAssembly SIMD kernel (kernels.c, ~40-55 GFLOP/s here) and handles both transpose flags inside the kernel,
 * so neither the forward pass nor the gradients transpose anything explicitly. With the native kernel set it is
 * BLAS sgemm (kernel-set.ts); with the tfjs set or on any other backend, tf.matMul with the same gradient formulas.
 *
 * Gradients, for C = op(A) @ op(B) with dC the upstream gradient:
 *   dA = transposeA ? op(B) @ dC^T : dC @ op(B)^T
 *   dB = transposeB ? dC^T @ op(A) : op(A)^T @ dC
 * each one batchMatMul call with flags, so second-order gradients also stay on this op.
 */
import { tf } from "../backend";
import { customOp } from "../custom-op";
import { activeKernels } from "./kernel-set";
import { nativeProduct } from "./native-ops";
import { BATCH_MATMUL_KERNEL, BatchMatMulAttrs } from "./register-kernels";

/**
 * a: [batch, m, k] ([batch, k, m] with transposeA), b: [batch, k, n] ([batch, n, k] with transposeB), both
 * float32 -> [batch, m, n].
 */
export function batchMatMul(a: tf.Tensor3D, b: tf.Tensor3D, transposeA = false, transposeB = false): tf.Tensor3D {
  checkShapes(a, b, transposeA, transposeB);
  return OPS[flagIndex(transposeA, transposeB)]!(a, b);
}

function checkShapes(a: tf.Tensor, b: tf.Tensor, transposeA: boolean, transposeB: boolean): void {
  const where = `batchMatMul(a [${a.shape}], b [${b.shape}], transposeA=${transposeA}, transposeB=${transposeB})`;
  if (a.rank !== 3 || b.rank !== 3) {
    throw new Error(`${where}: expected rank-3 inputs, got ranks ${a.rank} and ${b.rank}`);
  }
  if (a.dtype !== "float32" || b.dtype !== "float32") {
    throw new Error(`${where}: expected float32 inputs, got ${a.dtype} and ${b.dtype}`);
  }
  if (a.shape[0] !== b.shape[0]) {
    throw new Error(`${where}: batch sizes differ (${a.shape[0]} vs ${b.shape[0]})`);
  }
  const kA = transposeA ? a.shape[1] : a.shape[2];
  const kB = transposeB ? b.shape[2] : b.shape[1];
  if (kA !== kB) throw new Error(`${where}: inner sizes differ (op(a) has ${kA} columns, op(b) ${kB} rows)`);
}

function flagIndex(transposeA: boolean, transposeB: boolean): number {
  return (transposeA ? 2 : 0) + (transposeB ? 1 : 0);
}

/** The product without gradient bookkeeping (for use inside other ops' gradient functions). */
export function product(a: tf.Tensor3D, b: tf.Tensor3D, transposeA: boolean, transposeB: boolean): tf.Tensor3D {
  const set = activeKernels();
  if (set === "native") return nativeProduct(a, b, transposeA, transposeB);
  if (set === "tfjs") return tf.matMul(a, b, transposeA, transposeB);
  const attrs: BatchMatMulAttrs = { transposeA, transposeB };
  return tf.engine().runKernel(BATCH_MATMUL_KERNEL, { a, b }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor3D;
}

function makeOp(transposeA: boolean, transposeB: boolean) {
  return customOp<[tf.Tensor3D, tf.Tensor3D], tf.Tensor3D>(([a, b], save) => {
    save([a, b]);
    return {
      value: product(a, b, transposeA, transposeB),
      grad: (dy, [sa, sb]) => {
        const as = sa as tf.Tensor3D;
        const bs = sb as tf.Tensor3D;
        const da = transposeA ? batchMatMul(bs, dy, transposeB, true) : batchMatMul(dy, bs, false, !transposeB);
        const db = transposeB ? batchMatMul(dy, as, true, transposeA) : batchMatMul(as, dy, !transposeA, false);
        return [da, db];
      },
    };
  });
}

/** One op per flag combination, indexed by flagIndex. */
const OPS = [makeOp(false, false), makeOp(false, true), makeOp(true, false), makeOp(true, true)];
