/**
 * What an architecture family contributes to the one Transformer class: its parameter names and shapes, its
 * initialisation, how a block and the final norm compute, and how its names map to a Hugging Face checkpoint.
 * Everything outside lib/backbone (splicing, deep prompts, freezing, rank scoring, trainers) sees only the
 * Transformer interface (embed, forwardEmbeddings, logits, variables, freeze), whichever family runs underneath.
 *
 * In-memory names are the Hugging Face names without the model prefix (`transformer.`, `model.`, `gpt_neox.`);
 * linear weights are held [in, out] (the layout `linear` takes). Families whose checkpoints store nn.Linear
 * weights [out, in] mark them `hfTransposed`, and the checkpoint reader/writer transposes them.
 */
import type { tf } from "../backend/backend";
import type { Rng } from "../backend/random";
import type { AttentionMask } from "./attention";
import type { TransformerConfig } from "./config";
import type { RotaryTables } from "./rotary";
import type { ExpertSource } from "./moe/expert-source";

export interface ParamSpec {
  readonly shape: readonly number[];
  /** stored [out, in] in a Hugging Face checkpoint (nn.Linear), [in, out] here. */
  readonly hfTransposed?: boolean;
}

export interface BlockDims {
  readonly batch: number;
  readonly length: number;
  readonly heads: number;
}

/** Dropout of a block's attention (0) or MLP (1) output; the identity when dropout is off. */
export type BlockDropout = (m: tf.Tensor2D, which: 0 | 1) => tf.Tensor2D;

/** Per-forward-pass constants shared by every block: the attention mask and, for rotary families, cos/sin tables. */
export interface BlockAux {
  readonly mask: AttentionMask;
  readonly rotary: RotaryTables | null;
}

export interface BlockContext {
  readonly config: TransformerConfig;
  readonly dims: BlockDims;
  readonly aux: BlockAux;
  readonly weightGrad: boolean;
  readonly drop: BlockDropout;
  /** the block's index (0-based). */
  readonly layer: number;
  /** where MoE blocks get expert weights when they are not among the block's weights (offloaded); else null. */
  readonly experts: ExpertSource | null;
}

export interface FamilyDef {
  /** every parameter, in canonical order. */
  spec(c: TransformerConfig): Map<string, ParamSpec>;
  /** one block's parameter names after `<blockPrefix><i>.`, in the order `block` takes them. */
  blockParams(c: TransformerConfig): readonly string[];
  /** block `layer`'s parameter names when blocks differ (mixture-of-experts); blockParams otherwise. */
  blockParamsAt?(c: TransformerConfig, layer: number): readonly string[];
  /** `h.` (gpt2) or `layers.` */
  readonly blockPrefix: string;
  /** token embedding [V, D]. */
  readonly embedName: string;
  /** learned position embedding [maxLen, D], or null (rotary). */
  readonly positionName: string | null;
  /** untied output head [D, V] when the config unties it. */
  readonly headName: string;
  /** the final norm's parameter names. */
  readonly finalNorm: readonly string[];
  /** prefixes Hugging Face checkpoints put before the body's names (tried in order; none is fine too). */
  readonly hfPrefixes: readonly string[];
  /** names that are written without the prefix in HF checkpoints (the head). */
  readonly hfUnprefixed: readonly string[];
  /** checkpoint buffers that carry no weights (causal masks, rotary inverse frequencies): skipped on load. */
  readonly ignoredBuffer: RegExp;
  initialValue(name: string, shape: readonly number[], c: TransformerConfig, rng: Rng): Float32Array;
  block(h: tf.Tensor2D, w: readonly tf.Tensor[], ctx: BlockContext): tf.Tensor2D;
  finalNormApply(h: tf.Tensor2D, w: readonly tf.Tensor[], c: TransformerConfig, weightGrad: boolean): tf.Tensor2D;
}
