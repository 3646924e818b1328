/**
 * GPT-2: learned positions, pre-LayerNorm blocks, fused QKV (Conv1D weights [in, out]), GELU MLP, tied head.
 * The fast path: LayerNorm, activation and attention run on the native/wasm fused kernels when available.
 */
import { tf } from "../../backend/backend";
import { normalArray, type Rng } from "../../backend/random";
import { linear } from "../../backend/linear";
import { activate } from "../activation";
import { selfAttention } from "../attention";
import type { TransformerConfig } from "../config";
import type { BlockContext, FamilyDef, ParamSpec } from "../family";
import { layerNorm } from "../layer-norm";

export const BLOCK_PARAMS = [
  "ln_1.weight",
  "ln_1.bias",
  "attn.c_attn.weight",
  "attn.c_attn.bias",
  "attn.c_proj.weight",
  "attn.c_proj.bias",
  "ln_2.weight",
  "ln_2.bias",
  "mlp.c_fc.weight",
  "mlp.c_fc.bias",
  "mlp.c_proj.weight",
  "mlp.c_proj.bias",
] as const;

export function blockShapes(c: TransformerConfig): Record<(typeof BLOCK_PARAMS)[number], number[]> {
  const d = c.dModel;
  return {
    "ln_1.weight": [d],
    "ln_1.bias": [d],
    "attn.c_attn.weight": [d, 3 * d],
    "attn.c_attn.bias": [3 * d],
    "attn.c_proj.weight": [d, d],
    "attn.c_proj.bias": [d],
    "ln_2.weight": [d],
    "ln_2.bias": [d],
    "mlp.c_fc.weight": [d, c.dFF],
    "mlp.c_fc.bias": [c.dFF],
    "mlp.c_proj.weight": [c.dFF, d],
    "mlp.c_proj.bias": [d],
  };
}

export const gpt2Family: FamilyDef = {
  blockPrefix: "h.",
  embedName: "wte.weight",
  positionName: "wpe.weight",
  headName: "lm_head.weight",
  finalNorm: ["ln_f.weight", "ln_f.bias"],
  hfPrefixes: ["transformer."],
  hfUnprefixed: ["lm_head.weight"],
  ignoredBuffer: /\.attn\.(bias|masked_bias)$/,

  spec(c) {
    const d = c.dModel;
    const spec = new Map<string, ParamSpec>();
    spec.set("wte.weight", { shape: [c.vocabSize, d] });
    spec.set("wpe.weight", { shape: [c.maxLen, d] });
    const shapes = blockShapes(c);
    for (let i = 0; i < c.nLayers; i++) for (const n of BLOCK_PARAMS) spec.set(`h.${i}.${n}`, { shape: shapes[n] });
    spec.set("ln_f.weight", { shape: [d] });
    spec.set("ln_f.bias", { shape: [d] });
    return spec;
  },

  blockParams() {
    return BLOCK_PARAMS;
  },

  /** GPT-2 initialisation: N(0, 0.02), residual projections scaled by 1/sqrt(2 L), LayerNorm 1/0, biases 0. */
  initialValue(name: string, shape: readonly number[], c: TransformerConfig, rng: Rng): Float32Array {
    const size = shape.reduce((a, b) => a * b, 1);
    if (/ln_\w+\.weight$/.test(name)) return new Float32Array(size).fill(1);
    if (name.endsWith(".bias")) return new Float32Array(size);
    const std = name.endsWith("c_proj.weight") ? 0.02 / Math.sqrt(2 * c.nLayers) : 0.02;
    return normalArray(rng, size, std);
  },

  /** One pre-LN block: h + attn(ln_1(h)), then + mlp(ln_2(.)). h: [B*T, D] -> [B*T, D]. */
  block(h, w, ctx: BlockContext) {
    const c = ctx.config;
    const weightGrad = ctx.weightGrad;
    const [, , , , , , ln2W, ln2B, fcW, fcB, outW, outB] = w;
    const mid = gpt2AttentionResidual(h, w, ctx);
    const m = layerNorm(mid, ln2W as tf.Tensor1D, ln2B as tf.Tensor1D, c.lnEps, { paramGrad: weightGrad });
    const up = linear(m, fcW as tf.Tensor2D, fcB as tf.Tensor1D, { weightGrad });
    const down = linear(activate(up, c.activation), outW as tf.Tensor2D, outB as tf.Tensor1D, { weightGrad });
    return tf.add(mid, ctx.drop(down, 1)) as tf.Tensor2D;
  },

  finalNormApply(h, [w, b], c, weightGrad) {
    return layerNorm(h, w as tf.Tensor1D, b as tf.Tensor1D, c.lnEps, { paramGrad: weightGrad });
  },
};

/**
 * The first half of a GPT-2 block, shared with the mixture-of-experts blocks (moe/gpt2-moe.ts):
 * h + drop(attn(ln_1(h))). w: the block's weights, starting with ln_1 and attn's four. h: [B*T, D] -> [B*T, D].
 */
export function gpt2AttentionResidual(h: tf.Tensor2D, w: readonly tf.Tensor[], ctx: BlockContext): tf.Tensor2D {
  const [ln1W, ln1B, qkvW, qkvB, projW, projB] = w;
  const weightGrad = ctx.weightGrad;
  const a = layerNorm(h, ln1W as tf.Tensor1D, ln1B as tf.Tensor1D, ctx.config.lnEps, { paramGrad: weightGrad });
  const attn = selfAttention(
    a,
    {
      qkvW: qkvW as tf.Tensor2D,
      qkvB: qkvB as tf.Tensor1D,
      projW: projW as tf.Tensor2D,
      projB: projB as tf.Tensor1D,
    },
    ctx.aux.mask,
    ctx.dims,
    weightGrad,
  );
  return tf.add(h, ctx.drop(attn, 0)) as tf.Tensor2D;
}
