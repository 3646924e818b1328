/**
 * PEFT PROMPT_TUNING adapters <-> the kit's front-position soft prompts.
 *
 * PEFT's prompt tuning (PromptEmbedding) prepends `num_virtual_tokens` trained vectors to the input embeddings of
 * a causal LM; its saved state is one tensor, `prompt_embeddings` [num_virtual_tokens * num_transformer_submodules,
 * token_dim] (PEFT 0.17.x src/peft/utils/save_and_load.py, get_peft_model_state_dict: prompt-learning configs
 * save `to_return["prompt_embeddings"]`, unkeyed by adapter name; set_peft_model_state_dict loads the same key into
 * `prompt_encoder[adapter].embedding.weight`). That is exactly a kit prompt with only the front slot, on a
 * decoder-only backbone (one transformer submodule).
 *
 * Written config: every field of PromptTuningConfig (PEFT 0.17.x), keys sorted, indent 2, as PEFT's
 * save_pretrained writes it. `prompt_tuning_init` is always "RANDOM": the values are trained and overwrite any
 * init, and "TEXT" would make PEFT load a tokenizer by name when it builds the adapter. The kit's own metadata
 * (task, labels, settings, backbone fingerprint, metrics) travels in the safetensors `__metadata__` beside PEFT's
 * `format: "pt"`, which PEFT ignores, so an exported adapter imports back with its task and labels.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { writeFileAtomic } from "../../io/atomic-write";
import { readSafetensorsFile, writeSafetensorsFile } from "../../io/safetensors";
import { describe } from "../../io/validate";
import { positionName } from "../positions";
import type { PromptMeta } from "../prompt-file";
import { PromptSet } from "../soft-prompt";
import {
  checkDecoderOnlyAdapter,
  adapterFiles,
  ADAPTER_CONFIG_FILE,
  ADAPTER_WEIGHTS_FILE,
  AdapterError,
  checkAdapterBackbone,
  optionalField,
  peftJson,
  readPromptLearningFields,
  type PeftBackbone,
  type PromptLearningAdapterConfig,
} from "./adapter-config";

/** The safetensors key PEFT saves a prompt-learning adapter's vectors under. */
export const PROMPT_EMBEDDINGS_KEY = "prompt_embeddings";
/** safetensors metadata key holding the kit's PromptMeta (JSON). */
export const KIT_META_KEY = "kit_prompt";

export interface PromptTuningAdapterConfig extends PromptLearningAdapterConfig {
  readonly prompt_tuning_init: string;
  readonly prompt_tuning_init_text: string | null;
  readonly tokenizer_name_or_path: string | null;
  readonly tokenizer_kwargs: Record<string, unknown> | null;
}

/** The adapter_config.json object PEFT 0.17.x writes for a prompt-tuning adapter (keys in PEFT's sorted order). */
export function promptTuningConfig(virtualTokens: number, backbone: PeftBackbone): PromptTuningAdapterConfig {
  const cfg: PromptTuningAdapterConfig = {
    auto_mapping: null,
    base_model_name_or_path: backbone.name,
    inference_mode: true,
    num_attention_heads: backbone.heads,
    num_layers: backbone.layers,
    num_transformer_submodules: 1,
    num_virtual_tokens: virtualTokens,
    peft_type: "PROMPT_TUNING",
    prompt_tuning_init: "RANDOM",
    prompt_tuning_init_text: null,
    revision: null,
    task_type: "CAUSAL_LM",
    token_dim: backbone.width,
    tokenizer_kwargs: null,
    tokenizer_name_or_path: null,
  };
  return cfg;
}

/**
 * Throws unless the prompt is one PEFT's PROMPT_TUNING can hold: a single layer with only the front slot. `what`
 * names the prompt in the message (a file, a library entry).
 */
