/**
 * Backbone checkpoints: a folder with
 *   config.json        GPT-2-style fields (n_embd, n_layer, ...) plus the kit's own
 *   model.safetensors  float32 weights, GPT-2 names and layouts
 *   tokenizer.json     Hugging Face tokenizer
 *   README.md          the model card
 *
 * Loading validates everything and fails with a message naming the file and the tensor: a truncated file, an
 * oversized or malformed header, a wrong shape or dtype, a missing or unknown tensor, a config that disagrees with
 * the tokenizer. A GPT-2-style checkpoint a user brings loads too: a "transformer." name prefix is stripped, the
 * causal-mask buffers (attn.bias, attn.masked_bias) are ignored, and lm_head.weight is accepted when it equals
 * the token embedding (tied).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { writeFileAtomic, writeJsonAtomic } from "../io/atomic-write";
import { SafeTensor, readSafetensorsFile, validateAgainst, writeSafetensorsFile } from "../io/safetensors";
import { Tokenizer } from "../tokenizer/tokenizer";
import { ACTIVATIONS, Activation, TransformerConfig, resolveConfig } from "./config";
import { fingerprint } from "./fingerprint";
import { Transformer, parameterSpec } from "./transformer";

export const CHECKPOINT_FILES = Object.freeze({
  config: "config.json",
  weights: "model.safetensors",
  tokenizer: "tokenizer.json",
  card: "README.md",
});

export interface LoadedBackbone {
  readonly model: Transformer;
  readonly tokenizer: Tokenizer;
  readonly config: TransformerConfig;
  /** Folder it was loaded from. */
  readonly dir: string;
  /** Name recorded in config.json (or the folder name). */
  readonly name: string;
  /** SHA-256 fingerprint of the weights. */
  readonly fingerprint: string;
  /** safetensors __metadata__. */
  readonly metadata: Readonly<Record<string, string>>;
}

/** config.json contents: GPT-2 field names, so Hugging Face tooling can read them. */
export function configToJson(c: TransformerConfig, name: string): Record<string, unknown> {
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
  };
}

/** Reads a config.json object (ours or a GPT-2 one) into a validated TransformerConfig. */
export function configFromJson(raw: unknown, file: string): TransformerConfig {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw new Error(`${file}: expected a JSON object`);
  }
  const o = raw as Record<string, unknown>;
  const num = (key: string, fallback?: number): number => {
    const v = o[key] ?? fallback;
    if (typeof v !== "number") throw new Error(`${file}: field '${key}' must be a number, got ${JSON.stringify(v)}`);
    return v;
  };
  const activation = (o["activation_function"] ?? "gelu_new") as string;
  if (!ACTIVATIONS.includes(activation as Activation)) {
    throw new Error(`${file}: activation_function '${activation}' is not supported (supported: ${ACTIVATIONS.join(", ")})`);
  }
  if (o["tie_word_embeddings"] === false) {
    throw new Error(`${file}: untied output embeddings (tie_word_embeddings: false) are not supported`);
  }
  const dModel = num("n_embd");
  try {
    return resolveConfig({
      vocabSize: num("vocab_size"),
      maxLen: num("n_positions"),
      dModel,
      nLayers: num("n_layer"),
      nHeads: num("n_head"),
      dFF: o["n_inner"] === null || o["n_inner"] === undefined ? 4 * dModel : num("n_inner"),
      activation: activation as Activation,
      lnEps: num("layer_norm_epsilon", 1e-5),
      dropout: num("resid_pdrop", 0),
    });
  } catch (err) {
    throw new Error(`${file}: ${(err as Error).message}`);
  }
}

