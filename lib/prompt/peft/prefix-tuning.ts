/**
 * PEFT PREFIX_TUNING adapters <-> the kit's key/value prefixes (prefix tuning, lib/prompt/prefix-encoder.ts).
 *
 * What PEFT saves and how it uses it (PEFT 0.17.x, huggingface/peft; files read at the commits named):
 * - src/peft/utils/save_and_load.py (000b5847) get_peft_model_state_dict: a prompt-learning adapter saves one tensor,
 *   `prompt_embeddings`: `prompt_encoder[adapter].embedding.weight` in inference mode, else
 *   `get_prompt_embedding_to_save(adapter)`, which runs the PrefixEncoder on the P virtual tokens and keeps batch row
 *   0. set_peft_model_state_dict loads it back with `embedding.load_state_dict({"weight": ...}, strict=True)`.
 * - src/peft/tuners/prefix_tuning/model.py (628ad7c0) PrefixEncoder: `if self.prefix_projection and not
 *   config.inference_mode` it is Embedding(P, token_dim) -> Linear(token_dim, encoder_hidden_size) -> Tanh ->
 *   Linear(encoder_hidden_size, num_layers * 2 * token_dim); else `Embedding(num_virtual_tokens, num_layers * 2 *
 *   token_dim)`. So the saved tensor is always the prefix table [P, num_layers * 2 * token_dim] (the MLP's output
 *   when there was one), and a prefix_projection adapter loads only in inference mode.
 * - src/peft/peft_model.py (00336949) get_prompt: the table repeated per batch row is
 *   `past_key_values.view(batch_size, num_virtual_tokens, num_layers * 2, num_attention_heads, token_dim //
 *   num_attention_heads)`, then `.permute([2, 0, 3, 1, 4]).split(num_transformer_submodules * 2)`: with one
 *   submodule (a causal LM), L pairs (key, value) of [B, heads, P, head_dim], made a `DynamicCache.from_legacy_cache`.
 *   So within a table row, layer l's keys are columns [2l*W, (2l+1)*W) and its values the next W, each head-major
 *   (head h at h*head_dim): the kit's table layout exactly, written unchanged.
 * - src/peft/utils/other.py _prepare_prompt_learning_config: token_dim <- the model's hidden size, num_attention_heads
 *   <- its heads, and then "For grouped-query attention, see #1901": for PREFIX_TUNING with `num_key_value_heads` in
 *   the model config, `token_dim = token_dim // num_attention_heads * num_key_value_heads` and `num_attention_heads =
 *   num_key_value_heads`. So W = token_dim = key/value heads x head dim, and num_attention_heads = key/value heads
 *   (applied again on load, it leaves these values unchanged).
 * - PeftModelForCausalLM.forward (peft_model.py): the attention mask gets P ones in front (`torch.cat((
 *   prefix_attention_mask, attention_mask), dim=1)`), position ids are dropped ("Position ids are not supported for
 *   parameter efficient tuning. Ignoring position ids.") and the prefix goes in as `past_key_values`. transformers'
 *   decoders then number the input from the cache length (`cache_position = torch.arange(past_seen_tokens,
 *   past_seen_tokens + T)`, `position_ids = cache_position.unsqueeze(0)`; older GPT-2 code `arange(past_length, ...)`):
 *   the real tokens sit at P, P+1, ... Only a kit prefix trained with positions "after-prefix" computes the same thing;
 *   a "from-0" prefix is refused, with how to train an exportable one.
 *
 * Written config: PromptLearningConfig's fields plus PrefixTuningConfig's `encoder_hidden_size` and
 * `prefix_projection`, keys sorted, indent 2 (as save_pretrained). `prefix_projection` is false even for a prefix
 * trained through the MLP: the kit keeps it collapsed to its table, which PEFT loads into a direct PrefixEncoder in
 * training and inference mode alike. `init_weights` (PrefixTuningConfig in later releases) is left out, so PEFT takes
 * its default (null). The kit's PromptMeta and prefix dimensions travel in the safetensors `__metadata__` (`kit_prompt`,
 * `kit_prefix`) beside PEFT's `format: "pt"`, so an exported adapter imports back with its task and labels.
 */
