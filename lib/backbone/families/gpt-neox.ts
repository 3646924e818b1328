/**
 * GPT-NeoX (Pythia): pre-LayerNorm blocks with a fused query_key_value projection laid out per head
 * ([q_h, k_h, v_h] for each head h), partial rotary (the first rotary_pct of each head's dims), GELU MLP, and a
 * parallel residual x + attn(ln1(x)) + mlp(ln2(x)) (or sequential when use_parallel_residual is false);
 * untied embed_out head.
 */
import { tf } from "../../backend/backend";
import { normalArray, type Rng } from "../../backend/random";
import { linear } from "../../backend/linear";
import { activate } from "../activation";
import { arch, type TransformerConfig } from "../config";
import type { BlockContext, FamilyDef, ParamSpec } from "../family";
import { headAttention } from "../head-attention";
import { layerNorm } from "../layer-norm";
import { applyRotary } from "../rotary";

interface Entry {
  readonly name: string;
  readonly shape: number[];
  readonly linear: boolean;
}

function blockEntries(c: TransformerConfig): Entry[] {
  const a = arch(c);
  const d = c.dModel;
  const e: Entry[] = [];
  const lin = (name: string, din: number, dout: number, bias: boolean) => {
    e.push({ name: `${name}.weight`, shape: [din, dout], linear: true });
    if (bias) e.push({ name: `${name}.bias`, shape: [dout], linear: false });
  };
  e.push({ name: "input_layernorm.weight", shape: [d], linear: false }, { name: "input_layernorm.bias", shape: [d], linear: false });
  e.push({ name: "post_attention_layernorm.weight", shape: [d], linear: false }, { name: "post_attention_layernorm.bias", shape: [d], linear: false });
  lin("attention.query_key_value", d, 3 * d, a.qkvBias);
  lin("attention.dense", d, d, a.outBias);
  lin("mlp.dense_h_to_4h", d, c.dFF, a.mlpBias);
  lin("mlp.dense_4h_to_h", c.dFF, d, a.mlpBias);
  return e;
}

export const gptNeoxFamily: FamilyDef = {
  blockPrefix: "layers.",
  embedName: "embed_in.weight",
  positionName: null,
  headName: "embed_out.weight",
  finalNorm: ["final_layer_norm.weight", "final_layer_norm.bias"],
  hfPrefixes: ["gpt_neox."],
  hfUnprefixed: ["embed_out.weight"],
  ignoredBuffer: /\.attention\.(bias|masked_bias|rotary_emb\.inv_freq)$/,

  spec(c) {
    const spec = new Map<string, ParamSpec>();
    spec.set("embed_in.weight", { shape: [c.vocabSize, c.dModel] });
    const entries = blockEntries(c);
    for (let i = 0; i < c.nLayers; i++) {
      for (const e of entries) spec.set(`layers.${i}.${e.name}`, { shape: e.shape, hfTransposed: e.linear });
    }
    spec.set("final_layer_norm.weight", { shape: [c.dModel] });
    spec.set("final_layer_norm.bias", { shape: [c.dModel] });
    if (!arch(c).tiedHead) spec.set("embed_out.weight", { shape: [c.dModel, c.vocabSize], hfTransposed: true });
    return spec;
  },

  blockParams(c) {
    return blockEntries(c).map((e) => e.name);
  },

  initialValue(name: string, shape: readonly number[], _c: TransformerConfig, rng: Rng): Float32Array {
    const size = shape.reduce((a, b) => a * b, 1);
    if (/(layernorm|layer_norm)\.weight$/.test(name)) return new Float32Array(size).fill(1);
    if (name.endsWith(".bias")) return new Float32Array(size);
    return normalArray(rng, size, 0.02);
  },

  block(h, w, ctx: BlockContext) {
    const c = ctx.config;
    const a = arch(c);
    const weightGrad = ctx.weightGrad;
    const rotary = ctx.aux.rotary;
    if (!rotary) throw new Error("gpt_neox block: missing rotary tables");
    const names = gptNeoxFamily.blockParams(c);
    const p = (n: string): tf.Tensor => w[names.indexOf(n)]!;
    const maybe = (n: string): tf.Tensor1D | null => (names.includes(n) ? (p(n) as tf.Tensor1D) : null);
    const lin = (x: tf.Tensor2D, n: string) => linear(x, p(`${n}.weight`) as tf.Tensor2D, maybe(`${n}.bias`), { weightGrad });
    const norm = (x: tf.Tensor2D, n: string) =>
      layerNorm(x, p(`${n}.weight`) as tf.Tensor1D, p(`${n}.bias`) as tf.Tensor1D, c.lnEps, { paramGrad: weightGrad });
    const n = h.shape[0];
    const dh = a.headDim;
    const qkv = tf.reshape(lin(norm(h, "input_layernorm"), "attention.query_key_value"), [n, c.nHeads, 3 * dh]);
    const [q, k, v] = tf.split(qkv, 3, 2) as [tf.Tensor3D, tf.Tensor3D, tf.Tensor3D];
    const ctxRows = headAttention(applyRotary(q, rotary), applyRotary(k, rotary), v, ctx.aux.mask, ctx.dims.batch, ctx.dims.length);
    const attn = ctx.drop(lin(ctxRows, "attention.dense"), 0);
    const mlp = (x: tf.Tensor2D) => ctx.drop(lin(activate(lin(x, "mlp.dense_h_to_4h"), c.activation), "mlp.dense_4h_to_h"), 1);
    if (a.parallelResidual) return tf.add(tf.add(h, attn), mlp(norm(h, "post_attention_layernorm"))) as tf.Tensor2D;
    const mid = tf.add(h, attn) as tf.Tensor2D;
    return tf.add(mid, mlp(norm(mid, "post_attention_layernorm"))) as tf.Tensor2D;
  },

  finalNormApply(h, [w, b], c, weightGrad) {
    return layerNorm(h, w as tf.Tensor1D, b as tf.Tensor1D, c.lnEps, { paramGrad: weightGrad });
  },
};
