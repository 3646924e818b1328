/**
 * Llama family (Llama, Qwen2, SmolLM2, TinyLlama): pre-RMSNorm blocks, rotary positions on q and k,
 * grouped-query attention, SwiGLU MLP down(silu(gate(x)) * up(x)), optional q/k/v biases (Qwen2) or attention
 * and MLP biases (Llama attention_bias / mlp_bias), tied or untied lm_head. No learned positions.
 */
import { tf } from "../../backend/backend";
import type { Rng } from "../../backend/random";
import { linear } from "../../backend/linear";
import { activate } from "../activation";
import { arch, type TransformerConfig } from "../config";
import type { BlockContext, FamilyDef } from "../family";
import { headAttention } from "../head-attention";
import { rmsNorm } from "../rms-norm";
import { applyRotary } from "../rotary";
import { initialWeights, layeredSpec, pushLinear, type BlockEntry } from "./layered-params";

function blockEntries(c: TransformerConfig): BlockEntry[] {
  const a = arch(c);
  const d = c.dModel;
  const q = c.nHeads * a.headDim;
  const kv = a.nKvHeads * a.headDim;
  const e: BlockEntry[] = [];
  const lin = (name: string, din: number, dout: number, bias: boolean) => pushLinear(e, name, din, dout, bias);
  e.push({ name: "input_layernorm.weight", shape: [d], linear: false });
  lin("self_attn.q_proj", d, q, a.qkvBias);
  lin("self_attn.k_proj", d, kv, a.qkvBias);
  lin("self_attn.v_proj", d, kv, a.qkvBias);
  lin("self_attn.o_proj", q, d, a.outBias);
  e.push({ name: "post_attention_layernorm.weight", shape: [d], linear: false });
  lin("mlp.gate_proj", d, c.dFF, a.mlpBias);
  lin("mlp.up_proj", d, c.dFF, a.mlpBias);
  lin("mlp.down_proj", c.dFF, d, a.mlpBias);
  return e;
}

export const llamaFamily: FamilyDef = {
  blockPrefix: "layers.",
  embedName: "embed_tokens.weight",
  positionName: null,
  headName: "lm_head.weight",
  finalNorm: ["norm.weight"],
  hfPrefixes: ["model."],
  hfUnprefixed: ["lm_head.weight"],
  ignoredBuffer: /\.rotary_emb\.inv_freq$/,

  spec(c) {
    return layeredSpec(
      c,
      { embed: "embed_tokens.weight", finalNorm: ["norm.weight"], head: "lm_head.weight" },
      blockEntries(c),
    );
  },

  blockParams(c) {
    return blockEntries(c).map((e) => e.name);
  },

  initialValue(name: string, shape: readonly number[], _c: TransformerConfig, rng: Rng): Float32Array {
    return initialWeights(name, shape, /norm\.weight$/, rng);
  },

  block(h, w, ctx: BlockContext) {
    const c = ctx.config;
    const a = arch(c);
    const weightGrad = ctx.weightGrad;
    const rotary = ctx.aux.rotary;
    if (!rotary) throw new Error("llama block: missing rotary tables");
    const names = llamaFamily.blockParams(c);
    const p = (n: string): tf.Tensor => w[names.indexOf(n)]!;
    const maybe = (n: string): tf.Tensor1D | null => (names.includes(n) ? (p(n) as tf.Tensor1D) : null);
    const lin = (x: tf.Tensor2D, n: string) =>
      linear(x, p(`${n}.weight`) as tf.Tensor2D, maybe(`${n}.bias`), { weightGrad });
    const n = h.shape[0];
    const x = rmsNorm(h, p("input_layernorm.weight") as tf.Tensor1D, c.lnEps);
    const q = applyRotary(tf.reshape(lin(x, "self_attn.q_proj"), [n, c.nHeads, a.headDim]), rotary);
    const k = applyRotary(tf.reshape(lin(x, "self_attn.k_proj"), [n, a.nKvHeads, a.headDim]), rotary);
    const v = tf.reshape(lin(x, "self_attn.v_proj"), [n, a.nKvHeads, a.headDim]) as tf.Tensor3D;
    const attn = lin(headAttention(q, k, v, ctx.aux.mask, ctx.dims.batch, ctx.dims.length), "self_attn.o_proj");
    const mid = tf.add(h, ctx.drop(attn, 0)) as tf.Tensor2D;
    const m = rmsNorm(mid, p("post_attention_layernorm.weight") as tf.Tensor1D, c.lnEps);
    const gated = tf.mul(activate(lin(m, "mlp.gate_proj"), "silu"), lin(m, "mlp.up_proj")) as tf.Tensor2D;
    return tf.add(mid, ctx.drop(lin(gated, "mlp.down_proj"), 1)) as tf.Tensor2D;
  },

  finalNormApply(h, [w], c) {
    return rmsNorm(h, w as tf.Tensor1D, c.lnEps);
  },
};
