/**
 * Mixture-of-experts fields of a TransformerConfig (gpt2 family only): which blocks replace their MLP by E routed
 * experts, how tokens are routed, and the load-balancing loss coefficient. config.json carries them under
 * Hugging Face-style names (SwitchTransformers / Mixtral): num_experts, num_experts_per_tok, moe_layers (or
 * moe_every), capacity_factor, router_aux_loss_coef.
 *
 *   num_experts_per_tok 1: Switch routing (the top expert, gate = its router probability)
 *   num_experts_per_tok 2: GShard routing (the top two, gates renormalised to sum to 1)
 *   capacity per expert = ceil(capacity_factor * k * N / E) assignments for N routed rows of a batch
 */
import { describe, finiteNumber, isInteger, positiveInt } from "../../io/validate";

/** The MoE part of a TransformerConfig (all absent: a dense model). */
export interface MoeFields {
  /** experts E per MoE block (>= 2). */
  readonly numExperts?: number;
  /** experts each token is sent to: 1 (Switch) or 2 (GShard). Default 1. */
  readonly expertsPerToken?: number;
  /** the blocks whose MLP is a mixture of experts (0-based, ascending). */
  readonly moeLayers?: readonly number[];
  /** capacity factor (> 0); default 1.25. */
  readonly capacityFactor?: number;
  /** coefficient of the Switch load-balancing loss in pre-training (>= 0); default 0.01. */
  readonly routerAuxLossCoef?: number;
}

export const MOE_FIELDS = [
  "numExperts",
  "expertsPerToken",
  "moeLayers",
  "capacityFactor",
  "routerAuxLossCoef",
] as const;

/** Every MoE field filled in (for a config that has numExperts). */
export interface MoeSettings {
  readonly numExperts: number;
  readonly expertsPerToken: 1 | 2;
  readonly moeLayers: readonly number[];
  readonly capacityFactor: number;
  readonly routerAuxLossCoef: number;
}

/** The MoE settings of a config, or null for a dense one. */
export function moeSettings(c: MoeFields & { readonly nLayers: number }): MoeSettings | null {
  if (c.numExperts === undefined) return null;
  return {
    numExperts: c.numExperts,
    expertsPerToken: (c.expertsPerToken ?? 1) as 1 | 2,
    moeLayers: c.moeLayers ?? [],
    capacityFactor: c.capacityFactor ?? 1.25,
    routerAuxLossCoef: c.routerAuxLossCoef ?? 0.01,
  };
}

/** Layers 0-based where i % every == every - 1 (moe_every 2 on 6 layers: 1, 3, 5, as Switch's "every other"). */
export function moeEvery(every: number, nLayers: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < nLayers; i++) if (i % every === every - 1) out.push(i);
  return out;
}

/** Validates the MoE fields of a merged config (throws naming the field). */
export function checkMoeFields(c: MoeFields & { readonly nLayers: number; readonly family?: string }): void {
  const any = MOE_FIELDS.some((k) => c[k] !== undefined);
  if (!any) return;
  if (c.numExperts === undefined)
    throw new Error("config: MoE fields (expertsPerToken, moeLayers, ...) need config.numExperts");
  if ((c.family ?? "gpt2") !== "gpt2")
    throw new Error(`config: mixture-of-experts blocks are implemented for the gpt2 family only, got ${c.family}`);
  positiveInt(c.numExperts, "config.numExperts");
  if (c.numExperts < 2) throw new Error(`config.numExperts must be at least 2, got ${c.numExperts}`);
  const k = c.expertsPerToken ?? 1;
  if (k !== 1 && k !== 2)
    throw new Error(`config.expertsPerToken must be 1 (Switch) or 2 (GShard), got ${describe(k)}`);
  if (k > c.numExperts) throw new Error(`config.expertsPerToken (${k}) exceeds config.numExperts (${c.numExperts})`);
  const layers = c.moeLayers;
  if (!Array.isArray(layers) || layers.length === 0)
    throw new Error(`config.moeLayers must be a non-empty list of block indices, got ${describe(layers)}`);
  for (let i = 0; i < layers.length; i++) {
    const l = layers[i];
    if (!isInteger(l) || l < 0 || l >= c.nLayers)
      throw new Error(`config.moeLayers[${i}] must be a block index in [0, ${c.nLayers - 1}], got ${describe(l)}`);
    if (i > 0 && l <= layers[i - 1]!)
      throw new Error(`config.moeLayers must be strictly ascending, got ${describe(layers)}`);
  }
  if (c.capacityFactor !== undefined)
    finiteNumber(c.capacityFactor, "config.capacityFactor", { min: Number.MIN_VALUE });
  if (c.routerAuxLossCoef !== undefined) finiteNumber(c.routerAuxLossCoef, "config.routerAuxLossCoef", { min: 0 });
}

