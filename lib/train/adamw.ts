/**
 * AdamW (Loshchilov & Hutter) over an explicit list of variables, with global-norm gradient clipping, a
 * per-step learning rate, and state that saves and restores exactly (for resumable runs).
 *
 * The optimizer only ever touches the variables it was built with, and refuses non-trainable ones: a frozen
 * backbone cannot be handed to it by mistake.
 */
import { activeKernels } from "../backend/kernels/kernel-set";
import { nativeAdamW } from "../backend/kernels/native-ops";
import { tf } from "../backend/backend";
import { gradientStep, type StepResult } from "./gradient-step";
import type { Optimizer } from "./optimizer";

export { NonFiniteLossError, type StepResult } from "./gradient-step";

export interface AdamWOptions {
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  /** decoupled weight decay coefficient (0 = plain Adam). */
  readonly weightDecay: number;
  /** clip the global gradient norm to this value (0 = no clipping). */
  readonly clipNorm: number;
}

export const DEFAULT_ADAMW: AdamWOptions = Object.freeze({
  beta1: 0.9,
  beta2: 0.999,
  eps: 1e-8,
  weightDecay: 0,
  clipNorm: 1,
});

export class AdamW implements Optimizer {
  readonly vars: readonly tf.Variable[];
  readonly options: AdamWOptions;
  private readonly m: tf.Variable[];
  private readonly v: tf.Variable[];
  private t = 0;
  /** Names (of vars) that get weight decay; biases, LayerNorm and embeddings usually do not. */
  private readonly decay: boolean[];

  constructor(
    vars: readonly tf.Variable[],
    options: Partial<AdamWOptions> = {},
    decayFilter?: (name: string) => boolean,
  ) {
    if (vars.length === 0) throw new Error("AdamW: no variables to train");
    for (const v of vars) {
      if (!v.trainable)
        throw new Error(`AdamW: variable '${v.name}' is not trainable (frozen); refusing to optimize it`);
    }
    this.vars = [...vars];
    this.options = { ...DEFAULT_ADAMW, ...options };
    // tidy: the zero tensors the variables start from are released (a variable keeps its own reference)
    this.m = this.vars.map((v) => tf.tidy(() => tf.variable(tf.zerosLike(v), false)));
    this.v = this.vars.map((v) => tf.tidy(() => tf.variable(tf.zerosLike(v), false)));
    this.decay = this.vars.map((v) => (decayFilter ? decayFilter(v.name) : false));
  }

  /** Number of steps taken. */
  get steps(): number {
    return this.t;
  }

  /** Optimizer-state scalars: two moments per trained scalar. */
  get stateSize(): number {
    return this.vars.reduce((n, v) => n + 2 * v.size, 0);
  }

  /**
   * Computes the loss and gradients w.r.t. this optimizer's variables only, clips, and applies one update.
   * Throws (without updating) if the loss or the gradient norm is not finite.
   */
  step(lossFn: () => tf.Scalar, lr: number): StepResult {
    return gradientStep(this.vars, lossFn, this.options.clipNorm, this.t, (grads, scale) =>
      this.apply(grads, lr, scale),
    );
  }

  private apply(grads: tf.Tensor[], lr: number, scale: number): void {
    const { beta1, beta2, eps, weightDecay } = this.options;
    this.t++;
    const c1 = 1 - Math.pow(beta1, this.t);
    const c2 = 1 - Math.pow(beta2, this.t);
    const fused = activeKernels() === "native";
    tf.tidy(() => {
      this.vars.forEach((p, i) => {
        const decay = weightDecay > 0 && this.decay[i] ? weightDecay : 0;
        if (fused) {
          // native kernels: the whole update in one pass (new buffers, then assigned)
          const [np, nm, nv] = nativeAdamW(p, grads[i]!, this.m[i]!, this.v[i]!, {
            lr,
            beta1,
            beta2,
            eps,
            decay,
            c1,
            c2,
            scale,
          });
          this.m[i]!.assign(nm);
          this.v[i]!.assign(nv);
          p.assign(np);
          return;
        }
        const g = scale === 1 ? grads[i]! : tf.mul(grads[i]!, scale);
        const m = tf.add(tf.mul(this.m[i]!, beta1), tf.mul(g, 1 - beta1));
        const v = tf.add(tf.mul(this.v[i]!, beta2), tf.mul(tf.square(g), 1 - beta2));
        this.m[i]!.assign(m);
        this.v[i]!.assign(v);
        let update = tf.div(tf.mul(m, lr / c1), tf.add(tf.sqrt(tf.div(v, c2)), eps));
        if (weightDecay > 0 && this.decay[i]) update = tf.add(update, tf.mul(p, lr * weightDecay));
        p.assign(tf.sub(p, update));
      });
    });
  }

  /** Moment estimates and step count, for checkpointing. */
  state(): { step: number; m: Float32Array[]; v: Float32Array[] } {
    return {
      step: this.t,
      m: this.m.map((x) => Float32Array.from(x.dataSync() as Float32Array)),
      v: this.v.map((x) => Float32Array.from(x.dataSync() as Float32Array)),
    };
  }

  /** Restores state saved by state(); shapes must match. */
  restore(s: { step: number; m: Float32Array[]; v: Float32Array[] }): void {
    if (s.m.length !== this.vars.length || s.v.length !== this.vars.length) {
      throw new Error(`AdamW.restore: state has ${s.m.length} slots, optimizer has ${this.vars.length}`);
    }
    this.vars.forEach((p, i) => {
      if (s.m[i]!.length !== p.size || s.v[i]!.length !== p.size) {
        throw new Error(`AdamW.restore: slot ${i} ('${p.name}') has ${s.m[i]!.length} values, expected ${p.size}`);
      }
    });
    tf.tidy(() =>
      this.vars.forEach((p, i) => {
        this.m[i]!.assign(tf.tensor(s.m[i]!, p.shape));
        this.v[i]!.assign(tf.tensor(s.v[i]!, p.shape));
      }),
    );
    this.t = s.step;
  }

  dispose(): void {
    [...this.m, ...this.v].forEach((x) => x.dispose());
  }
}
