/**
 * The mixture-of-experts MLP of one block: router Linear(D, E) (no bias) -> softmax -> top-k routing with a
 * capacity (routing.ts) -> each needed expert's GELU MLP on its rows -> rows scaled by their gates and summed
 * back per row. m: [N, D] (the ln_2 output) -> [N, D].
 *
 * Rows move with row gathers whose gradient is a scatter-add (embeddingLookup), so the cost is linear in N.
 * Expert outputs are concatenated in expert-id order with one zero row appended; each row then gathers its
 * rank-0 (and rank-1) result, or the zero row when the assignment was dropped: whatever order a source computes
 * the experts in, every value is the same.
 *
 * Gradients. With a resident source the tape sees every op. With an offloaded source (weights may be evicted
 * as soon as an expert is done) the block is one custom op over [m]: its forward records nothing, and its
 * gradient re-runs the block expert by expert, fetching each expert's weights again and taking that expert's
 * share of d(m) (router path included) while only that expert is needed. The output is linear in the
 * per-expert contributions, so the shares sum to the full gradient. Only d(m) is computed: the backbone
 * (router included) is frozen then, as under prompt tuning.
 */
import { tf } from "../../backend/backend";
import { customOp } from "../../backend/custom-op";
import { gradientsInsideBackward } from "../../backend/nested-gradients";
import { embeddingLookup } from "../../backend/embedding";
import { linear } from "../../backend/linear";
import { activate } from "../activation";
import type { TransformerConfig } from "../config";
import type { ExpertSource, ExpertWeights } from "./expert-source";
import { moeSettings, type MoeSettings } from "./moe-config";
import { currentProbe } from "./moe-probe";
import { Routing, firstChoiceFractions, route } from "./routing";

export interface MoeMlpArgs {
  readonly config: TransformerConfig;
  readonly layer: number;
  readonly routerW: tf.Tensor2D; // [D, E]
  readonly source: ExpertSource;
  readonly weightGrad: boolean;
}

/** m: [N, D] -> [N, D]. */
export function moeMlp(m: tf.Tensor2D, a: MoeMlpArgs): tf.Tensor2D {
  const s = moeSettings(a.config)!;
  if (a.source.resident) return moeForward(m, a, s, null).out;
  if (a.weightGrad)
    throw new Error(
      "mixture-of-experts: training the backbone needs every expert resident (load without an expert-memory budget)",
    );
  const op = customOp<[tf.Tensor2D], tf.Tensor2D>(([mIn], save) => {
    save([mIn]);
    const { out, routing } = moeForward(mIn, a, s, null);
    return {
      value: out,
      grad: (dy, [mSaved]) => [offloadedGrad(mSaved as tf.Tensor2D, dy, a, s, routing)],
    };
  });
  return op(m);
}

/** Router probabilities [N, E] and the gates [N*k, 1] of the routing's choices (renormalised for k = 2). */
function routerGates(m: tf.Tensor2D, a: MoeMlpArgs, s: MoeSettings, routing: Routing | null) {
  const e = s.numExperts;
  const n = m.shape[0];
  const logits = linear(m, a.routerW, null, { weightGrad: a.weightGrad }); // [N, E]
  const probs = tf.softmax(logits) as tf.Tensor2D; // [N, E]
  const r = routing ?? route(probs.dataSync() as Float32Array, n, e, s.expertsPerToken, s.capacityFactor);
  const flat = new Int32Array(n * r.k);
  for (let i = 0; i < n * r.k; i++) flat[i] = Math.floor(i / r.k) * e + r.choice[i]!;
  const sel = embeddingLookup(flat, tf.reshape(probs, [n * e, 1]) as tf.Tensor2D, { tableGrad: true }); // [N*k, 1]
  let gates = sel;
  if (r.k === 2) {
    const pair = tf.reshape(sel, [n, 2]);
    gates = tf.reshape(tf.div(pair, tf.sum(pair, 1, true)), [n * 2, 1]) as tf.Tensor2D;
  }
  return { probs, gates, routing: r };
}

