/**
 * Knowledge inheritance (Qin et al. 2021, "Knowledge Inheritance for Pre-trained Language Models"; used to
 * pre-train CPM-2): a larger student is pre-trained with help from a smaller, already pre-trained teacher.
 *
 *   L_t = (1 - a_t) * LM(student) + a_t * T^2 * KL(teacher || student)
 *
 * over the same next-token positions (weights from nextTokenTargets), where a_t decays linearly from
 * `alphaStart` at step 0 to 0 at step `alphaEndStep` and stays 0 after: early on the student imitates the
 * teacher, later it learns from the data alone and can surpass it. Once a_t = 0 the teacher is not run at all.
 *
 * The teacher is frozen (no weight gradients, never in the optimizer's set) and runs in inference mode off the
 * gradient tape (see ki-divergence.ts). Teacher and student must share the tokenizer: the same vocabulary size is
 * checked here, the same tokenizer file by the caller that loads both (scripts/pretrain.ts).
 */
import { finiteNumber, fraction, knownKeys, nonNegativeInt, nullable, positiveInt } from "../io/validate";
import { tf } from "../backend/backend";
import { crossEntropy } from "../backend/cross-entropy";
import { nextTokenTargets } from "../backbone/lm-loss";
import type { TransformerConfig } from "../backbone/config";
import type { Transformer } from "../backbone/transformer";
import type { TokenBatch } from "./batches";
import { distillationDivergence } from "./ki-divergence";
import type { LossFn } from "./pretrainer";

export interface KiOptions {
  /** weight a_0 of the distillation term at step 0, in [0, 1]. */
  readonly alphaStart: number;
  /** step at which a_t reaches 0 (linear decay; 0 = no distillation at all). */
  readonly alphaEndStep: number;
  /** softmax temperature T > 0 for teacher and student in the distillation term. */
  readonly temperature: number;
  /** keep only the teacher's top-k tokens per position (renormalised); null = the full vocabulary. */
  readonly topK: number | null;
}

export const DEFAULT_KI_OPTIONS: KiOptions = Object.freeze({
  alphaStart: 0.5,
  alphaEndStep: 1000,
  temperature: 1,
  topK: null,
});

/** Merges `overrides` onto the defaults and validates; the message names the field and the bad value. */
export function resolveKiOptions(overrides: Partial<KiOptions> = {}): KiOptions {
  const where = (field: string) => `knowledge inheritance: ${field}`;
  knownKeys(overrides as Record<string, unknown>, Object.keys(DEFAULT_KI_OPTIONS), "knowledge inheritance");
  const o: KiOptions = { ...DEFAULT_KI_OPTIONS, ...overrides };
  fraction(o.alphaStart, where("alphaStart"));
  nonNegativeInt(o.alphaEndStep, where("alphaEndStep"));
  finiteNumber(o.temperature, where("temperature"), { above: 0 });
  nullable(o.topK, where("topK"), positiveInt);
  return Object.freeze({ ...o });
}

/** a_t: alphaStart at step 0, linear down to 0 at alphaEndStep, 0 from then on (steps are 0-based). */
export function alphaAt(step: number, opts: Pick<KiOptions, "alphaStart" | "alphaEndStep">): number {
  if (step >= opts.alphaEndStep) return 0;
  return opts.alphaStart * (1 - Math.max(0, step) / opts.alphaEndStep);
}

/**
 * Throws unless a teacher can teach this student: same vocabulary size (shared tokenizer), and topK (if any)
 * not larger than the vocabulary. `who` prefixes the message (e.g. the teacher's folder).
 */
export function assertTeacherFits(
  teacher: TransformerConfig,
  student: TransformerConfig,
  opts: KiOptions,
  who = "teacher",
): void {
  if (teacher.vocabSize !== student.vocabSize) {
    throw new Error(
      `${who}: vocabulary mismatch: the teacher has ${teacher.vocabSize} tokens, the student ${student.vocabSize}; ` +
        `knowledge inheritance needs both to share one tokenizer`,
    );
  }
  if (opts.topK !== null && opts.topK > teacher.vocabSize) {
    throw new Error(`${who}: topK ${opts.topK} exceeds the vocabulary (${teacher.vocabSize} tokens)`);
  }
}

/** Teacher logits [B*T, V] for a batch, inference mode (no dropout). Call with a frozen teacher. */
export function teacherLogits(teacher: Transformer, b: TokenBatch): tf.Tensor2D {
  const hidden = teacher.forwardEmbeddings(teacher.embed(b.ids, b.batch, b.length), b.mask, { training: false });
  return teacher.logits(tf.reshape(hidden, [b.batch * b.length, teacher.config.dModel]));
}

/**
 * The knowledge-inheritance loss as a pretrainer LossFn (hooks.loss). Freezes `teacher` (it must not be the
 * student itself). At a step where a_t = 0 it is exactly the LM loss and the teacher is not run.
 */
export function kiLoss(teacher: Transformer, options: Partial<KiOptions>): LossFn {
  const opts = resolveKiOptions(options);
  if (!teacher.frozen) teacher.freeze();
  return (model, b, step) => {
    if (model === teacher)
      throw new Error("knowledge inheritance: the student and the teacher are the same model object");
    assertTeacherFits(teacher.config, model.config, opts);
    if (b.length > teacher.config.maxLen) {
      throw new Error(
        `knowledge inheritance: batch length ${b.length} exceeds the teacher's maxLen ${teacher.config.maxLen}`,
      );
    }
    const a = alphaAt(step, opts);
    const { targets, weights } = nextTokenTargets(b.ids, b.mask, b.batch, b.length);
    const hidden = model.forwardEmbeddings(model.embed(b.ids, b.batch, b.length), b.mask, { training: true });
    const z = model.logits(tf.reshape(hidden, [b.batch * b.length, model.config.dModel]));
    if (a === 0) return crossEntropy(z, targets, weights);
    const kd = distillationDivergence(z, () => teacherLogits(teacher, b), weights, opts);
    if (a === 1) return kd;
    return tf.add(tf.mul(crossEntropy(z, targets, weights), 1 - a), tf.mul(kd, a));
  };
}
