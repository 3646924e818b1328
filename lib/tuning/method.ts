/**
 * A tuning method is "which variables train" plus a scoring forward. Prompt tuning and full fine-tuning share
 * the scorer (rank classification over the verbalizer) and differ in the variable list handed to the optimizer.
 */
import type { tf } from "../backend/backend";
import type { Transformer } from "../backbone/transformer";
import type { PromptInitKind } from "../prompt/initializers";
import type { InputSequence } from "../prompt/sequence";
import type { PrefixPositions } from "../backbone/kv-prefix";
import type { PrefixEncoder } from "../prompt/prefix-encoder";
import type { PromptSet, PromptSettings } from "../prompt/soft-prompt";
import type { Candidates } from "./rank-scorer";

export interface PromptOptions {
  /** total soft-prompt length over all slots. */
  readonly length: number;
  readonly init: PromptInitKind;
  /** "front", "back", "middle" or a '+' combination. */
  readonly position: string;
  /** half-width of the random-uniform initializer. */
  readonly initRange: number;
  /** text for the "text" initializer. */
  readonly initText?: string;
}

/** Prefix tuning's form: direct key/value prefixes, or through the reparameterisation MLP of hidden width `hidden`. */
export interface PrefixOptions {
  readonly projection: boolean;
  /** the MLP's hidden width H (null: the model width D, PEFT's default encoder_hidden_size). */
  readonly hidden: number | null;
  /**
   * how the real tokens are numbered next to the prefix: "from-0" (default) or "after-prefix" (P, P+1, ...: Hugging
   * Face's numbering, needed to export the prefix as a PEFT PREFIX_TUNING adapter; lib/backbone/kv-prefix.ts).
   */
  readonly positions?: PrefixPositions;
}

export interface MethodContext {
  readonly model: Transformer;
  readonly padId: number;
  readonly candidates: Candidates;
  readonly seed: number;
  readonly prompt: PromptOptions;
  /** frequent token ids (most frequent first) for sampled-vocabulary initialisation. */
  readonly frequentIds: readonly number[];
  /** token ids of each label's first word, for class-label initialisation. */
  readonly labelTokenIds: readonly (readonly number[])[];
  /** token ids of prompt.initText, when given. */
  readonly initTextIds?: readonly number[];
  /** prefix tuning's form (prompt.length is its prefix length P); default direct prefixes. */
  readonly prefix?: PrefixOptions;
  /** the task's template filled with content-free text (PreparedTask.contentFreeSequences), for calibration. */
  readonly contentFree?: readonly InputSequence[];
}

export interface Tuned {
  /** the variables the optimizer updates (empty for zero-shot). */
  readonly trainable: tf.Variable[];
  /** class scores [B, C] for a batch of inputs. */
  scores(seqs: readonly InputSequence[], training: boolean): tf.Tensor2D;
  readonly trainableParams: number;
  /** bytes a trained task adds on top of the shared backbone (float32). */
  readonly taskBytes: number;
  /** prompt settings, or null for methods without prompts. */
  readonly prompt: PromptSettings | null;
  /** the trained prompts (the input layer's), for saving to the prompt library. */
  readonly prompts: PromptSet | null;
  /** deep prompt tuning: the prompt sets of blocks 1..L-1, saved with `prompts` (absent for other methods). */
  readonly deepPrompts?: readonly PromptSet[];
  /** prefix tuning: the trained key/value prefixes (absent for other methods). */
  readonly prefix?: PrefixEncoder;
  dispose(): void;
}

export interface Method {
  readonly name: string;
  readonly description: string;
  /** false for methods evaluated without training. */
  readonly trains: boolean;
  /**
   * Learning rate used when a run gives none (Adam-style optimizers). Prompts need a much larger rate than full
   * weights (Lester et al. 2021 tune prompts at 0.3 with Adafactor; fine-tuning uses ~1e-4). 0 for methods that
   * do not train.
   */
  readonly defaultLr: number;
  /** true when the trained state is a soft prompt (two-stage tuning and prompt positions apply only then). */
  readonly trainsPrompt: boolean;
  build(ctx: MethodContext): Tuned;
}

/** Refuses any trainable set that contains a backbone variable (the frozen-backbone guarantee). */
export function assertBackboneExcluded(model: Transformer, trainable: readonly tf.Variable[], method: string): void {
  const backbone = new Set(model.variables().map((v) => v.id));
  const leaked = trainable.filter((v) => backbone.has(v.id));
  if (leaked.length > 0) {
    throw new Error(
      `${method}: backbone variables must not train, but the trainable set contains ${leaked.map((v) => v.name).join(", ")}`,
    );
  }
  if (!model.frozen) throw new Error(`${method}: the backbone must be frozen`);
}
