/**
 * Saving and loading trained key/value prefixes (prefix tuning): the kit's prompt-file format's own section for
 * them, a safetensors file with
 *
 *   prefix.table  F32 [P, L*2*W]   W = key/value heads x head dim; layer l's keys at columns [2l*W, (2l+1)*W),
 *                                  its values the next W columns, each head-major (lib/prompt/prefix-encoder.ts)
 *
 * and metadata `format: "kit-prefix-v1"`, `kit_prefix` (the prefix's dimensions: layers, length, key/value heads,
 * head dim, model width, and `positions`: how the real tokens were numbered next to it, "from-0" or "after-prefix")
 * and `kit_prompt` (the same PromptMeta as a soft-prompt file: task, labels, settings,
 * backbone name and weights fingerprint, metrics, extra). A reparameterised (MLP) prefix is saved collapsed to its
 * table, which is all inference needs.
 *
 * The table is PEFT's PREFIX_TUNING layout (PEFT 0.17 src/peft/peft_model.py get_prompt: the encoder output
 * [B, P, L*2*W] is viewed as [B, P, L*2, Hkv, dh] and permuted to past_key_values [L*2, B, Hkv, P, dh], split into
 * (key, value) per layer; `prompt_embeddings` saved by PEFT is that output for one batch row, [P, L*2*W]), so an
 * exporter writes it unchanged (lib/prompt/peft/prefix-tuning.ts). One difference matters there: PEFT's causal-LM
 * forward passes no position ids with the prefix, so Hugging Face numbers the real tokens after the cache (P, P+1,
 * ...); only a prefix trained with `positions: "after-prefix"` computes the same thing (files written before the
 * option existed all say "from-0").
 *
 * Loading refuses: another format or version, unknown `positions`, a backbone with another weights fingerprint, a layer / head / dim /
 * length mismatch (naming both), a missing or misshapen table, and NaN or Inf values.
 */
import { PREFIX_POSITIONS, type PrefixPositions } from "../backbone/kv-prefix";
import { readSafetensorsFile, writeSafetensorsFile } from "../io/safetensors";
import type { PromptMeta } from "./prompt-file";
import { describeShape, kvWidth, PrefixEncoder, tableSize, type PrefixShape } from "./prefix-encoder";

export const PREFIX_FORMAT = "kit-prefix-v1";
const DIMS_KEY = "kit_prefix";
const META_KEY = "kit_prompt";
const TABLE = "prefix.table";

/** What the file records about the prefix besides its values. */
interface PrefixDims extends PrefixShape {
  /** how the real tokens are numbered next to the prefix. */
  readonly positions: PrefixPositions;
}

/** The backbone a prefix is loaded for. */
export interface PrefixBackbone {
  readonly name: string;
  readonly fingerprint: string;
  /** the prefix dimensions the backbone needs (its layers, key/value heads, head dim, width; any length). */
  readonly shape: Omit<PrefixShape, "length">;
}

export interface LoadedPrefix {
  /** direct prefixes (a saved MLP prefix comes back collapsed), with the positions they were trained with. */
  readonly prefix: PrefixEncoder;
  readonly meta: PromptMeta;
}

function checkFinite(file: string, data: Float32Array, doing: "save" | "load"): void {
  const bad = data.findIndex((x) => !Number.isFinite(x));
  if (bad >= 0) {
    throw new Error(
      `${file}: tensor '${TABLE}' holds a non-finite value (index ${bad}: ${data[bad]}); refusing to ${doing} a prefix ` +
        `with NaN or Inf (it comes from a diverged run: retrain with a lower learning rate)`,
    );
  }
}