/** Parameters the MoE blocks add over the dense model (each replaces one MLP by E MLPs plus a router [D, E]). */
export function moeExtraParams(
  c: MoeFields & { readonly dModel: number; readonly dFF: number; readonly nLayers: number },
): number {
  const s = moeSettings(c);
  if (!s) return 0;
  const mlp = c.dModel * c.dFF + c.dFF + c.dFF * c.dModel + c.dModel;
  return s.moeLayers.length * ((s.numExperts - 1) * mlp + c.dModel * s.numExperts);
}

/** Parameters a token passes through in one MoE block's experts versus the dense MLP: k x the dense MLP. */
export function activeMlpMultiplier(c: MoeFields): number {
  return c.numExperts === undefined ? 1 : (c.expertsPerToken ?? 1);
}

type Raw = Record<string, unknown>;

/** Reads the MoE fields of a gpt2 config.json (absent num_experts: dense; every other MoE field is then refused). */
export function moeFromJson(o: Raw, file: string, nLayers: number): MoeFields {
  const has = (k: string) => o[k] !== undefined && o[k] !== null;
  const keys = [
    "num_experts",
    "num_experts_per_tok",
    "moe_layers",
    "moe_every",
    "capacity_factor",
    "router_aux_loss_coef",
  ];
  if (!has("num_experts")) {
    const stray = keys.filter(has);
    if (stray.length > 0)
      throw new Error(`${file}: field '${stray[0]}' needs 'num_experts' (a mixture-of-experts model)`);
    return {};
  }
  if (has("moe_layers") && has("moe_every"))
    throw new Error(`${file}: give either 'moe_layers' or 'moe_every', not both`);
  if (!has("moe_layers") && !has("moe_every"))
    throw new Error(`${file}: a mixture-of-experts config needs 'moe_layers' (block indices) or 'moe_every'`);
  const num = (k: string) => {
    const v = o[k];
    if (typeof v !== "number" || !Number.isFinite(v))
      throw new Error(`${file}: field '${k}' must be a number, got ${describe(v)}`);
    return v;
  };
  let moeLayers: number[];
  if (has("moe_every")) {
    const every = num("moe_every");
    if (!isInteger(every) || every < 1)
      throw new Error(`${file}: field 'moe_every' must be a positive integer, got ${every}`);
    moeLayers = moeEvery(every, nLayers);
  } else {
    const v = o["moe_layers"];
    if (!Array.isArray(v))
      throw new Error(`${file}: field 'moe_layers' must be a list of block indices, got ${describe(v)}`);
    moeLayers = v as number[];
  }
  return {
    numExperts: num("num_experts"),
    expertsPerToken: has("num_experts_per_tok") ? num("num_experts_per_tok") : 1,
    moeLayers,
    capacityFactor: has("capacity_factor") ? num("capacity_factor") : 1.25,
    routerAuxLossCoef: has("router_aux_loss_coef") ? num("router_aux_loss_coef") : 0.01,
  };
}

/** The MoE fields under their config.json names (empty for a dense config). */
export function moeToJson(c: MoeFields & { readonly nLayers: number }): Raw {
  const s = moeSettings(c);
  if (!s) return {};
  return {
    num_experts: s.numExperts,
    num_experts_per_tok: s.expertsPerToken,
    moe_layers: [...s.moeLayers],
    capacity_factor: s.capacityFactor,
    router_aux_loss_coef: s.routerAuxLossCoef,
  };
}
