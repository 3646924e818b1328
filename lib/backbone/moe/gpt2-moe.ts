/**
 * GPT-2 with mixture-of-experts blocks: the blocks listed in config.moeLayers keep GPT-2's attention half and
 * replace the MLP by E routed experts (moe-mlp.ts); every other block is the dense GPT-2 block unchanged.
 *
 *   h.<L>.mlp.router.weight               [D, E]   (no bias)
 *   h.<L>.mlp.experts.<e>.c_fc.weight     [D, F]   c_fc.bias [F]
 *   h.<L>.mlp.experts.<e>.c_proj.weight   [F, D]   c_proj.bias [D]
 *
 * Expert initialisation follows the dense MLP's (N(0, 0.02), c_proj scaled by 1/sqrt(2 L)); the router starts
 * at N(0, 0.02).
 */
import { tf } from "../../backend/backend";
import { BLOCK_PARAMS, blockShapes, gpt2AttentionResidual, gpt2Family } from "../families/gpt2";
import type { TransformerConfig } from "../config";
import type { FamilyDef, ParamSpec } from "../family";
import { layerNorm } from "../layer-norm";
import { expertParamNames, residentSource } from "./expert-source";
import { moeSettings } from "./moe-config";
import { moeMlp } from "./moe-mlp";

/** The dense block's parameters before its MLP: ln_1, attention, ln_2. */
const SHARED = BLOCK_PARAMS.slice(0, 8);

function isMoeLayer(c: TransformerConfig, layer: number): boolean {
  return moeSettings(c)?.moeLayers.includes(layer) ?? false;
}

function moeBlockParams(c: TransformerConfig): string[] {
  const s = moeSettings(c)!;
  const names: string[] = [...SHARED, "mlp.router.weight"];
  for (let e = 0; e < s.numExperts; e++) names.push(...expertParamNames(e));
  return names;
}

export const gpt2MoeFamily: FamilyDef = {
  ...gpt2Family,

  spec(c) {
    const d = c.dModel;
    const s = moeSettings(c)!;
    const shapes = blockShapes(c);
    const spec = new Map<string, ParamSpec>();
    spec.set("wte.weight", { shape: [c.vocabSize, d] });
    spec.set("wpe.weight", { shape: [c.maxLen, d] });
    for (let i = 0; i < c.nLayers; i++) {
      if (!isMoeLayer(c, i)) {
        for (const n of BLOCK_PARAMS) spec.set(`h.${i}.${n}`, { shape: shapes[n] });
        continue;
      }
      for (const n of SHARED) spec.set(`h.${i}.${n}`, { shape: shapes[n] });
      spec.set(`h.${i}.mlp.router.weight`, { shape: [d, s.numExperts] });
      for (let e = 0; e < s.numExperts; e++) {
        const [fcW, fcB, projW, projB] = expertParamNames(e);
        spec.set(`h.${i}.${fcW}`, { shape: shapes["mlp.c_fc.weight"] });
        spec.set(`h.${i}.${fcB}`, { shape: shapes["mlp.c_fc.bias"] });
        spec.set(`h.${i}.${projW}`, { shape: shapes["mlp.c_proj.weight"] });
        spec.set(`h.${i}.${projB}`, { shape: shapes["mlp.c_proj.bias"] });
      }
    }
    spec.set("ln_f.weight", { shape: [d] });
    spec.set("ln_f.bias", { shape: [d] });
    return spec;
  },

  blockParamsAt(c, layer) {
    return isMoeLayer(c, layer) ? moeBlockParams(c) : BLOCK_PARAMS;
  },

  /** h: [B*T, D] -> [B*T, D]; MoE blocks: h + attn(ln_1(h)), then + experts(ln_2(.)). */
  block(h, w, ctx) {
    if (!isMoeLayer(ctx.config, ctx.layer)) return gpt2Family.block(h, w, ctx);
    const c = ctx.config;
    const [, , , , , , ln2W, ln2B, routerW] = w;
    const mid = gpt2AttentionResidual(h, w, ctx);
    const m = layerNorm(mid, ln2W as tf.Tensor1D, ln2B as tf.Tensor1D, c.lnEps, { paramGrad: ctx.weightGrad });
    const held = w.slice(9);
    const source = held.length > 0 ? residentSource(held) : ctx.experts;
    if (!source)
      throw new Error(
        `mixture-of-experts block ${ctx.layer}: the model holds no expert weights and has no expert source`,
      );
    const out = moeMlp(m, {
      config: c,
      layer: ctx.layer,
      routerW: routerW as tf.Tensor2D,
      source,
      weightGrad: ctx.weightGrad,
    });
    return tf.add(mid, ctx.drop(out, 1)) as tf.Tensor2D;
  },
};
