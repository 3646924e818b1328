/**
 * Hugging Face PEFT adapter folders: `adapter_config.json` + `adapter_model.safetensors`.
 *
 * Field names, types and defaults follow PEFT 0.17.x (huggingface/peft; src/peft/__init__.py __version__ 0.17.2.dev0):
 * src/peft/config.py (PeftConfigMixin, PeftConfig, PromptLearningConfig; read at commit 0397041d),
 * src/peft/tuners/prompt_tuning/config.py (PromptTuningConfig, PromptTuningInit; commit 0d721885) and
 * src/peft/utils/peft_types.py (PeftType, TaskType; commit 01f89be6). PEFT writes the config
 * with `json.dumps(asdict(config), indent=2, sort_keys=True)`, so every dataclass field is present (null when
 * unset) and keys are sorted; enums are written as their string values ("PROMPT_TUNING", "CAUSAL_LM").
 *
 * This file holds what every prompt-learning adapter shares; each PEFT method the kit reads or writes has its own
 * file (prompt-tuning.ts) and one line in the registries of index.ts (a prefix-tuning exporter adds its own).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { readJsonFile } from "../../io/json-file";
import { isInteger, isPlainObject, describe } from "../../io/validate";

export const ADAPTER_CONFIG_FILE = "adapter_config.json";
export const ADAPTER_WEIGHTS_FILE = "adapter_model.safetensors";

/** PeftType values of PEFT 0.17.x (peft_types.py, plus OSF exported by 0.17.2): a peft_type outside this list is not PEFT's. */
export const PEFT_TYPES = [
  "PROMPT_TUNING",
  "MULTITASK_PROMPT_TUNING",
  "P_TUNING",
  "PREFIX_TUNING",
  "LORA",
  "ADALORA",
  "BOFT",
  "ADAPTION_PROMPT",
  "IA3",
  "LOHA",
  "LOKR",
  "OFT",
  "POLY",
  "LN_TUNING",
  "VERA",
  "FOURIERFT",
  "XLORA",
  "HRA",
  "VBLORA",
  "CPT",
  "BONE",
  "RANDLORA",
  "TRAINABLE_TOKENS",
  "SHIRA",
  "C3A",
  "ROAD",
  "WAVEFT",
  "MISS",
  "OSF",
] as const;

/** PEFT 0.17's TaskType values. */
export const PEFT_TASK_TYPES = [
  "SEQ_CLS",
  "SEQ_2_SEQ_LM",
  "CAUSAL_LM",
  "TOKEN_CLS",
  "QUESTION_ANS",
  "FEATURE_EXTRACTION",
] as const;

/** The fields of PeftConfigMixin + PeftConfig + PromptLearningConfig, as PEFT 0.17 writes them. */
export interface PromptLearningAdapterConfig {
  readonly auto_mapping: Record<string, unknown> | null;
  readonly base_model_name_or_path: string | null;
  readonly revision: string | null;
  readonly peft_type: string;
  readonly task_type: string | null;
  readonly inference_mode: boolean;
  readonly num_virtual_tokens: number;
  readonly token_dim: number;
  readonly num_transformer_submodules: number | null;
  readonly num_attention_heads: number | null;
  readonly num_layers: number | null;
}

/** What an adapter is checked against: the loaded backbone's name, weights fingerprint and shape. */
export interface PeftBackbone {
  readonly name: string;
  readonly fingerprint: string;
  /** token embedding width (PEFT's token_dim). */
  readonly width: number;
  readonly heads: number;
  readonly layers: number;
}

/** A problem with an adapter folder: names the file and, when there is one, the field. */
export class AdapterError extends Error {
  constructor(
    readonly file: string,
    readonly field: string | null,
    detail: string,
  ) {
    super(field === null ? `${file}: ${detail}` : `${file}: field '${field}' ${detail}`);
    this.name = "AdapterError";
  }
}

type Check = (v: unknown) => boolean;
const isStr: Check = (v) => typeof v === "string";
const isPosInt: Check = (v) => isInteger(v) && (v as number) >= 1;
const orNull =
  (c: Check): Check =>
  (v) =>
    v === null || c(v);

