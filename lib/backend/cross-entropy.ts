/**
 * Weighted softmax cross-entropy over a vocabulary, with a fused gradient.
 *
 * loss = sum_i w_i * -log softmax(logits_i)[target_i] / sum_i w_i. The backward pass is the closed form
 * (softmax - onehot) * w_i / sum(w), computed from the softmax the forward pass already made; tfjs's
 * logSoftmax is ~4x slower than softmax on wasm, and autodiff through it would add several [N, V] passes.
 */
import { tf } from "./backend";
import { customOp } from "./custom-op";
import { activeKernels } from "./kernels/kernel-set";
import { nativeSoftmaxCrossEntropy } from "./kernels/native-ops";

/** Smallest probability used inside log(), so a vanishing target probability gives a large finite loss. */
const MIN_PROB = 1e-30;

/**
 * logits: [N, V]; targets: N ids; weights: N non-negative weights (0 = ignore position), not all zero.
 * Returns a scalar.
 */
export function crossEntropy(logits: tf.Tensor2D, targets: Int32Array, weights: Float32Array): tf.Scalar {
  const [n, v] = logits.shape;
  if (targets.length !== n || weights.length !== n) {
    throw new Error(`crossEntropy: logits have ${n} rows but targets ${targets.length} and weights ${weights.length}`);
  }
  let total = 0;
  const flat = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const t = targets[i]!;
    if (!(t >= 0 && t < v)) throw new Error(`crossEntropy: target ${t} at row ${i} is outside vocabulary ${v}`);
    flat[i] = i * v + t;
    total += weights[i]!;
  }
  if (!(total > 0)) throw new Error("crossEntropy: all weights are zero: nothing to learn from");
  const scaled = new Float32Array(n);
  for (let i = 0; i < n; i++) scaled[i] = weights[i]! / total;

  if (activeKernels() === "native") {
    const nativeOp = customOp<[tf.Tensor2D], tf.Scalar>(([z], save) => {
      const [loss, grad] = nativeSoftmaxCrossEntropy(z, targets, scaled); // one pass: loss and its gradient
      save([grad]);
      // dy is 1 when the loss is what is differentiated (the usual case): the saved gradient is then the answer,
      // and scaling it would make another [N, V] pass and buffer (206 MB for GPT-2 small at 1024 rows)
      return {
        value: loss,
        grad: (dy, [g]) => [dy.size === 1 && dy.dataSync()[0] === 1 ? tf.clone(g!) : tf.mul(g as tf.Tensor2D, dy)],
      };
    });
    return nativeOp(logits);
  }
  const op = customOp<[tf.Tensor2D], tf.Scalar>(([z], save) => {
    const p = tf.softmax(z); // [N, V]
    save([p]);
    const pt = tf.gather(tf.reshape(p, [-1]), tf.tensor1d(flat, "int32")); // [N]
    const nll = tf.neg(tf.log(tf.maximum(pt, MIN_PROB)));
    return {
      value: tf.sum(tf.mul(nll, tf.tensor1d(scaled))) as tf.Scalar,
      grad: (dy, [ps]) => {
        // tfjs-backend-wasm 4.22's OneHot returns all zeros when asked for float32 output: build int32, then cast.
        const onehot = tf.cast(tf.oneHot(tf.tensor1d(targets, "int32"), v), "float32"); // [N, V]
        const w = tf.mul(tf.reshape(tf.tensor1d(scaled), [n, 1]), dy); // [N, 1]
        return [tf.mul(tf.sub(ps as tf.Tensor2D, onehot), w)];
      },
    };
  });
  return op(logits);
}
