/**
 * The kit's one weight-decay rule (nanoGPT's configure_optimizers): every matrix decays (attention and MLP
 * weights, token and position embeddings, a soft prompt [P, D]); vectors do not (biases, LayerNorm gains and
 * shifts). Every training loop builds its optimizer's decay filter here.
 */
import type { tf } from "../backend/backend";

/** Whether a parameter of this shape gets weight decay: rank 2 and above. */
export function decays(shape: readonly number[]): boolean {
  return shape.length >= 2;
}

/** The optimizers' decay filter over variable names, for these variables. */
export function decayFilter(vars: readonly tf.Variable[]): (name: string) => boolean {
  const decayed = new Set(vars.filter((v) => decays(v.shape)).map((v) => v.name));
  return (name) => decayed.has(name);
}