import { writeFileAtomic } from "../../io/atomic-write";
import { writeSafetensorsFile } from "../../io/safetensors";
import { isInteger } from "../../io/validate";
import { arch, type TransformerConfig } from "../../backbone/config";
import type { LoadedBackbone } from "../../backbone/checkpoint";
import { describeShape, kvWidth, PrefixEncoder, type PrefixShape } from "../prefix-encoder";
import type { PromptMeta } from "../prompt-file";
import {
  checkDecoderOnlyAdapter,
  adapterFiles,
  ADAPTER_CONFIG_FILE,
  AdapterError,
  optionalField,
  peftJson,
  peftTypeOf,
  readAdapterConfigObject,
  readPromptLearningFields,
  type PeftBackbone,
  type PromptLearningAdapterConfig,
} from "./adapter-config";
import { KIT_META_KEY, PROMPT_EMBEDDINGS_KEY, readPromptEmbeddings } from "./prompt-tuning";

/** safetensors metadata key holding the prefix's dimensions and positions (as a kit prefix file's `kit_prefix`). */
export const KIT_PREFIX_KEY = "kit_prefix";

/** The backbone a prefix adapter is checked against: PeftBackbone plus the key/value heads and head width. */
export interface PeftPrefixBackbone extends PeftBackbone {
  /** key/value heads (grouped-query attention keeps fewer than `heads`). */
  readonly kvHeads: number;
  readonly headDim: number;
}

/** The identity a prefix adapter is checked against, from a backbone's name, weights fingerprint and config. */
export function peftPrefixBackbone(name: string, fingerprint: string, config: TransformerConfig): PeftPrefixBackbone {
  const a = arch(config);
  return {
    name,
    fingerprint,
    width: config.dModel,
    heads: config.nHeads,
    layers: config.nLayers,
    kvHeads: a.nKvHeads,
    headDim: a.headDim,
  };
}

/** peftPrefixBackbone of a loaded backbone. */
export function peftPrefixBackboneOf(b: LoadedBackbone): PeftPrefixBackbone {
  return peftPrefixBackbone(b.name, b.fingerprint, b.config);
}

/** The prefix shape (any length) a backbone needs. */
export function prefixShapeFor(b: PeftPrefixBackbone, length: number): PrefixShape {
  return { layers: b.layers, length, kvHeads: b.kvHeads, headDim: b.headDim, dModel: b.width };
}

export interface PrefixTuningAdapterConfig extends PromptLearningAdapterConfig {
  readonly encoder_hidden_size: number | null;
  readonly prefix_projection: boolean;
}

/** The adapter_config.json object PEFT 0.17.x writes for a causal-LM prefix-tuning adapter (see the file comment). */
export function prefixTuningConfig(virtualTokens: number, backbone: PeftPrefixBackbone): PrefixTuningAdapterConfig {
  const w = backbone.kvHeads * backbone.headDim;
  return {
    auto_mapping: null,
    base_model_name_or_path: backbone.name,
    encoder_hidden_size: w,
    inference_mode: true,
    num_attention_heads: backbone.kvHeads,
    num_layers: backbone.layers,
    num_transformer_submodules: 1,
    num_virtual_tokens: virtualTokens,
    peft_type: "PREFIX_TUNING",
    prefix_projection: false,
    revision: null,
    task_type: "CAUSAL_LM",
    token_dim: w,
  };
}

/** Refuses a prefix of another shape than `backbone` needs, naming both. */
function checkShape(what: string, s: PrefixShape, backbone: PeftPrefixBackbone): void {
  const want = prefixShapeFor(backbone, s.length);
  if (s.layers !== want.layers || s.kvHeads !== want.kvHeads || s.headDim !== want.headDim) {
    throw new Error(
      `${what}: the prefix has ${describeShape(s)}; backbone '${backbone.name}' needs ${describeShape(want)}`,
    );
  }
}

/**
 * Writes a prefix as a PEFT PREFIX_TUNING adapter folder for `backbone` (the one it was trained on, checked through
 * meta's fingerprint). A prefix trained with positions "from-0" is refused: PEFT would run it with the real tokens at
 * P, P+1, ... and compute something else than the kit measured.
 */
