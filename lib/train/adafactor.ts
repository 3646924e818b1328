/**
 * Adafactor (Shazeer & Stern 2018, "Adafactor: Adaptive Learning Rates with Sublinear Memory Cost"), the optimizer
 * T5, Lester et al. (2021) prompt tuning and CPM-2 used. For a matrix parameter [n, m] the second moment is kept
 * factored, as a row vector R [n] and a column vector C [m] of mean squared gradients, and rebuilt as the rank-1
 * estimate V = R Cᵀ / mean(R): n + m numbers of state instead of Adam's 2·n·m. Vectors (biases, LayerNorm) keep
 * an unfactored second moment. Per step t (1-based), following the paper's Algorithm 4:
 *
 *   β2(t) = 1 − t^decayRate                                  (decayRate −0.8: β2(1) = 0, then rising toward 1)
 *   G² = g² + eps1
 *   R ← β2 R + (1 − β2) mean_cols(G²);  C ← β2 C + (1 − β2) mean_rows(G²);  V = R Cᵀ / mean(R)
 *   U = g / √V;  U ← U / max(1, RMS(U) / clipThreshold)     (update clipping, instead of Adam's bias correction)
 *   α = lr · (scaleParameter ? max(eps2, RMS(X)) : 1)
 *   [optional momentum: M ← β1 M + (1 − β1) U; U = M]
 *   X ← X − α U − α · weightDecay · X
 *
 * The learning rate comes from the caller's schedule each step (the paper's relative step size is a schedule
 * choice; Lester et al. used a constant 0.3 without parameter scaling, which is this class's default form).
 * Global-norm gradient clipping (clipNorm) is applied first, as for AdamW, so both optimizers see the same
 * gradients. Like AdamW it only touches the variables it was built with and refuses non-trainable ones.
 */
import { tf } from "../backend/backend";
import { gradientStep, type StepResult } from "./gradient-step";
import type { Optimizer } from "./optimizer";

export interface AdafactorOptions {
  /** exponent of the second-moment decay schedule β2(t) = 1 − t^decayRate (must be < 0). */
  readonly decayRate: number;
  /** added to squared gradients (keeps √V away from 0). */
  readonly eps1: number;
  /** lower bound of the parameter RMS when scaleParameter is on. */
  readonly eps2: number;
  /** update clipping threshold d: the update's RMS is capped at d (0 = off). */
  readonly clipThreshold: number;
  /** first-moment decay; null = no momentum (the memory-saving default). */
  readonly beta1: number | null;
  /** scale the step by the parameter's RMS (relative step sizes). */
  readonly scaleParameter: boolean;
  /** decoupled weight decay coefficient. */
  readonly weightDecay: number;
  /** clip the global gradient norm to this value first (0 = no clipping). */
  readonly clipNorm: number;
}

export const DEFAULT_ADAFACTOR: AdafactorOptions = Object.freeze({
  decayRate: -0.8,
  eps1: 1e-30,
  eps2: 1e-3,
  clipThreshold: 1,
  beta1: null,
  scaleParameter: false,
  weightDecay: 0,
  clipNorm: 1,
});

/** Second-moment state of one parameter: factored (row, col) for matrices, full (v) otherwise. */
type Slot = { kind: "factored"; row: tf.Variable; col: tf.Variable } | { kind: "full"; v: tf.Variable };

export class Adafactor implements Optimizer {
  readonly vars: readonly tf.Variable[];
  readonly options: AdafactorOptions;
  private readonly slots: Slot[];
  private readonly momentum: (tf.Variable | null)[];
  private readonly decay: boolean[];
  private t = 0;

  constructor(
    vars: readonly tf.Variable[],
    options: Partial<AdafactorOptions> = {},
    decayFilter?: (name: string) => boolean,
  ) {
    if (vars.length === 0) throw new Error("Adafactor: no variables to train");
    for (const v of vars) {
      if (!v.trainable)
        throw new Error(`Adafactor: variable '${v.name}' is not trainable (frozen); refusing to optimize it`);
    }
    const o = { ...DEFAULT_ADAFACTOR, ...options };
    if (!(o.decayRate < 0)) throw new Error(`Adafactor: decayRate must be < 0, got ${o.decayRate}`);
    if (o.beta1 !== null && !(o.beta1 >= 0 && o.beta1 < 1))
      throw new Error(`Adafactor: beta1 must be in [0, 1) or null, got ${o.beta1}`);
    for (const k of ["eps1", "eps2", "clipThreshold", "weightDecay", "clipNorm"] as const) {
      if (!(Number.isFinite(o[k]) && o[k] >= 0))
        throw new Error(`Adafactor: ${k} must be a finite number >= 0, got ${o[k]}`);
    }
    this.options = o;
    this.vars = [...vars];
    // tidy: the zero tensors the variables start from are released (a variable keeps its own reference)
    this.slots = this.vars.map((p): Slot =>
      tf.tidy(() => {
        if (p.rank >= 2) {
          const [n, m] = matrixShape(p.shape);
          return {
            kind: "factored",
            row: tf.variable(tf.zeros([n, 1]), false),
            col: tf.variable(tf.zeros([1, m]), false),
          };
        }
        return { kind: "full", v: tf.variable(tf.zerosLike(p), false) };
      }),
    );
    this.momentum = this.vars.map((p) =>
      o.beta1 === null ? null : tf.tidy(() => tf.variable(tf.zerosLike(p), false)),
    );
    this.decay = this.vars.map((v) => (decayFilter ? decayFilter(v.name) : false));
  }

