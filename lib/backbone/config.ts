/**
 * Transformer configuration: an interface, frozen defaults, and a resolve() that merges and validates without
 * mutating the caller's object. Names follow GPT-2's config.json where one exists (n_layer etc. are accepted
 * when loading a Hugging Face config).
 */
import { positiveInt } from "../io/validate";

export const ACTIVATIONS = ["quick_gelu", "gelu_new", "relu"] as const;
export type Activation = (typeof ACTIVATIONS)[number];

export interface TransformerConfig {
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
  /** LayerNorm epsilon. */
  readonly lnEps: number;
}

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
  const known = new Set(Object.keys(DEFAULT_CONFIG));
  for (const key of Object.keys(overrides)) {
    if (!known.has(key)) throw new Error(`config: unknown field '${key}' (known: ${[...known].join(", ")})`);
  }
  const c: TransformerConfig = { ...DEFAULT_CONFIG, ...overrides };
  for (const k of ["vocabSize", "maxLen", "dModel", "nLayers", "nHeads", "dFF"] as const) positiveInt(c[k], `config.${k}`);
  if (c.dModel % c.nHeads !== 0) {
    throw new Error(`config.dModel (${c.dModel}) must be divisible by config.nHeads (${c.nHeads})`);
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
  return Object.freeze(c);
}

/** Parameters outside the embeddings (the usual "model size" of scaling studies). */
export function nonEmbeddingParams(c: TransformerConfig): number {
  const d = c.dModel;
  const perBlock = 2 * 2 * d + (d * 3 * d + 3 * d) + (d * d + d) + (d * c.dFF + c.dFF) + (c.dFF * d + d);
  return c.nLayers * perBlock + 2 * d;
}

/** All parameters (token and position embeddings included; the output matrix is tied). */
export function totalParams(c: TransformerConfig): number {
  return nonEmbeddingParams(c) + c.vocabSize * c.dModel + c.maxLen * c.dModel;
}
