/**
 * A small supervised trainer that knows nothing about prompts or transformers: it takes the variables to
 * train, a loss for a batch of example indices, and a dev-set evaluator. AdamW or Adafactor with a schedule, gradient
 * clipping, evaluation every N steps, early stopping on the dev score (the best variables are restored at the
 * end), a clear stop on a NaN or infinite loss or a diverging one (divergence.ts), per-step callbacks, explicit seeds.
 */
import { tf } from "../backend/backend";
import { Rng } from "../backend/random";
import { NonFiniteLossError } from "./adamw";
import { DivergenceWatch } from "./divergence";
import { makeOptimizer, type OptimizerName } from "./optimizer";
import { Schedule, learningRateAt } from "./schedule";
import { decayFilter } from "./weight-decay";

export interface TrainerOptions {
  readonly steps: number;
  readonly batchSize: number;
  readonly schedule: Schedule;
  /** decoupled weight decay, applied to matrices (rank >= 2: weights, embeddings, prompts), not to biases or LayerNorm. */
  readonly weightDecay: number;
  readonly clipNorm: number;
  /** "adamw" (default) or "adafactor". */
  readonly optimizer?: OptimizerName;
  /** evaluate on dev every N steps (and at the end). */
  readonly evalEvery: number;
  /** stop after this many evaluations without improvement (0 = never stop early). */
  readonly patience: number;
  readonly seed: number;
}

export interface StepInfo {
  readonly step: number;
  readonly loss: number;
  readonly lr: number;
  readonly ms: number;
  readonly gradNorm: number;
}

export interface EvalInfo {
  readonly step: number;
  readonly score: number;
  readonly trainLoss: number;
}

export interface TrainerHooks {
  onStep?(s: StepInfo): void;
  onEval?(e: EvalInfo): void;
}

export interface TrainResult {
  readonly steps: number;
  readonly bestStep: number;
  readonly bestScore: number;
  readonly stoppedEarly: boolean;
  readonly curve: readonly { step: number; trainLoss: number; devScore?: number }[];
  /** mean wall milliseconds per optimizer step (evaluation excluded). */
  readonly msPerStep: number;
}

/** Epoch-wise shuffled mini-batches of indices into [0, n), seeded. */
export class BatchSampler {
  private readonly rng: Rng;
  private order: number[] = [];

  constructor(
    private readonly n: number,
    private readonly batchSize: number,
    seed: number,
  ) {
    if (n < 1) throw new Error("BatchSampler: no training examples");
    this.rng = new Rng(seed);
  }

  next(): number[] {
    const out: number[] = [];
    while (out.length < Math.min(this.batchSize, this.n)) {
      if (this.order.length === 0) this.order = this.rng.shuffle(Array.from({ length: this.n }, (_, i) => i));
      out.push(this.order.pop()!);
    }
    return out;
  }
}

/** One loop on purpose: the step, evaluation, patience, best-weights snapshot and divergence check share the loop's state (best score, steps since best, the curve). */
export async function train(
  vars: readonly tf.Variable[],
  lossFor: (batch: number[]) => tf.Scalar,
  nTrain: number,
  evaluate: () => number,
  opts: TrainerOptions,
  hooks: TrainerHooks = {},
): Promise<TrainResult> {
  const opt = makeOptimizer(
    opts.optimizer ?? "adamw",
    vars,
    { weightDecay: opts.weightDecay, clipNorm: opts.clipNorm },
    decayFilter(vars),
  );
  const sampler = new BatchSampler(nTrain, opts.batchSize, opts.seed);
  const curve: { step: number; trainLoss: number; devScore?: number }[] = [];
  let best = { score: -Infinity, step: 0, values: null as Float32Array[] | null };
  let sinceBest = 0;
  let stoppedEarly = false;
  let trainMs = 0;
  let lossSum = 0;
  let lossCount = 0;
  let step = 0;
  const divergence = new DivergenceWatch();
  const doEval = () => {
    const score = evaluate();
    const trainLoss = lossCount > 0 ? lossSum / lossCount : NaN;
    curve.push({ step, trainLoss, devScore: score });
    hooks.onEval?.({ step, score, trainLoss });
    lossSum = 0;
    lossCount = 0;
    if (score > best.score) {
      best = { score, step, values: vars.map((v) => Float32Array.from(v.dataSync() as Float32Array)) };
      sinceBest = 0;
    } else sinceBest++;
  };
  try {
    for (step = 0; step < opts.steps;) {
      const batch = sampler.next();
      const lr = learningRateAt(opts.schedule, step);
      const t0 = performance.now();
      let res;
      try {
        res = opt.step(() => lossFor(batch), lr);
      } catch (err) {
        if (err instanceof NonFiniteLossError) {
          throw new Error(
            `training stopped at step ${step + 1} of ${opts.steps}: loss ${err.loss}, gradient norm ${err.gradNorm} (not finite); lower the learning rate`,
          );
        }
        throw err;
      }
      const ms = performance.now() - t0;
      trainMs += ms;
      step++;
      divergence.observe(res.loss, step, opts.steps);
      lossSum += res.loss;
      lossCount++;
      hooks.onStep?.({ step, loss: res.loss, lr, ms, gradNorm: res.gradNorm });
      if (step % opts.evalEvery === 0 || step === opts.steps) {
        doEval();
        if (opts.patience > 0 && sinceBest >= opts.patience) {
          stoppedEarly = step < opts.steps;
          break;
        }
      }
      // Let progress displays and signal handlers run.
      await new Promise<void>((r) => setImmediate(r));
    }
  } finally {
    opt.dispose();
  }
  const values = best.values;
  if (values) tf.tidy(() => vars.forEach((v, i) => v.assign(tf.tensor(values[i]!, v.shape))));
  return {
    steps: step,
    bestStep: best.step,
    bestScore: best.score,
    stoppedEarly,
    curve,
    msPerStep: step > 0 ? trainMs / step : 0,
  };
}
