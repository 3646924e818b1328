/**
 * Transformer configuration: an interface, frozen defaults, and a resolve() that merges and validates without
 * mutating the caller's object. Names follow GPT-2's config.json where one exists (n_layer etc. are accepted
 * when loading a Hugging Face config).
 */
import { positiveInt } from "../io/validate";
import { MOE_FIELDS, type MoeFields, checkMoeFields, moeExtraParams } from "./moe/moe-config";

export const ACTIVATIONS = ["quick_gelu", "gelu_new", "relu", "gelu", "silu"] as const;
export type Activation = (typeof ACTIVATIONS)[number];

/**
 * Architecture family: gpt2 (learned positions, LayerNorm, fused QKV, GELU MLP, tied head); llama (RMSNorm,
 * rotary positions, grouped-query attention, SwiGLU MLP; Llama, Qwen2, SmolLM2, TinyLlama); gpt_neox (Pythia:
 * LayerNorm, partial rotary, parallel residual, untied embed_out).
 */
export const FAMILIES = ["gpt2", "llama", "gpt_neox"] as const;
export type Family = (typeof FAMILIES)[number];

/** Mixture-of-experts fields (numExperts, expertsPerToken, moeLayers, ...): see moe/moe-config.ts. */
export interface TransformerConfig extends MoeFields {
  /** vocabulary size V (rows of the tied token-embedding / output matrix). */
  readonly vocabSize: number;
  /** maximum sequence length, including any soft-prompt positions. */
  readonly maxLen: number;
  /** model width D. */
  readonly dModel: number;
  /** number of transformer blocks. */
  readonly nLayers: number;
  /** attention heads; dModel must divide evenly. */
  readonly nHeads: number;
  /** feed-forward width F. */
  readonly dFF: number;
  /** dropout rate on attention output, MLP output and embeddings during training (0 = off). */
  readonly dropout: number;
  /** MLP activation: quick_gelu x*sigmoid(1.702x) (fast on wasm), gelu_new (GPT-2's tanh form), relu. */
  readonly activation: Activation;
  /** LayerNorm (or RMSNorm) epsilon. */
  readonly lnEps: number;
  /** architecture family (default gpt2); the fields below matter only to the rotary families. */
  readonly family?: Family;
  /** key/value heads (grouped-query attention; default nHeads). */
  readonly nKvHeads?: number;
  /** per-head width (default dModel / nHeads). */
  readonly headDim?: number;
  /** rotary base theta (default 10000). */
  readonly ropeTheta?: number;
  /** fraction of each head's width that is rotated (gpt_neox rotary_pct; default 1). */
  readonly rotaryPct?: number;
  /** output head tied to the token embedding (default true). */
  readonly tiedHead?: boolean;
  /** biases on q/k/v projections (llama attention_bias, Qwen2); on the attention output (llama attention_bias). */
  readonly qkvBias?: boolean;
  readonly outBias?: boolean;
  /** biases on the MLP projections (llama mlp_bias). */
  readonly mlpBias?: boolean;
  /** gpt_neox use_parallel_residual: x + attn(ln1(x)) + mlp(ln2(x)). */
  readonly parallelResidual?: boolean;
}

/** Every optional architecture field with its value filled in. */
export interface ArchFields {
  readonly family: Family;
  readonly nKvHeads: number;
  readonly headDim: number;
  readonly ropeTheta: number;
  readonly rotaryPct: number;
  readonly tiedHead: boolean;
  readonly qkvBias: boolean;
  readonly outBias: boolean;
  readonly mlpBias: boolean;
  readonly parallelResidual: boolean;
}

/** The architecture fields of a resolved config, defaults filled in. */
export function arch(c: TransformerConfig): ArchFields {
  const family = c.family ?? "gpt2";
  return {
    family,
    nKvHeads: c.nKvHeads ?? c.nHeads,
    headDim: c.headDim ?? c.dModel / c.nHeads,
    ropeTheta: c.ropeTheta ?? 10000,
    rotaryPct: c.rotaryPct ?? 1,
    tiedHead: c.tiedHead ?? true,
    qkvBias: c.qkvBias ?? family !== "llama",
    outBias: c.outBias ?? family !== "llama",
    mlpBias: c.mlpBias ?? family !== "llama",
    parallelResidual: c.parallelResidual ?? false,
  };
}

const OPTIONAL_FIELDS = [
  "family",
  "nKvHeads",
  "headDim",
  "ropeTheta",
  "rotaryPct",
  "tiedHead",
  "qkvBias",
  "outBias",
  "mlpBias",
  "parallelResidual",
  ...MOE_FIELDS,
] as const;

export const DEFAULT_CONFIG: TransformerConfig = Object.freeze({
  vocabSize: 2048,
  maxLen: 128,
  dModel: 128,
  nLayers: 2,
  nHeads: 4,
  dFF: 512,
  dropout: 0,
  activation: "quick_gelu",
  lnEps: 1e-5,
});