/** Writes a checkpoint folder atomically file by file. Existing files in `dir` are replaced. */
export function saveCheckpoint(
  dir: string,
  model: Transformer,
  tokenizer: Tokenizer,
  opts: { name: string; card: string; metadata?: Record<string, string> },
): string {
  if (tokenizer.vocabSize !== model.config.vocabSize) {
    throw new Error(`saveCheckpoint: tokenizer has ${tokenizer.vocabSize} tokens but the model ${model.config.vocabSize}`);
  }
  fs.mkdirSync(dir, { recursive: true });
  const tensors: Record<string, SafeTensor> = {};
  for (const name of model.names()) {
    const v = model.param(name);
    tensors[name] = { dtype: "F32", shape: [...v.shape], data: Float32Array.from(v.dataSync() as Float32Array) };
  }
  const fp = fingerprint(model);
  writeSafetensorsFile(path.join(dir, CHECKPOINT_FILES.weights), tensors, {
    format: "pt",
    kit_name: opts.name,
    kit_fingerprint: fp,
    ...(opts.metadata ?? {}),
  });
  writeJsonAtomic(path.join(dir, CHECKPOINT_FILES.config), configToJson(model.config, opts.name));
  writeFileAtomic(path.join(dir, CHECKPOINT_FILES.tokenizer), JSON.stringify(tokenizer.toJSON()));
  writeFileAtomic(path.join(dir, CHECKPOINT_FILES.card), opts.card.endsWith("\n") ? opts.card : opts.card + "\n");
  return fp;
}

const IGNORED_BUFFER = /\.attn\.(bias|masked_bias)$/;

/** Loads and validates a checkpoint folder. */
export function loadCheckpoint(dir: string): LoadedBackbone {
  const file = (f: string) => path.join(dir, f);
  for (const f of [CHECKPOINT_FILES.config, CHECKPOINT_FILES.weights, CHECKPOINT_FILES.tokenizer]) {
    if (!fs.existsSync(file(f))) throw new Error(`${file(f)}: missing (a checkpoint folder needs config.json, model.safetensors, tokenizer.json)`);
  }
  let rawConfig: unknown;
  try {
    rawConfig = JSON.parse(fs.readFileSync(file(CHECKPOINT_FILES.config), "utf8"));
  } catch (err) {
    throw new Error(`${file(CHECKPOINT_FILES.config)}: not valid JSON: ${(err as Error).message}`);
  }
  const config = configFromJson(rawConfig, file(CHECKPOINT_FILES.config));
  const tokenizer = Tokenizer.fromFile(file(CHECKPOINT_FILES.tokenizer));
  if (tokenizer.vocabSize > config.vocabSize) {
    throw new Error(
      `${file(CHECKPOINT_FILES.tokenizer)}: tokenizer has ${tokenizer.vocabSize} tokens but config.json vocab_size is ${config.vocabSize}`,
    );
  }
  const weightsFile = file(CHECKPOINT_FILES.weights);
  const { tensors, metadata } = readSafetensorsFile(weightsFile);
  const renamed: Record<string, SafeTensor> = {};
  for (const [rawName, t] of Object.entries(tensors)) {
    const name = rawName.startsWith("transformer.") ? rawName.slice("transformer.".length) : rawName;
    if (IGNORED_BUFFER.test(name)) continue;
    renamed[name] = t;
  }
  const lmHead = renamed["lm_head.weight"];
  if (lmHead) {
    const wte = renamed["wte.weight"];
    if (!wte || !sameFloats(lmHead.data as Float32Array, wte.data as Float32Array)) {
      throw new Error(`${weightsFile}: tensor "lm_head.weight" differs from "wte.weight": untied output layers are not supported`);
    }
    delete renamed["lm_head.weight"];
  }
  const spec: Record<string, { shape: number[]; dtype: "F32" }> = {};
  for (const [name, s] of parameterSpec(config)) spec[name] = { shape: [...s.shape], dtype: "F32" };
  validateAgainst(spec, renamed, weightsFile, { anyFloatPrecision: true });
  const arrays = new Map<string, Float32Array>();
  for (const [name, t] of Object.entries(renamed)) arrays.set(name, t.data as Float32Array);
  const model = Transformer.fromArrays(config, arrays);
  const fp = fingerprint(model);
  const name =
    typeof (rawConfig as Record<string, unknown>)["kit_name"] === "string"
      ? ((rawConfig as Record<string, unknown>)["kit_name"] as string)
      : path.basename(path.resolve(dir));
  return { model, tokenizer, config, dir, name, fingerprint: fp, metadata };
}

function sameFloats(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

