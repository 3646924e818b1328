/**
 * The kit's shipped backbone sizes, roughly a factor of four apart in non-embedding parameters.
 * All share one tokenizer (vocabulary 2048) and maxLen 128, so prompts, tasks and knowledge inheritance
 * move between sizes unchanged.
 */
import type { TransformerConfig } from "./config";

const SHARED = { vocabSize: 2048, maxLen: 128, dropout: 0, activation: "quick_gelu", lnEps: 1e-5 } as const;

export const BACKBONE_SIZES = Object.freeze({
  "kit-micro": { ...SHARED, dModel: 64, nLayers: 2, nHeads: 2, dFF: 256 },
  "kit-nano": { ...SHARED, dModel: 96, nLayers: 3, nHeads: 3, dFF: 384 },
  "kit-small": { ...SHARED, dModel: 128, nLayers: 6, nHeads: 4, dFF: 512 },
  "kit-base": { ...SHARED, dModel: 256, nLayers: 6, nHeads: 8, dFF: 1024 },
} as const satisfies Record<string, TransformerConfig>);

export type BackboneSize = keyof typeof BACKBONE_SIZES;

export function sizeConfig(name: string): TransformerConfig {
  const c = (BACKBONE_SIZES as Record<string, TransformerConfig>)[name];
  if (!c) throw new Error(`unknown backbone size '${name}': expected one of ${Object.keys(BACKBONE_SIZES).join(", ")}`);
  return c;
}