/** Merges `overrides` onto the defaults and validates the result. */
export function resolveConfig(overrides: Partial<TransformerConfig> = {}): TransformerConfig {
  const known = new Set([...Object.keys(DEFAULT_CONFIG), ...OPTIONAL_FIELDS]);
  for (const key of Object.keys(overrides)) {
    if (!known.has(key)) throw new Error(`config: unknown field '${key}' (known: ${[...known].join(", ")})`);
  }
  const c: TransformerConfig = { ...DEFAULT_CONFIG, ...overrides };
  for (const k of ["vocabSize", "maxLen", "dModel", "nLayers", "nHeads", "dFF"] as const)
    positiveInt(c[k], `config.${k}`);
  if (c.headDim === undefined && c.dModel % c.nHeads !== 0) {
    throw new Error(`config.dModel (${c.dModel}) must be divisible by config.nHeads (${c.nHeads})`);
  }
  if (c.family !== undefined && !FAMILIES.includes(c.family)) {
    throw new Error(`config.family must be one of ${FAMILIES.join(", ")}, got ${JSON.stringify(c.family)}`);
  }
  for (const k of ["nKvHeads", "headDim"] as const) if (c[k] !== undefined) positiveInt(c[k], `config.${k}`);
  if (c.nKvHeads !== undefined && c.nHeads % c.nKvHeads !== 0) {
    throw new Error(`config.nHeads (${c.nHeads}) must be a multiple of config.nKvHeads (${c.nKvHeads})`);
  }
  if (
    c.ropeTheta !== undefined &&
    !(typeof c.ropeTheta === "number" && c.ropeTheta > 0 && Number.isFinite(c.ropeTheta))
  ) {
    throw new Error(`config.ropeTheta must be a positive number, got ${JSON.stringify(c.ropeTheta)}`);
  }
  if (c.rotaryPct !== undefined && !(typeof c.rotaryPct === "number" && c.rotaryPct > 0 && c.rotaryPct <= 1)) {
    throw new Error(`config.rotaryPct must be in (0, 1], got ${JSON.stringify(c.rotaryPct)}`);
  }
  for (const k of ["tiedHead", "qkvBias", "outBias", "mlpBias", "parallelResidual"] as const) {
    if (c[k] !== undefined && typeof c[k] !== "boolean")
      throw new Error(`config.${k} must be a boolean, got ${JSON.stringify(c[k])}`);
  }
  const a = arch(c);
  if (
    a.family === "gpt2" &&
    ((c.nKvHeads !== undefined && c.nKvHeads !== c.nHeads) ||
      (c.headDim !== undefined && c.headDim * c.nHeads !== c.dModel) ||
      a.tiedHead === false)
  ) {
    throw new Error(
      "config: the gpt2 family has no grouped-query attention, no separate head width and a tied output head",
    );
  }
  if (a.family !== "gpt2") {
    const rot = Math.floor(a.headDim * a.rotaryPct);
    if (rot < 2 || rot % 2 !== 0)
      throw new Error(
        `config: the rotary width (headDim ${a.headDim} x rotaryPct ${a.rotaryPct} = ${rot}) must be an even number >= 2`,
      );
  }
  if (typeof c.dropout !== "number" || !(c.dropout >= 0 && c.dropout < 1)) {
    throw new Error(`config.dropout must be in [0, 1), got ${JSON.stringify(c.dropout)}`);
  }
  if (!ACTIVATIONS.includes(c.activation)) {
    throw new Error(`config.activation must be one of ${ACTIVATIONS.join(", ")}, got ${JSON.stringify(c.activation)}`);
  }
  if (typeof c.lnEps !== "number" || !(c.lnEps > 0)) {
    throw new Error(`config.lnEps must be a positive number, got ${JSON.stringify(c.lnEps)}`);
  }
  checkMoeFields(c);
  return Object.freeze(c);
}

/** Parameters outside the embeddings (the usual "model size" of scaling studies), for the config's family. */
export function nonEmbeddingParams(c: TransformerConfig): number {
  const a = arch(c);
  const d = c.dModel;
  const f = c.dFF;
  const b = (on: boolean, n: number) => (on ? n : 0);
  switch (a.family) {
    case "gpt2": {
      const perBlock = 2 * 2 * d + (d * 3 * d + 3 * d) + (d * d + d) + (d * f + f) + (f * d + d);
      return c.nLayers * perBlock + 2 * d + moeExtraParams(c);
    }
    case "llama": {
      const q = c.nHeads * a.headDim;
      const kv = a.nKvHeads * a.headDim;
      const attn = d * q + 2 * d * kv + b(a.qkvBias, q + 2 * kv) + q * d + b(a.outBias, d);
      const mlp = 3 * d * f + b(a.mlpBias, 2 * f + d);
      return c.nLayers * (2 * d + attn + mlp) + d;
    }
    case "gpt_neox": {
      const attn = 3 * d * d + b(a.qkvBias, 3 * d) + d * d + b(a.outBias, d);
      const mlp = 2 * d * f + b(a.mlpBias, f + d);
      return c.nLayers * (4 * d + attn + mlp) + 2 * d;
    }
  }
}

/** All parameters: token embedding, learned positions (GPT-2), and an untied output head when there is one. */
export function totalParams(c: TransformerConfig): number {
  const a = arch(c);
  const positions = a.family === "gpt2" ? c.maxLen * c.dModel : 0;
  const head = a.tiedHead ? 0 : c.vocabSize * c.dModel;
  return nonEmbeddingParams(c) + c.vocabSize * c.dModel + positions + head;
}