  get steps(): number {
    return this.t;
  }

  /** Optimizer-state scalars: n + m per matrix, size per vector, plus momentum if on. */
  get stateSize(): number {
    let n = 0;
    this.slots.forEach((s, i) => {
      n += s.kind === "factored" ? s.row.size + s.col.size : s.v.size;
      if (this.momentum[i]) n += this.vars[i]!.size;
    });
    return n;
  }

  step(lossFn: () => tf.Scalar, lr: number): StepResult {
    return gradientStep(this.vars, lossFn, this.options.clipNorm, this.t, (grads, scale) =>
      this.apply(grads, lr, scale),
    );
  }

  private apply(grads: tf.Tensor[], lr: number, scale: number): void {
    const { decayRate, eps1, eps2, clipThreshold, beta1, scaleParameter, weightDecay } = this.options;
    this.t++;
    const beta2 = 1 - Math.pow(this.t, decayRate);
    tf.tidy(() => {
      this.vars.forEach((p, i) => {
        const g = scale === 1 ? grads[i]! : tf.mul(grads[i]!, scale);
        const slot = this.slots[i]!;
        let u: tf.Tensor;
        if (slot.kind === "factored") {
          const [n, m] = matrixShape(p.shape);
          const g2 = tf.add(tf.square(g.reshape([n, m])), eps1);
          const row = tf.add(tf.mul(slot.row, beta2), tf.mul(tf.mean(g2, 1, true), 1 - beta2));
          const col = tf.add(tf.mul(slot.col, beta2), tf.mul(tf.mean(g2, 0, true), 1 - beta2));
          slot.row.assign(row);
          slot.col.assign(col);
          // V = R Cᵀ / mean(R); U = g / √V = g · rsqrt(R / mean(R)) · rsqrt(C), computed without forming V.
          const rowFactor = tf.rsqrt(tf.div(row, tf.mean(row)));
          const colFactor = tf.rsqrt(col);
          u = tf.mul(tf.mul(g.reshape([n, m]), rowFactor), colFactor).reshape(p.shape);
        } else {
          const v = tf.add(tf.mul(slot.v, beta2), tf.mul(tf.add(tf.square(g), eps1), 1 - beta2));
          slot.v.assign(v);
          u = tf.mul(g, tf.rsqrt(v));
        }
        if (clipThreshold > 0) {
          const rms = Math.sqrt(tf.mean(tf.square(u)).dataSync()[0]!);
          if (rms > clipThreshold) u = tf.div(u, rms / clipThreshold);
        }
        let alpha = lr;
        if (scaleParameter) alpha *= Math.max(eps2, Math.sqrt(tf.mean(tf.square(p)).dataSync()[0]!));
        const mom = this.momentum[i];
        if (mom) {
          const mNew = tf.add(tf.mul(mom, beta1!), tf.mul(u, 1 - beta1!));
          mom.assign(mNew);
          u = mNew;
        }
        let next = tf.sub(p, tf.mul(u, alpha));
        if (weightDecay > 0 && this.decay[i]) next = tf.sub(next, tf.mul(p, alpha * weightDecay));
        p.assign(next);
      });
    });
  }

  /** Step count and every state tensor (per parameter: [row, col] or [v], then momentum if on). */
  state(): { step: number; slots: Float32Array[][] } {
    return {
      step: this.t,
      slots: this.slots.map((s, i) => {
        const parts = s.kind === "factored" ? [s.row, s.col] : [s.v];
        const mom = this.momentum[i];
        return [...parts, ...(mom ? [mom] : [])].map((x) => Float32Array.from(x.dataSync() as Float32Array));
      }),
    };
  }

  /** Restores state saved by state(); sizes must match. */
  restore(s: { step: number; slots: Float32Array[][] }): void {
    if (s.slots.length !== this.vars.length)
      throw new Error(`Adafactor.restore: state has ${s.slots.length} slots, optimizer has ${this.vars.length}`);
    const targets = this.slots.map((slot, i) => {
      const mom = this.momentum[i];
      return [...(slot.kind === "factored" ? [slot.row, slot.col] : [slot.v]), ...(mom ? [mom] : [])];
    });
    targets.forEach((ts, i) => {
      const got = s.slots[i]!;
      if (got.length !== ts.length || got.some((a, j) => a.length !== ts[j]!.size)) {
        throw new Error(
          `Adafactor.restore: slot ${i} ('${this.vars[i]!.name}') has sizes [${got.map((a) => a.length)}], expected [${ts.map((t) => t.size)}]`,
        );
      }
    });
    tf.tidy(() => targets.forEach((ts, i) => ts.forEach((t, j) => t.assign(tf.tensor(s.slots[i]![j]!, t.shape)))));
    this.t = s.step;
  }

  dispose(): void {
    this.slots.forEach((s) => (s.kind === "factored" ? [s.row, s.col] : [s.v]).forEach((x) => x.dispose()));
    this.momentum.forEach((m) => m?.dispose());
  }
}

/** A tensor of rank >= 2 seen as a matrix: leading dims flattened into rows, the last dim as columns. */
function matrixShape(shape: readonly number[]): [number, number] {
  const m = shape[shape.length - 1]!;
  return [shape.slice(0, -1).reduce((a, b) => a * b, 1), m];
}
