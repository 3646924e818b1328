/**
 * The options of a pre-training run and their checks. Every value is checked before anything runs (a zero batch
 * would loop forever building evaluation windows, zero steps would write an untrained model), and each message
 * names the option in the caller's words: the library's field names by default, the CLI's flags when
 * scripts/pretrain.ts passes PRETRAIN_FLAGS.
 */
import type { TransformerConfig } from "../backbone/config";
import {
  fail,
  finiteNumber,
  fraction,
  integer,
  isInteger,
  nonNegativeInt,
  nonNegativeNumber,
  positiveInt,
} from "../io/validate";

export interface PretrainOptions {
  readonly config: TransformerConfig;
  readonly seed: number;
  readonly steps: number;
  readonly batch: number;
  readonly length: number;
  readonly lr: number;
  readonly warmupSteps: number;
  readonly minLrRatio: number;
  readonly weightDecay: number;
  readonly clipNorm: number;
  /** evaluate validation loss every N steps. */
  readonly evalEvery: number;
  /** validation tokens per evaluation (at least one batch). */
  readonly evalTokens: number;
  /** checkpoint at least every N seconds. */
  readonly ckptSeconds: number;
  /** print a progress line every N steps. */
  readonly logEvery: number;
  /**
   * Activation checkpointing (recompute each block in the backward pass: less memory, slower steps). Not part of
   * the run's identity: it does not change the computed values, so a run may resume with or without it.
   */
  readonly checkpoint?: boolean;
  /**
   * Continued pre-training: the checkpoint the run's weights start from (a fresh optimizer and learning-rate
   * schedule; the data order follows `seed`). Part of the run's identity, so a run never resumes from another start.
   */
  readonly init?: PretrainInit;
}

/** The checkpoint a continued run starts from, as recorded in its state and model card. */
export interface PretrainInit {
  readonly name: string;
  readonly fingerprint: string;
  /** Tokens the starting checkpoint had already been trained on (0 when its card does not say). */
  readonly tokensSeen: number;
  /** Training wall seconds the starting checkpoint had cost (0 when unknown). */
  readonly wallSeconds: number;
}

type Checked = Exclude<keyof PretrainOptions, "config" | "checkpoint" | "init">;

/** The user's word for each option: how messages name it. */
export type OptionWords = Readonly<Record<Checked, string>>;

/** Library callers: "pretrain options: batch must be a positive integer, got 0". */
export const PRETRAIN_FIELDS: OptionWords = Object.freeze({
  seed: "seed",
  steps: "steps",
  batch: "batch",
  length: "length",
  lr: "lr",
  warmupSteps: "warmupSteps",
  minLrRatio: "minLrRatio",
  weightDecay: "weightDecay",
  clipNorm: "clipNorm",
  evalEvery: "evalEvery",
  evalTokens: "evalTokens",
  ckptSeconds: "ckptSeconds",
  logEvery: "logEvery",
});

/** The pretrain CLI: "--batch must be a positive integer, got 0" (options without a flag keep their field name). */
export const PRETRAIN_FLAGS: OptionWords = Object.freeze({
  ...PRETRAIN_FIELDS,
  seed: "--seed",
  steps: "--steps",
  batch: "--batch",
  length: "--length",
  lr: "--lr",
  warmupSteps: "--warmup",
  weightDecay: "--weight-decay",
  evalEvery: "--eval-every",
  evalTokens: "--eval-tokens",
  ckptSeconds: "--ckpt-seconds",
  logEvery: "--log-every",
});

/**
 * Checks every option's type and range (throws a ValidationError naming the first bad one): positive steps,
 * batch, evaluation and log intervals; a window length of 2 .. config.maxLen tokens (one predicted token at
 * least); lr > 0; non-negative seed, warmup, weight decay, clip norm and checkpoint interval; evaluation tokens
 * of at least one batch (batch x length).
 */
export function checkPretrainOptions(
  o: PretrainOptions,
  words: OptionWords = PRETRAIN_FIELDS,
  prefix = words === PRETRAIN_FIELDS ? "pretrain options: " : "",
): void {
  const w = (k: Checked) => `${prefix}${words[k]}`;
  nonNegativeInt(o.seed, w("seed"));
  positiveInt(o.steps, w("steps"));
  positiveInt(o.batch, w("batch"));
  integer(o.length, w("length"), { min: 2, max: o.config.maxLen });
  finiteNumber(o.lr, w("lr"), { above: 0 });
  nonNegativeInt(o.warmupSteps, w("warmupSteps"));
  fraction(o.minLrRatio, w("minLrRatio"));
  nonNegativeNumber(o.weightDecay, w("weightDecay"));
  nonNegativeNumber(o.clipNorm, w("clipNorm"));
  positiveInt(o.evalEvery, w("evalEvery"));
  const oneBatch = o.batch * o.length;
  if (!isInteger(o.evalTokens) || o.evalTokens < oneBatch) {
    fail(
      w("evalTokens"),
      `an integer >= ${oneBatch} (one batch: ${words.batch} ${o.batch} x ${words.length} ${o.length})`,
      o.evalTokens,
    );
  }
  nonNegativeNumber(o.ckptSeconds, w("ckptSeconds"));
  positiveInt(o.logEvery, w("logEvery"));
}

/**
 * Checks that the token streams hold what the run needs: a training window (length + 1 tokens) and one
 * validation batch (batch x length tokens), naming the stream and the option words.
 */
export function checkPretrainStreams(
  train: Int32Array,
  val: Int32Array,
  o: PretrainOptions,
  words: OptionWords = PRETRAIN_FIELDS,
): void {
  if (train.length < o.length + 1) {
    throw new Error(
      `the training stream holds ${train.length} tokens, fewer than one window of ${words.length} ${o.length} (+1)`,
    );
  }
  if (val.length < o.batch * o.length) {
    throw new Error(
      `the validation stream holds ${val.length} tokens, fewer than one evaluation batch (${words.batch} ${o.batch} x ${words.length} ${o.length} = ${o.batch * o.length})`,
    );
  }
}