export function checkExpressible(layers: readonly PromptSet[], what: string): PromptSet {
  const keep = "keep it in the kit's own format (a prompt file or the prompt library)";
  if (layers.length !== 1) {
    throw new Error(
      `${what}: a deep prompt (${layers.length} layers) cannot be exported as a PEFT PROMPT_TUNING adapter, which holds ` +
        `one prompt before the input; ${keep}`,
    );
  }
  const p = layers[0]!;
  if (p.lengths.middle > 0 || p.lengths.back > 0) {
    throw new Error(
      `${what}: position '${positionName(p.lengths)}' cannot be exported as a PEFT PROMPT_TUNING adapter: PEFT prepends ` +
        `its virtual tokens in front of the input and has no middle or back slot; ${keep}`,
    );
  }
  return p;
}

/**
 * Writes a front-position prompt as a PEFT prompt-tuning adapter folder. `layers` is a prompt's layers (one for
 * prompt tuning); other positions and deep prompts are refused. The prompt must come from `backbone` (checked
 * through meta's fingerprint).
 */
export function exportPromptTuningAdapter(
  dir: string,
  layers: readonly PromptSet[],
  meta: PromptMeta,
  backbone: PeftBackbone,
  opts: { overwrite?: boolean; what?: string } = {},
): { config: string; weights: string } {
  const what = opts.what ?? `prompt for task '${meta.task}'`;
  const prompt = checkExpressible(layers, what);
  if (meta.backbone.fingerprint !== backbone.fingerprint || meta.backbone.name !== backbone.name) {
    throw new Error(
      `${what}: trained on backbone '${meta.backbone.name}' (${meta.backbone.fingerprint.slice(0, 19)}...), but the export ` +
        `describes '${backbone.name}' (${backbone.fingerprint.slice(0, 19)}...)`,
    );
  }
  if (prompt.width !== backbone.width)
    throw new Error(
      `${what}: prompt width ${prompt.width} differs from backbone '${backbone.name}' width ${backbone.width}`,
    );
  const data = prompt.arrays().get("front")!;
  const files = adapterFiles(dir, opts.overwrite ?? false);
  writeSafetensorsFile(
    files.weights,
    { [PROMPT_EMBEDDINGS_KEY]: { dtype: "F32", shape: [prompt.lengths.front, prompt.width], data } },
    { format: "pt", [KIT_META_KEY]: JSON.stringify(meta) },
  );
  writeFileAtomic(files.config, peftJson({ ...promptTuningConfig(prompt.lengths.front, backbone) }));
  return files;
}

/** Checks the fields PromptTuningConfig adds to a prompt-learning config (types as PEFT 0.17.x declares them). */
export function readPromptTuningConfig(file: string, obj: Record<string, unknown>): PromptTuningAdapterConfig {
  const base = readPromptLearningFields(file, obj);
  const str = (v: unknown) => typeof v === "string";
  const strOrNull = (v: unknown) => v === null || typeof v === "string";
  const cfg: PromptTuningAdapterConfig = {
    ...base,
    prompt_tuning_init: optionalField(
      file,
      obj,
      "prompt_tuning_init",
      str,
      'a string such as "RANDOM" or "TEXT"',
      "RANDOM",
    ),
    prompt_tuning_init_text: optionalField(file, obj, "prompt_tuning_init_text", strOrNull, "null or a string", null),
    tokenizer_name_or_path: optionalField(file, obj, "tokenizer_name_or_path", strOrNull, "null or a string", null),
    tokenizer_kwargs: optionalField(
      file,
      obj,
      "tokenizer_kwargs",
      (v) => v === null || (typeof v === "object" && !Array.isArray(v)),
      "null or an object",
      null,
    ),
  };
  checkDecoderOnlyAdapter(
    file,
    cfg,
    "the kit imports CAUSAL_LM prompt-tuning adapters (its backbones are decoder-only LMs that score label words)",
  );
  return cfg;
}

export interface ImportedAdapter {
  /** the prompt, front slot only; the caller owns (and disposes) it. */
  readonly prompts: PromptSet;
  readonly config: PromptTuningAdapterConfig;
  /** the kit's metadata when the adapter was exported by the kit, else null. */
  readonly kitMeta: PromptMeta | null;
}