export function exportPrefixTuningAdapter(
  dir: string,
  prefix: PrefixEncoder,
  meta: PromptMeta,
  backbone: PeftPrefixBackbone,
  opts: { overwrite?: boolean; what?: string } = {},
): { config: string; weights: string } {
  const what = opts.what ?? `prefix for task '${meta.task}'`;
  if (prefix.positions !== "after-prefix") {
    throw new Error(
      `${what}: was trained with positions ${JSON.stringify(prefix.positions)} (the real tokens numbered 0, 1, ...), but ` +
        `PEFT passes a PREFIX_TUNING adapter to Hugging Face models as past_key_values, which number the real tokens ` +
        `after the ${prefix.shape.length} prefix rows (${prefix.shape.length}, ${prefix.shape.length + 1}, ...): the ` +
        `adapter would compute something else than the kit measured. Train an exportable prefix with positions ` +
        `"after-prefix" (grid option prefixPositions: "after-prefix", or kit.prefixTuning(backbone, { positions: ` +
        `"after-prefix" })), or keep this one in the kit's prefix file`,
    );
  }
  if (meta.backbone.fingerprint !== backbone.fingerprint || meta.backbone.name !== backbone.name) {
    throw new Error(
      `${what}: trained on backbone '${meta.backbone.name}' (${meta.backbone.fingerprint.slice(0, 19)}...), but the export ` +
        `describes '${backbone.name}' (${backbone.fingerprint.slice(0, 19)}...)`,
    );
  }
  checkShape(what, prefix.shape, backbone);
  const s = prefix.shape;
  const table = prefix.collapse(); // [P, L*2*W]
  const bad = table.findIndex((x) => !Number.isFinite(x));
  if (bad >= 0)
    throw new Error(
      `${what}: the prefix holds a non-finite value (index ${bad}: ${table[bad]}); refusing to export it`,
    );
  const files = adapterFiles(dir, opts.overwrite ?? false);
  writeSafetensorsFile(
    files.weights,
    { [PROMPT_EMBEDDINGS_KEY]: { dtype: "F32", shape: [s.length, s.layers * 2 * kvWidth(s)], data: table } },
    {
      format: "pt",
      [KIT_META_KEY]: JSON.stringify(meta),
      [KIT_PREFIX_KEY]: JSON.stringify({ ...s, positions: prefix.positions }),
    },
  );
  writeFileAtomic(files.config, peftJson({ ...prefixTuningConfig(s.length, backbone) }));
  return files;
}

/** Checks the fields PrefixTuningConfig adds (types as PEFT declares them) and what a causal-LM prefix needs. */
export function readPrefixTuningConfig(file: string, obj: Record<string, unknown>): PrefixTuningAdapterConfig {
  const base = readPromptLearningFields(file, obj);
  if (base.peft_type !== "PREFIX_TUNING")
    throw new AdapterError(
      file,
      "peft_type",
      `is ${JSON.stringify(base.peft_type)}, not "PREFIX_TUNING" (prompt-tuning adapters go to the prompt library: npm run prompts -- import)`,
    );
  const posIntOrNull = (v: unknown) => v === null || (isInteger(v) && v >= 1);
  const cfg: PrefixTuningAdapterConfig = {
    ...base,
    encoder_hidden_size: optionalField(
      file,
      obj,
      "encoder_hidden_size",
      posIntOrNull,
      "null or a positive integer",
      null,
    ),
    prefix_projection: optionalField(
      file,
      obj,
      "prefix_projection",
      (v) => typeof v === "boolean",
      "true or false",
      false,
    ),
  };
  optionalField(file, obj, "init_weights", (v) => v === null || typeof v === "string", "null or a string", null);
  checkDecoderOnlyAdapter(
    file,
    cfg,
    "the kit imports CAUSAL_LM prefix-tuning adapters (its backbones are decoder-only LMs)",
  );
  return cfg;
}

/** Refuses an adapter laid out for another backbone (name, layers, key/value heads, width), naming both values. */
function checkPrefixBackbone(file: string, cfg: PrefixTuningAdapterConfig, b: PeftPrefixBackbone): void {
  if (cfg.base_model_name_or_path !== null && cfg.base_model_name_or_path !== b.name) {
    throw new AdapterError(
      file,
      "base_model_name_or_path",
      `is ${JSON.stringify(cfg.base_model_name_or_path)}, but the loaded backbone is ${JSON.stringify(b.name)}: ` +
        `a prefix's keys and values only mean something on the model it was trained on`,
    );
  }
  const gqa = b.kvHeads !== b.heads ? ` (grouped-query attention: ${b.heads} query heads share them)` : "";
  const checks: [keyof PrefixTuningAdapterConfig, number | null, number, string][] = [
    ["num_layers", cfg.num_layers, b.layers, `${b.layers} layers`],
    ["num_attention_heads", cfg.num_attention_heads, b.kvHeads, `${b.kvHeads} key/value heads${gqa}`],
    [
      "token_dim",
      cfg.token_dim,
      b.kvHeads * b.headDim,
      `key/value width ${b.kvHeads} heads x ${b.headDim} dims = ${b.kvHeads * b.headDim}`,
    ],
  ];
  for (const [name, got, want, needs] of checks) {
    if (got !== null && got !== want)
      throw new AdapterError(file, name, `is ${got}, but the loaded backbone '${b.name}' has ${needs}`);
  }
}