/** One required field of the JSON object: present, and of the expected type. */
export function field<T>(file: string, obj: Record<string, unknown>, name: string, ok: Check, expected: string): T {
  if (!Object.prototype.hasOwnProperty.call(obj, name))
    throw new AdapterError(file, name, `is missing (expected ${expected})`);
  const v = obj[name];
  if (!ok(v)) throw new AdapterError(file, name, `must be ${expected}, got ${describe(v)}`);
  return v as T;
}

/** An optional field (absent means `fallback`). */
export function optionalField<T>(
  file: string,
  obj: Record<string, unknown>,
  name: string,
  ok: Check,
  expected: string,
  fallback: T,
): T {
  return Object.prototype.hasOwnProperty.call(obj, name) ? field<T>(file, obj, name, ok, expected) : fallback;
}

/** Reads adapter_config.json as a JSON object, naming the file when it is missing or not an object. */
export function readAdapterConfigObject(dir: string): { file: string; obj: Record<string, unknown> } {
  const file = path.join(dir, ADAPTER_CONFIG_FILE);
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory())
    throw new AdapterError(
      dir,
      null,
      `no such folder (a PEFT adapter folder holds ${ADAPTER_CONFIG_FILE} and ${ADAPTER_WEIGHTS_FILE})`,
    );
  if (!fs.existsSync(file))
    throw new AdapterError(file, null, `missing (a PEFT adapter folder holds ${ADAPTER_CONFIG_FILE})`);
  const obj = readJsonFile(file);
  if (!isPlainObject(obj)) throw new AdapterError(file, null, `must hold a JSON object, got ${describe(obj)}`);
  return { file, obj };
}

/** The peft_type of a config object: a string naming one of PEFT's types. */
export function peftTypeOf(file: string, obj: Record<string, unknown>): string {
  const t = field<string>(file, obj, "peft_type", isStr, 'a PEFT type string such as "PROMPT_TUNING"');
  if (!(PEFT_TYPES as readonly string[]).includes(t))
    throw new AdapterError(
      file,
      "peft_type",
      `is ${JSON.stringify(t)}, not a PEFT type (PEFT 0.17 knows ${PEFT_TYPES.join(", ")})`,
    );
  return t;
}

/** Checks the fields every prompt-learning config has (types as PEFT 0.17 declares them). */
export function readPromptLearningFields(file: string, obj: Record<string, unknown>): PromptLearningAdapterConfig {
  const taskType = optionalField<string | null>(
    file,
    obj,
    "task_type",
    orNull(isStr),
    "null or a task type string",
    null,
  );
  if (taskType !== null && !(PEFT_TASK_TYPES as readonly string[]).includes(taskType))
    throw new AdapterError(
      file,
      "task_type",
      `is ${JSON.stringify(taskType)}, not one of ${PEFT_TASK_TYPES.join(", ")}`,
    );
  return {
    auto_mapping: optionalField(file, obj, "auto_mapping", orNull(isPlainObject), "null or an object", null),
    base_model_name_or_path: optionalField(
      file,
      obj,
      "base_model_name_or_path",
      orNull(isStr),
      "null or a string",
      null,
    ),
    revision: optionalField(file, obj, "revision", orNull(isStr), "null or a string", null),
    peft_type: peftTypeOf(file, obj),
    task_type: taskType,
    inference_mode: optionalField(file, obj, "inference_mode", (v) => typeof v === "boolean", "true or false", false),
    num_virtual_tokens: field(file, obj, "num_virtual_tokens", isPosInt, "a positive integer"),
    token_dim: field(file, obj, "token_dim", isPosInt, "a positive integer"),
    num_transformer_submodules: optionalField(
      file,
      obj,
      "num_transformer_submodules",
      orNull(isPosInt),
      "null or a positive integer",
      null,
    ),
    num_attention_heads: optionalField(
      file,
      obj,
      "num_attention_heads",
      orNull(isPosInt),
      "null or a positive integer",
      null,
    ),
    num_layers: optionalField(file, obj, "num_layers", orNull(isPosInt), "null or a positive integer", null),
  };
}