/** Reads a PROMPT_TUNING adapter folder for `backbone`: refuses another base model, width or weights fingerprint. */
export function importPromptTuningAdapter(
  dir: string,
  obj: Record<string, unknown>,
  configFile: string,
  backbone: PeftBackbone,
): ImportedAdapter {
  const cfg = readPromptTuningConfig(configFile, obj);
  checkAdapterBackbone(configFile, cfg, backbone);
  const { weightsFile, tensor: t, metadata } = readPromptEmbeddings(dir, "a prompt-tuning adapter");
  const rows = cfg.num_virtual_tokens * (cfg.num_transformer_submodules ?? 1);
  if (
    !(t.dtype === "F32" || t.dtype === "F16" || t.dtype === "BF16") ||
    t.shape.length !== 2 ||
    t.shape[0] !== rows ||
    t.shape[1] !== cfg.token_dim
  ) {
    throw new AdapterError(
      weightsFile,
      null,
      `tensor '${PROMPT_EMBEDDINGS_KEY}' is ${t.dtype} [${t.shape.join(", ")}], expected a float tensor ` +
        `[${rows}, ${cfg.token_dim}] (num_virtual_tokens x token_dim from ${ADAPTER_CONFIG_FILE})`,
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
  let kitMeta: PromptMeta | null = null;
  const raw = metadata[KIT_META_KEY];
  if (raw !== undefined) {
    try {
      kitMeta = JSON.parse(raw) as PromptMeta;
    } catch (err) {
      throw new AdapterError(
        weightsFile,
        null,
        `metadata '${KIT_META_KEY}' is not valid JSON: ${(err as Error).message}`,
      );
    }
    const fp = kitMeta?.backbone?.fingerprint;
    if (typeof fp === "string" && fp !== backbone.fingerprint) {
      throw new AdapterError(
        weightsFile,
        null,
        `this prompt was trained on backbone '${kitMeta.backbone.name}' weights ${fp.slice(0, 19)}..., ` +
          `the loaded '${backbone.name}' has weights ${backbone.fingerprint.slice(0, 19)}...: soft prompts do not transfer between weights`,
      );
    }
  }
  const prompts = PromptSet.fromArrays(new Map([["front", data]]), cfg.token_dim, kitMeta?.settings?.init ?? "peft");
  return { prompts, config: cfg, kitMeta };
}

/**
 * The adapter's one tensor, `prompt_embeddings` (what PEFT saves for every prompt-learning type), and the file's
 * metadata. Refuses a missing weights file, a missing tensor and extra tensors (e.g. modules_to_save), naming the file.
 * `what` says what PEFT saves under the key, for the message (e.g. "a prompt-tuning adapter").
 */
export function readPromptEmbeddings(
  dir: string,
  what: string,
): {
  weightsFile: string;
  tensor: ReturnType<typeof readSafetensorsFile>["tensors"][string];
  metadata: ReturnType<typeof readSafetensorsFile>["metadata"];
} {
  const weightsFile = path.join(dir, ADAPTER_WEIGHTS_FILE);
  if (!fs.existsSync(weightsFile))
    throw new AdapterError(weightsFile, null, `missing (a PEFT adapter folder holds ${ADAPTER_WEIGHTS_FILE})`);
  const { tensors, metadata } = readSafetensorsFile(weightsFile);
  const names = Object.keys(tensors);
  const tensor = tensors[PROMPT_EMBEDDINGS_KEY];
  if (tensor === undefined) {
    throw new AdapterError(
      weightsFile,
      null,
      `no tensor '${PROMPT_EMBEDDINGS_KEY}' (PEFT saves ${what} under that key); found ${describe(names)}`,
    );
  }
  const extra = names.filter((n) => n !== PROMPT_EMBEDDINGS_KEY);
  if (extra.length > 0) {
    throw new AdapterError(
      weightsFile,
      null,
      `holds tensors besides '${PROMPT_EMBEDDINGS_KEY}' (${extra.join(", ")}; e.g. modules_to_save), which the kit cannot apply`,
    );
  }
  return { weightsFile, tensor, metadata };
}
