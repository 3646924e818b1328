/**
 * GPT-NeoX (Pythia): pre-LayerNorm blocks with a fused query_key_value projection laid out per head
 * ([q_h, k_h, v_h] for each head h), partial rotary (the first rotary_pct of each head's dims), GELU MLP, and a
 * parallel residual x + attn(ln1(x)) + mlp(ln2(x)) (or sequential when use_parallel_residual is false);
 * untied embed_out head.
 */
import { tf } from "../../backend/backend";
import type { Rng } from "../../backend/random";
import { linear } from "../../backend/linear";
import { activate } from "../activation";
import { arch, type TransformerConfig } from "../config";
import type { BlockContext, FamilyDef } from "../family";
import { headAttention } from "../head-attention";
import { layerNorm } from "../layer-norm";
import { applyRotary } from "../rotary";
import { initialWeights, layeredSpec, pushLinear, type BlockEntry } from "./layered-params";

function blockEntries(c: TransformerConfig): BlockEntry[] {
  const a = arch(c);
  const d = c.dModel;
  const e: BlockEntry[] = [];
  const lin = (name: string, din: number, dout: number, bias: boolean) => pushLinear(e, name, din, dout, bias);
  e.push(
    { name: "input_layernorm.weight", shape: [d], linear: false },
    { name: "input_layernorm.bias", shape: [d], linear: false },
  );
  e.push(
    { name: "post_attention_layernorm.weight", shape: [d], linear: false },
    { name: "post_attention_layernorm.bias", shape: [d], linear: false },
  );
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
    return layeredSpec(
      c,
      {
        embed: "embed_in.weight",
        finalNorm: ["final_layer_norm.weight", "final_layer_norm.bias"],
        head: "embed_out.weight",
      },
      blockEntries(c),
    );
  },

  blockParams(c) {
    return blockEntries(c).map((e) => e.name);
  },

  initialValue(name: string, shape: readonly number[], _c: TransformerConfig, rng: Rng): Float32Array {
    return initialWeights(name, shape, /(layernorm|layer_norm)\.weight$/, rng);
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
    const lin = (x: tf.Tensor2D, n: string) =>
      linear(x, p(`${n}.weight`) as tf.Tensor2D, maybe(`${n}.bias`), { weightGrad });
    const norm = (x: tf.Tensor2D, n: string) =>
      layerNorm(x, p(`${n}.weight`) as tf.Tensor1D, p(`${n}.bias`) as tf.Tensor1D, c.lnEps, { paramGrad: weightGrad });
    const n = h.shape[0];
    const dh = a.headDim;
    const qkv = tf.reshape(lin(norm(h, "input_layernorm"), "attention.query_key_value"), [n, c.nHeads, 3 * dh]);
    const [q, k, v] = tf.split(qkv, 3, 2) as [tf.Tensor3D, tf.Tensor3D, tf.Tensor3D];
    const ctxRows = headAttention(
      applyRotary(q, rotary),
      applyRotary(k, rotary),
      v,
      ctx.aux.mask,
      ctx.dims.batch,
      ctx.dims.length,
    );
    const attn = ctx.drop(lin(ctxRows, "attention.dense"), 0);
    const mlp = (x: tf.Tensor2D) =>
      ctx.drop(lin(activate(lin(x, "mlp.dense_h_to_4h"), c.activation), "mlp.dense_4h_to_h"), 1);
    if (a.parallelResidual) return tf.add(tf.add(h, attn), mlp(norm(h, "post_attention_layernorm"))) as tf.Tensor2D;
    const mid = tf.add(h, attn) as tf.Tensor2D;
    return tf.add(mid, mlp(norm(mid, "post_attention_layernorm"))) as tf.Tensor2D;
  },

  finalNormApply(h, [w, b], c, weightGrad) {
    return layerNorm(h, w as tf.Tensor1D, b as tf.Tensor1D, c.lnEps, { paramGrad: weightGrad });
  },
};