/** Refuses an adapter made for another backbone (name or width), naming both. */
export function checkAdapterBackbone(file: string, cfg: PromptLearningAdapterConfig, backbone: PeftBackbone): void {
  if (cfg.base_model_name_or_path !== null && cfg.base_model_name_or_path !== backbone.name) {
    throw new AdapterError(
      file,
      "base_model_name_or_path",
      `is ${JSON.stringify(cfg.base_model_name_or_path)}, but the loaded backbone is ${JSON.stringify(backbone.name)}: ` +
        `an adapter's prompt only means something on the model it was trained on`,
    );
  }
  if (cfg.token_dim !== backbone.width) {
    throw new AdapterError(
      file,
      "token_dim",
      `is ${cfg.token_dim}, but the loaded backbone '${backbone.name}' has embedding width ${backbone.width}`,
    );
  }
}

/** PEFT's JSON text: json.dumps(config, indent=2, sort_keys=True) (no trailing newline). */
export function peftJson(obj: Record<string, unknown>): string {
  const sorted = Object.fromEntries(
    Object.keys(obj)
      .sort()
      .map((k) => [k, obj[k]]),
  );
  return JSON.stringify(sorted, null, 2);
}

/** The two files of an adapter folder, refusing to replace existing ones unless `overwrite`. */
export function adapterFiles(dir: string, overwrite: boolean): { config: string; weights: string } {
  const config = path.join(dir, ADAPTER_CONFIG_FILE);
  const weights = path.join(dir, ADAPTER_WEIGHTS_FILE);
  if (fs.existsSync(dir) && !fs.statSync(dir).isDirectory())
    throw new Error(`${dir}: exists and is not a folder (a PEFT adapter is a folder)`);
  const present = [config, weights].filter((f) => fs.existsSync(f));
  if (present.length > 0 && !overwrite)
    throw new Error(`${present.join(", ")}: already exists; refusing to overwrite an adapter (ask to overwrite it)`);
  fs.mkdirSync(dir, { recursive: true });
  return { config, weights };
}

/**
 * The task and labels an imported adapter is for: the caller's (CLI --task / --labels) over what a kit export
 * recorded. Refuses a foreign adapter without a task, and a task other than the recorded one without new labels.
 */
export function adapterTaskAndLabels(
  dir: string,
  kit: { readonly task: string; readonly labels: readonly string[] } | null | undefined,
  opts: { readonly task?: string; readonly labels?: readonly string[] },
): { task: string; labels: readonly string[] } {
  const task = opts.task ?? kit?.task;
  const labels = opts.labels ?? kit?.labels;
  if (task === undefined || labels === undefined) {
    throw new Error(
      `${dir}: this adapter was not exported by the kit, so it does not say which task and labels it is for; give the task (CLI --task NAME)`,
    );
  }
  if (kit && opts.task !== undefined && opts.task !== kit.task && opts.labels === undefined) {
    throw new Error(
      `${dir}: the adapter records task '${kit.task}', not '${opts.task}'; give the labels too if you mean to relabel it`,
    );
  }
  return { task, labels };
}

/** Refuses an adapter for another task type or an encoder-decoder model: the kit's backbones are decoder-only LMs. */
export function checkDecoderOnlyAdapter(
  file: string,
  cfg: { readonly task_type: string | null; readonly num_transformer_submodules: number | null },
  why: string,
): void {
  if (cfg.task_type !== null && cfg.task_type !== "CAUSAL_LM")
    throw new AdapterError(file, "task_type", `is ${JSON.stringify(cfg.task_type)}; ${why}`);
  if (cfg.num_transformer_submodules !== null && cfg.num_transformer_submodules !== 1) {
    throw new AdapterError(
      file,
      "num_transformer_submodules",
      `is ${cfg.num_transformer_submodules}; a decoder-only backbone has 1 (2 is an encoder-decoder adapter)`,
    );
  }
}
