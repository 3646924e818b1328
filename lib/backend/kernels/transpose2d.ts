/**
 * 2D transpose [rows, cols] -> [cols, rows] with a gradient, fast on the wasm backend.
 *
 * tf.transpose of a large matrix costs ~7 ns/element on wasm (shared/NOTES.md). On 'wasm' this op runs our
 * cache-blocked SIMD kernel (kernels.c: 32 x 32 blocks of 4 x 4 shuffle transposes) instead; elsewhere it is
 * tf.transpose. Gradient: dx = transpose2d(dy).
 */
import { tf } from "../backend";
import { customOp } from "../custom-op";
import { onWasm, TRANSPOSE_2D_KERNEL } from "./register-kernels";

/** x: [rows, cols] float32 -> [cols, rows]. */
export function transpose2d(x: tf.Tensor2D): tf.Tensor2D {
  if (x.rank !== 2) throw new Error(`transpose2d: expected a rank-2 tensor, got shape [${x.shape}]`);
  if (x.dtype !== "float32") throw new Error(`transpose2d: expected float32, got ${x.dtype}`);
  return op(x);
}

function plain(x: tf.Tensor2D): tf.Tensor2D {
  if (!onWasm()) return tf.transpose(x);
  return tf.engine().runKernel(TRANSPOSE_2D_KERNEL, { x }) as tf.Tensor2D;
}

const op = customOp<[tf.Tensor2D], tf.Tensor2D>(([x]) => ({
  value: plain(x),
  grad: (dy) => [transpose2d(dy)],
}));