export interface ImportedPrefixAdapter {
  /** direct prefixes with positions "after-prefix" (PEFT's numbering); the caller owns (and disposes) them. */
  readonly prefix: PrefixEncoder;
  readonly config: PrefixTuningAdapterConfig;
  /** the kit's metadata when the adapter was exported by the kit, else null. */
  readonly kitMeta: PromptMeta | null;
}

function parseMeta<T>(file: string, metadata: Readonly<Record<string, string>>, key: string): T | null {
  const raw = metadata[key];
  if (raw === undefined) return null;
  try {
    return JSON.parse(raw) as T;
  } catch (err) {
    throw new AdapterError(file, null, `metadata '${key}' is not valid JSON: ${(err as Error).message}`);
  }
}

/** Reads a PREFIX_TUNING adapter folder for `backbone`; see checkPrefixBackbone and below for what is refused. */
export function importPrefixTuningAdapter(dir: string, backbone: PeftPrefixBackbone): ImportedPrefixAdapter {
  const { file: configFile, obj } = readAdapterConfigObject(dir);
  peftTypeOf(configFile, obj);
  const cfg = readPrefixTuningConfig(configFile, obj);
  checkPrefixBackbone(configFile, cfg, backbone);
  const { weightsFile, tensor: t, metadata } = readPromptEmbeddings(dir, "a prefix-tuning adapter's prefix table");
  const shape = prefixShapeFor(backbone, cfg.num_virtual_tokens);
  const cols = shape.layers * 2 * kvWidth(shape);
  if (
    !(t.dtype === "F32" || t.dtype === "F16" || t.dtype === "BF16") ||
    t.shape.length !== 2 ||
    t.shape[0] !== shape.length ||
    t.shape[1] !== cols
  ) {
    throw new AdapterError(
      weightsFile,
      null,
      `tensor '${PROMPT_EMBEDDINGS_KEY}' is ${t.dtype} [${t.shape.join(", ")}], expected a float tensor ` +
        `[${shape.length}, ${cols}] (num_virtual_tokens x num_layers * 2 * token_dim from ${ADAPTER_CONFIG_FILE})`,
    );
  }
  const data = t.data as Float32Array;
  const bad = data.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0)
    throw new AdapterError(
      weightsFile,
      null,
      `tensor '${PROMPT_EMBEDDINGS_KEY}' holds a non-finite value at index ${bad} (${data[bad]})`,
    );
  const kitMeta = parseMeta<PromptMeta>(weightsFile, metadata, KIT_META_KEY);
  const fp = kitMeta?.backbone?.fingerprint;
  if (typeof fp === "string" && fp !== backbone.fingerprint) {
    throw new AdapterError(
      weightsFile,
      null,
      `this prefix was trained on backbone '${kitMeta!.backbone.name}' weights ${fp.slice(0, 19)}..., ` +
        `the loaded '${backbone.name}' has weights ${backbone.fingerprint.slice(0, 19)}...: prefixes do not transfer between weights`,
    );
  }
  const dims = parseMeta<{ positions?: unknown }>(weightsFile, metadata, KIT_PREFIX_KEY);
  if (dims !== null && dims.positions !== "after-prefix") {
    throw new AdapterError(
      weightsFile,
      null,
      `metadata '${KIT_PREFIX_KEY}' says positions ${JSON.stringify(dims.positions ?? null)}; a PEFT adapter numbers the ` +
        `real tokens after the prefix ("after-prefix")`,
    );
  }
  return { prefix: PrefixEncoder.fromTable(shape, data, "after-prefix"), config: cfg, kitMeta };
}
