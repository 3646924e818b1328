/**
 * The distillation term of knowledge inheritance, as one fused op with a closed-form gradient:
 *
 *   D(z) = T^2 * sum_i s_i * KL(p_i || q_i),   q_i = softmax(z_i / T),   p_i = softmax(u_i / T)
 *
 * z: student logits [N, V] (the op's only differentiable input); u: teacher logits [N, V]; s_i = w_i / sum(w)
 * (next-token weights, 0 = position ignored). dD/dz_i = T * s_i * (q_i - p_i): no autodiff through log-softmax.
 *
 * With topK = k the teacher distribution is cut to its k most likely tokens per row and renormalised over them
 * (p_i has support S_i, |S_i| = k) and KL(p_i || q_i) = sum_{v in S_i} p_iv (log p_iv - log q_iv); q stays the
 * full student softmax, so the gradient is still T * s_i * (q_i - p_i) with p_i zero outside S_i. Only the [N, k]
 * probabilities and indices are kept for the backward pass instead of a dense [N, V] teacher distribution.
 *
 * The teacher logits are produced by a thunk that runs inside the op's forward body. tfjs records no tape inside
 * a kernel, so the teacher's forward pass leaves no tape nodes or saved activations behind, whatever it calls.
 */
import { tf } from "../backend/backend";
import { customOp } from "../backend/custom-op";

/** Smallest probability used inside log() for the student (same floor as crossEntropy). */
const MIN_PROB = 1e-30;

export interface DivergenceOptions {
  /** softmax temperature T > 0 applied to both teacher and student logits. */
  readonly temperature: number;
  /** keep only the teacher's k most likely tokens per row (renormalised); null = full vocabulary. */
  readonly topK: number | null;
}

/** Row-wise log-softmax [N, V] computed as x - max - log(sum(exp(x - max))) (tfjs's logSoftmax is slow on wasm). */
function logSoftmaxRows(x: tf.Tensor2D): tf.Tensor2D {
  const shifted = tf.sub(x, tf.max(x, 1, true));
  return tf.sub(shifted, tf.log(tf.sum(tf.exp(shifted), 1, true)));
}

/**
 * studentLogits: [N, V]; teacherLogits: thunk returning [N, V] (called once, off the gradient tape);
 * weights: N non-negative per-row weights, not all zero. Returns the scalar T^2-scaled weighted mean KL (nats).
 * Long on purpose: a forward and backward computation whose intermediate tensors are shared between the two and disposed together.
 */
export function distillationDivergence(
  studentLogits: tf.Tensor2D,
  teacherLogits: () => tf.Tensor2D,
  weights: Float32Array,
  opts: DivergenceOptions,
): tf.Scalar {
  const [n, v] = studentLogits.shape;
  const temp = opts.temperature;
  if (!(typeof temp === "number" && temp > 0 && Number.isFinite(temp))) {
    throw new Error(`distillationDivergence: temperature must be a positive number, got ${temp}`);
  }
  const k = opts.topK;
  if (k !== null && !(Number.isInteger(k) && k >= 1 && k <= v)) {
    throw new Error(`distillationDivergence: topK must be an integer in [1, ${v}] (the vocabulary) or null, got ${k}`);
  }
  if (weights.length !== n)
    throw new Error(`distillationDivergence: student logits have ${n} rows but weights ${weights.length}`);
  let total = 0;
  for (let i = 0; i < n; i++) {
    const w = weights[i]!;
    if (!(w >= 0)) throw new Error(`distillationDivergence: weight ${w} at row ${i} is not a non-negative number`);
    total += w;
  }
  if (!(total > 0)) throw new Error("distillationDivergence: all weights are zero: nothing to learn from");
  const scaled = new Float32Array(n);
  for (let i = 0; i < n; i++) scaled[i] = weights[i]! / total;

  const op = customOp<[tf.Tensor2D], tf.Scalar>(([z], save) => {
    const u = teacherLogits();
    if (u.shape.length !== 2 || u.shape[0] !== n || u.shape[1] !== v) {
      throw new Error(
        `distillationDivergence: teacher logits are [${u.shape.join(", ")}], student logits [${n}, ${v}]`,
      );
    }
    const logQ = logSoftmaxRows(tf.div(z, temp) as tf.Tensor2D); // [N, V]
    const q = tf.exp(logQ);
    let p: tf.Tensor2D; // teacher probabilities on the support: [N, V] or [N, k]
    let logP: tf.Tensor2D;
    let logQOnSupport: tf.Tensor2D;
    let flatIndex: tf.Tensor1D | null = null; // row * V + token of each support entry, [N * k]
    const scaledTeacher = tf.div(u, temp) as tf.Tensor2D;
    if (k === null) {
      logP = logSoftmaxRows(scaledTeacher);
      p = tf.exp(logP);
      logQOnSupport = tf.maximum(logQ, Math.log(MIN_PROB));
    } else {
      const top = tf.topk(scaledTeacher, k, false);
      logP = logSoftmaxRows(top.values as tf.Tensor2D);
      p = tf.exp(logP);
      const rowBase = tf.reshape(tf.mul(tf.range(0, n, 1, "int32"), tf.scalar(v, "int32")), [n, 1]);
      flatIndex = tf.reshape(tf.add(top.indices, rowBase), [-1]) as tf.Tensor1D;
      logQOnSupport = tf.maximum(tf.reshape(tf.gather(tf.reshape(logQ, [-1]), flatIndex), [n, k]), Math.log(MIN_PROB));
    }
    const klRows = tf.sum(tf.mul(p, tf.sub(logP, logQOnSupport)), 1); // [N]
    const value = tf.mul(tf.sum(tf.mul(klRows, tf.tensor1d(scaled))), temp * temp) as tf.Scalar;
    save(flatIndex ? [q, p, flatIndex] : [q, p]);
    return {
      value,
      grad: (dy, saved) => {
        const qs = saved[0] as tf.Tensor2D;
        const ps = saved[1] as tf.Tensor2D;
        const dense =
          saved.length === 3
            ? (tf.reshape(tf.scatterND(tf.reshape(saved[2]!, [-1, 1]), tf.reshape(ps, [-1]), [n * v]), [
                n,
                v,
              ]) as tf.Tensor2D)
            : ps;
        const rowScale = tf.mul(tf.reshape(tf.tensor1d(scaled), [n, 1]), tf.mul(dy, temp)); // [N, 1]
        return [tf.mul(tf.sub(qs, dense), rowScale)];
      },
    };
  });
  return op(studentLogits);
}
