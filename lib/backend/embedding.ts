/**
 * Embedding lookup `table[ids]` with a gradient that works (and is fast) on every backend.
 *
 * tf.gather's gradient needs the UnsortedSegmentSum kernel, which the wasm backend lacks. The backward pass here
 * scatter-adds the upstream gradient rows into a [V, D] buffer in plain JS: N*D additions, far cheaper than the
 * one-hot matmul alternative (V*N*D multiply-adds). With the native kernel set both directions are C row copies.
 */
import { tf } from "./backend";
import { customOp } from "./custom-op";
import { activeKernels } from "./kernels/kernel-set";
import { nativeGatherRows } from "./kernels/native-ops";

/** ids: N token ids (validated against the table), table: [V, D] -> [N, D]. */
export function embeddingLookup(ids: Int32Array, table: tf.Tensor2D, opts: { tableGrad: boolean }): tf.Tensor2D {
  const [vocab, dim] = table.shape;
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i]!;
    if (!(id >= 0 && id < vocab)) {
      throw new Error(`embeddingLookup: id ${id} at position ${i} is outside the table's ${vocab} rows`);
    }
  }
  if (activeKernels() === "native") return nativeGatherRows(table, ids); // registered gradient: table only when needed
  const idTensor = () => tf.tensor1d(ids, "int32");
  if (!opts.tableGrad) return tf.gather(table, idTensor()) as tf.Tensor2D;
  const op = customOp<[tf.Tensor2D], tf.Tensor2D>(([t]) => ({
    value: tf.gather(t, idTensor()) as tf.Tensor2D,
    grad: (dy) => {
      const g = dy.dataSync() as Float32Array; // [N, D]
      const out = new Float32Array(vocab * dim);
      for (let i = 0; i < ids.length; i++) {
        const src = i * dim;
        const dst = ids[i]! * dim;
        for (let d = 0; d < dim; d++) out[dst + d]! += g[src + d]!;
      }
      return [tf.tensor2d(out, [vocab, dim])];
    },
  }));
  return op(table);
}