/** One expert's GELU MLP on its rows, scaled by their gates: [n_e, D]. */
function expertRows(m: tf.Tensor2D, gates: tf.Tensor2D, r: Routing, e: number, w: ExpertWeights, a: MoeMlpArgs) {
  const x = embeddingLookup(r.rowsOf[e]!, m, { tableGrad: true }); // [n_e, D]
  const up = linear(x, w.fcW, w.fcB, { weightGrad: a.weightGrad }); // [n_e, F]
  const y = linear(activate(up, a.config.activation), w.projW, w.projB, { weightGrad: a.weightGrad }); // [n_e, D]
  const g = embeddingLookup(r.slotOf[e]!, gates, { tableGrad: true }); // [n_e, 1]
  return tf.mul(y, g) as tf.Tensor2D;
}

function moeForward(m: tf.Tensor2D, a: MoeMlpArgs, s: MoeSettings, given: Routing | null) {
  const [n, d] = m.shape;
  const { probs, gates, routing: r } = routerGates(m, a, s, given);
  report(a.layer, probs, r, s);
  const ys: (tf.Tensor2D | undefined)[] = new Array(s.numExperts);
  a.source.forEach(a.layer, r.needed, (e, w) => {
    ys[e] = expertRows(m, gates, r, e, w, a);
  });
  // Y = [rows of expert 0; rows of expert 1; ...; one zero row]; each assignment's row in Y, or the zero row.
  const pieces: tf.Tensor2D[] = [];
  const position = new Int32Array(n * r.k);
  let offset = 0;
  for (const e of r.needed) {
    const y = ys[e];
    if (!y) throw new Error(`mixture-of-experts: block ${a.layer} expert ${e} was not computed by its source`);
    pieces.push(y);
    r.slotOf[e]!.forEach((slot, i) => (position[slot] = offset + i));
    offset += y.shape[0];
  }
  for (let i = 0; i < n * r.k; i++) if (!r.kept[i]) position[i] = offset;
  pieces.push(tf.zeros([1, d]));
  const all = tf.concat(pieces, 0) as tf.Tensor2D; // [M + 1, D]
  let out: tf.Tensor2D | null = null;
  for (let rank = 0; rank < r.k; rank++) {
    const idx = new Int32Array(n);
    for (let i = 0; i < n; i++) idx[i] = position[i * r.k + rank]!;
    const rows = embeddingLookup(idx, all, { tableGrad: true }); // [N, D]
    out = out ? (tf.add(out, rows) as tf.Tensor2D) : rows;
  }
  return { out: out!, routing: r };
}

/** The load-balancing loss and routing counts, when a probe is collecting (moe-probe.ts). */
function report(layer: number, probs: tf.Tensor2D, r: Routing, s: MoeSettings): void {
  const probe = currentProbe();
  if (!probe) return;
  const f = tf.tensor1d(firstChoiceFractions(r, s.numExperts));
  const meanP = tf.mean(probs, 0); // [E]
  probe.auxLosses.push(tf.mul(tf.sum(tf.mul(f, meanP)), s.numExperts) as tf.Scalar);
  probe.routing.push({
    layer,
    rows: r.rows,
    capacity: r.capacity,
    droppedAssignments: r.droppedAssignments,
    droppedRows: r.droppedRows,
    load: r.rowsOf.map((rows) => rows.length),
  });
}

/** d(m) of an offloaded block, one expert at a time (see the file comment). */
function offloadedGrad(m: tf.Tensor2D, dy: tf.Tensor2D, a: MoeMlpArgs, s: MoeSettings, r: Routing): tf.Tensor2D {
  let dm: tf.Tensor2D = tf.zerosLike(m);
  a.source.forEach(a.layer, r.needed, (e, w) => {
    const share = tf.tidy(() => {
      const contribution = (mm: tf.Tensor) => {
        const { gates } = routerGates(mm as tf.Tensor2D, a, s, r);
        const y = expertRows(mm as tf.Tensor2D, gates, r, e, w, a); // [n_e, D]
        const padded = tf.concat([y, tf.zeros([1, m.shape[1]])], 0) as tf.Tensor2D;
        const idx = new Int32Array(m.shape[0]).fill(y.shape[0]);
        r.rowsOf[e]!.forEach((row, i) => (idx[row] = i)); // a row meets expert e at most once
        return embeddingLookup(idx, padded, { tableGrad: true }); // [N, D]
      };
      return gradientsInsideBackward(() => tf.grads(contribution)([m], dy))[0] as tf.Tensor2D;
    });
    const next = tf.add(dm, share) as tf.Tensor2D;
    dm.dispose();
    share.dispose();
    dm = next;
  });
  return dm;
}
