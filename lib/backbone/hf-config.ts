/**
 * config.json <-> TransformerConfig, with Hugging Face's field names. The family comes from `model_type`:
 * gpt2, llama / qwen2 (Llama family), gpt_neox. A model_type the kit does not implement, or a field whose value
 * would change the math in a way the kit does not implement (rope_scaling, sliding windows, cross-attention, ...),
 * is refused naming the field, so a checkpoint never loads into the wrong computation silently.
 */
import { Activation, TransformerConfig, arch, resolveConfig } from "./config";
import { moeFromJson, moeToJson } from "./moe/moe-config";

export const SUPPORTED_MODEL_TYPES = ["gpt2", "llama", "qwen2", "gpt_neox"] as const;

type Raw = Record<string, unknown>;

class Fields {
  constructor(
    private readonly o: Raw,
    private readonly file: string,
  ) {}
  has(key: string): boolean {
    return this.o[key] !== undefined && this.o[key] !== null;
  }
  num(key: string, fallback?: number): number {
    const v = this.has(key) ? this.o[key] : fallback;
    if (typeof v !== "number" || !Number.isFinite(v))
      throw new Error(`${this.file}: field '${key}' must be a number, got ${JSON.stringify(v)}`);
    return v;
  }
  bool(key: string, fallback: boolean): boolean {
    const v = this.has(key) ? this.o[key] : fallback;
    if (typeof v !== "boolean")
      throw new Error(`${this.file}: field '${key}' must be true or false, got ${JSON.stringify(v)}`);
    return v;
  }
  str(key: string, fallback: string): string {
    const v = this.has(key) ? this.o[key] : fallback;
    if (typeof v !== "string")
      throw new Error(`${this.file}: field '${key}' must be a string, got ${JSON.stringify(v)}`);
    return v;
  }
  /** Refuses a field whose value is set and differs from the only value the kit implements. */
  refuse(key: string, allowed: unknown, why: string): void {
    if (!this.has(key)) return;
    const v = this.o[key];
    if (JSON.stringify(v) === JSON.stringify(allowed)) return;
    throw new Error(
      `${this.file}: field '${key}' is ${JSON.stringify(v)}: ${why} is not supported (only ${JSON.stringify(allowed)} or absent)`,
    );
  }
  activation(key: string, fallback: string, allowed: readonly Activation[]): Activation {
    const v = this.str(key, fallback);
    if (!(allowed as readonly string[]).includes(v)) {
      throw new Error(
        `${this.file}: field '${key}' is ${JSON.stringify(v)}: not supported for this model_type (supported: ${allowed.join(", ")})`,
      );
    }
    return v as Activation;
  }
}

/** Reads a config.json object (the kit's own, or a Hugging Face one) into a validated TransformerConfig. */
export function configFromJson(raw: unknown, file: string): TransformerConfig {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw new Error(`${file}: expected a JSON object`);
  const o = raw as Raw;
  const f = new Fields(o, file);
  const modelType = f.str("model_type", "gpt2");
  let c: Partial<TransformerConfig>;
  switch (modelType) {
    case "gpt2": {
      const dense = gpt2(f);
      c = { ...dense, ...moeFromJson(o, file, dense.nLayers!) };
      break;
    }
    case "llama":
    case "qwen2":
      c = llama(f, modelType);
      break;
    case "gpt_neox":
      c = gptNeox(f);
      break;
    default:
      throw new Error(
        `${file}: field 'model_type' is ${JSON.stringify(modelType)}: not a supported architecture (supported: ${SUPPORTED_MODEL_TYPES.join(", ")})`,
      );
  }
  try {
    return resolveConfig(c);
  } catch (err) {
    throw new Error(`${file}: ${(err as Error).message}`);
  }
}

function gpt2(f: Fields): Partial<TransformerConfig> {
  f.refuse("tie_word_embeddings", true, "an untied GPT-2 output layer");
  f.refuse("add_cross_attention", false, "cross-attention");
  f.refuse("scale_attn_by_inverse_layer_idx", false, "scaling attention by the inverse layer index");
  f.refuse("scale_attn_weights", true, "unscaled attention");
  const dModel = f.num("n_embd");
  return {
    vocabSize: f.num("vocab_size"),
    maxLen: f.num("n_positions"),
    dModel,
    nLayers: f.num("n_layer"),
    nHeads: f.num("n_head"),
    dFF: f.has("n_inner") ? f.num("n_inner") : 4 * dModel,
    activation: f.activation("activation_function", "gelu_new", ["quick_gelu", "gelu_new", "relu", "gelu"]),
    lnEps: f.num("layer_norm_epsilon", 1e-5),
    dropout: f.num("resid_pdrop", 0),
  };
}

