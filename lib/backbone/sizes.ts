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

/**
 * Mixture-of-experts sizes (kept apart from the dense ladder above, which size studies walk).
 *
 * kit-moe: kit-small's shape (D 128, 6 blocks, F 512) with the MLP of every other block (1, 3, 5: Switch
 * Transformer's layout) replaced by 16 experts under top-1 routing, so each token passes through one kit-small
 * sized MLP per block: the same active compute per token as kit-small (plus a [128, 16] router per MoE block).
 * 16 rather than 8 experts: with 8, the total is 4.24M parameters, below kit-base's 5.30M; with 16 it is 7.40M,
 * 1.4x kit-base, the largest backbone the kit ships. Capacity factor 1.25 and aux coefficient 0.01 are Switch's.
 */
export const MOE_SIZES = Object.freeze({
  "kit-moe": {
    ...BACKBONE_SIZES["kit-small"],
    numExperts: 16,
    expertsPerToken: 1,
    moeLayers: [1, 3, 5],
    capacityFactor: 1.25,
    routerAuxLossCoef: 0.01,
  },
} as const satisfies Record<string, TransformerConfig>);

export type BackboneSize = keyof typeof BACKBONE_SIZES | keyof typeof MOE_SIZES;

/** Every size `npm run pretrain -- --size` accepts: the dense ladder, then the mixture-of-experts sizes. */
export const PRETRAIN_SIZES: readonly string[] = Object.freeze([
  ...Object.keys(BACKBONE_SIZES),
  ...Object.keys(MOE_SIZES),
]);

export function sizeConfig(name: string): TransformerConfig {
  const c = ({ ...BACKBONE_SIZES, ...MOE_SIZES } as Record<string, TransformerConfig>)[name];
  if (!c) throw new Error(`unknown backbone size '${name}': expected one of ${PRETRAIN_SIZES.join(", ")}`);
  return c;
}