/** Writes the prefix (collapsed to its table) with `meta`, atomically. */
export function savePrefix(file: string, prefix: PrefixEncoder, meta: PromptMeta): void {
  const table = prefix.collapse();
  checkFinite(file, table, "save");
  const s = prefix.shape;
  const dims: PrefixDims = { ...s, positions: prefix.positions };
  writeSafetensorsFile(
    file,
    { [TABLE]: { dtype: "F32", shape: [s.length, s.layers * 2 * kvWidth(s)], data: table } },
    { format: PREFIX_FORMAT, [DIMS_KEY]: JSON.stringify(dims), [META_KEY]: JSON.stringify(meta) },
  );
}

/** True when `file` is a prefix file (any version), for loaders that accept both prompts and prefixes. */
export function isPrefixFile(file: string): boolean {
  const { metadata } = readSafetensorsFile(file);
  return metadata["format"]?.startsWith("kit-prefix-") ?? false;
}

function parseJson<T>(file: string, metadata: Readonly<Record<string, string>>, key: string): T {
  const raw = metadata[key];
  if (raw === undefined) throw new Error(`${file}: not a kit prefix file (no '${key}' metadata)`);
  try {
    return JSON.parse(raw) as T;
  } catch (err) {
    throw new Error(`${file}: '${key}' metadata is not valid JSON: ${(err as Error).message}`);
  }
}

/** Loads a prefix for a backbone; see the file comment for what is refused. */
export function loadPrefix(file: string, backbone: PrefixBackbone): LoadedPrefix {
  const { tensors, metadata } = readSafetensorsFile(file);
  const format = metadata["format"];
  if (format !== PREFIX_FORMAT) {
    throw new Error(
      `${file}: format ${JSON.stringify(format ?? null)} is not a prefix file this kit reads (expected '${PREFIX_FORMAT}')`,
    );
  }
  const dims = parseJson<PrefixDims>(file, metadata, DIMS_KEY);
  const meta = parseJson<PromptMeta>(file, metadata, META_KEY);
  if (meta.backbone?.fingerprint !== backbone.fingerprint) {
    throw new Error(
      `${file}: this prefix was trained on backbone '${meta.backbone?.name}' (${String(meta.backbone?.fingerprint).slice(0, 19)}...), ` +
        `not on '${backbone.name}' (${backbone.fingerprint.slice(0, 19)}...): prefixes do not transfer between backbones`,
    );
  }
  if (!(PREFIX_POSITIONS as readonly unknown[]).includes(dims.positions))
    throw new Error(
      `${file}: prefix positions ${JSON.stringify(dims.positions ?? null)} are not ones this kit knows (expected one of ` +
        `${PREFIX_POSITIONS.map((p) => JSON.stringify(p)).join(", ")})`,
    );
  const want = { ...backbone.shape, length: dims.length };
  const keys = ["layers", "kvHeads", "headDim", "dModel"] as const;
  if (!(Number.isInteger(dims.length) && dims.length > 0) || keys.some((k) => dims[k] !== want[k])) {
    throw new Error(
      `${file}: the prefix has ${describeShape(dims)} (width ${dims.dModel}); backbone '${backbone.name}' needs ` +
        `${describeShape(want)} (width ${want.dModel})`,
    );
  }
  const names = Object.keys(tensors);
  const t = tensors[TABLE];
  if (!t || names.length !== 1) {
    throw new Error(`${file}: a prefix file holds exactly one tensor '${TABLE}', found ${JSON.stringify(names)}`);
  }
  const rows = dims.length;
  const cols = dims.layers * 2 * kvWidth(dims);
  if (t.dtype !== "F32" || t.shape.length !== 2 || t.shape[0] !== rows || t.shape[1] !== cols) {
    throw new Error(`${file}: tensor '${TABLE}' is ${t.dtype} [${t.shape}], expected F32 [${rows}, ${cols}]`);
  }
  const data = t.data as Float32Array;
  if (data.length !== tableSize(dims)) throw new Error(`${file}: tensor '${TABLE}' has ${data.length} values`);
  checkFinite(file, data, "load");
  const shape: PrefixShape = { ...backbone.shape, length: rows };
  return { prefix: PrefixEncoder.fromTable(shape, data, dims.positions), meta };
}