function llama(f: Fields, modelType: string): Partial<TransformerConfig> {
  f.refuse("rope_scaling", null, "rotary scaling");
  f.refuse("use_sliding_window", false, "sliding-window attention");
  f.refuse("rope_interleaved", false, "interleaved rotary pairs");
  f.refuse("use_mrope", false, "multimodal rotary positions");
  f.activation("hidden_act", "silu", ["silu"]);
  const dModel = f.num("hidden_size");
  const nHeads = f.num("num_attention_heads");
  const qwen = modelType === "qwen2";
  const attnBias = qwen ? false : f.bool("attention_bias", false);
  return {
    family: "llama",
    vocabSize: f.num("vocab_size"),
    maxLen: f.num("max_position_embeddings", 2048),
    dModel,
    nLayers: f.num("num_hidden_layers"),
    nHeads,
    nKvHeads: f.has("num_key_value_heads") ? f.num("num_key_value_heads") : nHeads,
    headDim: f.has("head_dim") ? f.num("head_dim") : dModel / nHeads,
    dFF: f.num("intermediate_size"),
    activation: "silu",
    lnEps: f.num("rms_norm_eps", qwen ? 1e-6 : 1e-6),
    ropeTheta: f.num("rope_theta", 10000),
    tiedHead: f.bool("tie_word_embeddings", false),
    qkvBias: qwen ? true : attnBias,
    outBias: attnBias,
    mlpBias: qwen ? false : f.bool("mlp_bias", false),
    dropout: 0,
  };
}

function gptNeox(f: Fields): Partial<TransformerConfig> {
  f.refuse("rope_scaling", null, "rotary scaling");
  const dModel = f.num("hidden_size");
  const bias = f.bool("attention_bias", true);
  return {
    family: "gpt_neox",
    vocabSize: f.num("vocab_size"),
    maxLen: f.num("max_position_embeddings", 2048),
    dModel,
    nLayers: f.num("num_hidden_layers"),
    nHeads: f.num("num_attention_heads"),
    dFF: f.num("intermediate_size", 4 * dModel),
    activation: f.activation("hidden_act", "gelu", ["gelu", "gelu_new", "relu", "silu"]),
    lnEps: f.num("layer_norm_eps", 1e-5),
    ropeTheta: f.has("rope_theta") ? f.num("rope_theta") : f.num("rotary_emb_base", 10000),
    rotaryPct: f.num("rotary_pct", 0.25),
    tiedHead: f.bool("tie_word_embeddings", false),
    qkvBias: bias,
    outBias: bias,
    mlpBias: true,
    parallelResidual: f.bool("use_parallel_residual", true),
    dropout: 0,
  };
}

/** config.json contents with Hugging Face's field names for the config's family, so HF tooling can read them.
 * Long on purpose: one branch per family, each writing Hugging Face's own field names for that family, side by side so they can be checked against HF's config classes.
 */
export function configToJson(c: TransformerConfig, name: string): Record<string, unknown> {
  const a = arch(c);
  switch (a.family) {
    case "gpt2":
      return {
        model_type: "gpt2",
        kit_name: name,
        architectures: ["GPT2LMHeadModel"],
        vocab_size: c.vocabSize,
        n_positions: c.maxLen,
        n_embd: c.dModel,
        n_layer: c.nLayers,
        n_head: c.nHeads,
        n_inner: c.dFF,
        activation_function: c.activation,
        layer_norm_epsilon: c.lnEps,
        resid_pdrop: c.dropout,
        embd_pdrop: c.dropout,
        attn_pdrop: 0,
        tie_word_embeddings: true,
        ...moeToJson(c),
      };
    case "llama":
      return {
        // Qwen2's layout (q/k/v biases, none on o_proj) has its own model_type; Llama's attention_bias covers all four.
        model_type: a.qkvBias && !a.outBias ? "qwen2" : "llama",
        kit_name: name,
        architectures: [a.qkvBias && !a.outBias ? "Qwen2ForCausalLM" : "LlamaForCausalLM"],
        vocab_size: c.vocabSize,
        max_position_embeddings: c.maxLen,
        hidden_size: c.dModel,
        num_hidden_layers: c.nLayers,
        num_attention_heads: c.nHeads,
        num_key_value_heads: a.nKvHeads,
        head_dim: a.headDim,
        intermediate_size: c.dFF,
        hidden_act: "silu",
        rms_norm_eps: c.lnEps,
        rope_theta: a.ropeTheta,
        rope_scaling: null,
        tie_word_embeddings: a.tiedHead,
        attention_bias: a.qkvBias,
        mlp_bias: a.mlpBias,
      };
    case "gpt_neox":
      return {
        model_type: "gpt_neox",
        kit_name: name,
        architectures: ["GPTNeoXForCausalLM"],
        vocab_size: c.vocabSize,
        max_position_embeddings: c.maxLen,
        hidden_size: c.dModel,
        num_hidden_layers: c.nLayers,
        num_attention_heads: c.nHeads,
        intermediate_size: c.dFF,
        hidden_act: c.activation,
        layer_norm_eps: c.lnEps,
        rotary_pct: a.rotaryPct,
        rotary_emb_base: a.ropeTheta,
        use_parallel_residual: a.parallelResidual,
        attention_bias: a.qkvBias,
        tie_word_embeddings: a.tiedHead,
      };
  }
}
