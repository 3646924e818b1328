/**
 * Backbone checkpoints: a folder in Hugging Face layout with
 *   config.json        HF field names for the family (model_type gpt2 | llama | qwen2 | gpt_neox), plus kit_name
 *   model.safetensors  weights (F32, F16 or BF16; computed in float32), or shards listed in
 *                      model.safetensors.index.json ({"weight_map": {tensor: file}})
 *   tokenizer.json     Hugging Face tokenizer (special tokens also from tokenizer_config.json etc., see tokenizer.ts)
 *   README.md          the model card
 *
 * Loading validates everything and fails with a message naming the file and the tensor: a truncated file, an
 * oversized or malformed header, a wrong shape or dtype, a missing or unknown tensor, NaN/Inf weights, a weights
 * fingerprint that differs from the one recorded at save time (a flipped bit), a config that disagrees with the
 * tokenizer. Checkpoints a user brings load too: the family's name prefix (`transformer.`, `model.`, `gpt_neox.`) is
 * stripped, buffers that hold no weights (causal masks, rotary inverse frequencies) are ignored, nn.Linear weights
 * are transposed to the kit's [in, out], and a head tensor in a tied model is accepted when it equals the token
 * embedding. Tensors are read, converted and handed to the model one at a time: peak memory is the model plus one
 * tensor (plus the embedding when a tied head must be compared with it).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { writeFileAtomic, writeJsonAtomic } from "../io/atomic-write";
import {
  SafeTensor,
  SafetensorsReader,
  TensorSpec,
  openSafetensors,
  validateAgainst,
  writeSafetensorsFile,
} from "../io/safetensors";
import { Tokenizer } from "../tokenizer/tokenizer";
import { TransformerConfig, arch } from "./config";
import { familyOf } from "./families";
import { fingerprint } from "./fingerprint";
import { isHubSpec, resolveHubSpec } from "./hub-cache";
import { configFromJson, configToJson } from "./hf-config";
import { Transformer, parameterSpec } from "./transformer";

export { configFromJson, configToJson } from "./hf-config";

export const CHECKPOINT_FILES = Object.freeze({
  config: "config.json",
  weights: "model.safetensors",
  weightsIndex: "model.safetensors.index.json",
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
  /** safetensors __metadata__ (of every shard, merged). */
  readonly metadata: Readonly<Record<string, string>>;
}

/** Whether `dir` holds weights: model.safetensors or a shard index. */
export function hasWeights(dir: string): boolean {
  return (
    fs.existsSync(path.join(dir, CHECKPOINT_FILES.weights)) ||
    fs.existsSync(path.join(dir, CHECKPOINT_FILES.weightsIndex))
  );
}

/** Writes a checkpoint folder atomically file by file. Existing files in `dir` are replaced. */
export function saveCheckpoint(
  dir: string,
  model: Transformer,
  tokenizer: Tokenizer,
  opts: { name: string; card: string; metadata?: Record<string, string> },
): string {
  if (tokenizer.vocabSize !== model.config.vocabSize) {
    throw new Error(
      `saveCheckpoint: tokenizer has ${tokenizer.vocabSize} tokens but the model ${model.config.vocabSize}`,
    );
  }
  fs.mkdirSync(dir, { recursive: true });
  const tensors: Record<string, SafeTensor> = {};
  const family = familyOf(model.config);
  const gpt2 = arch(model.config).family === "gpt2"; // the kit's own GPT-2 files keep their unprefixed names
  for (const [name, spec] of parameterSpec(model.config)) {
    const v = model.param(name);
    const data = v.dataSync() as Float32Array;
    const fileName = gpt2 || family.hfUnprefixed.includes(name) ? name : family.hfPrefixes[0] + name;
    tensors[fileName] = spec.hfTransposed
      ? { dtype: "F32", shape: [v.shape[1]!, v.shape[0]!], data: transpose2d(data, v.shape[0]!, v.shape[1]!) }
      : { dtype: "F32", shape: [...v.shape], data: Float32Array.from(data) };
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

/** One weight as found in the files: which shard, under which raw name. */
interface Located {
  readonly reader: SafetensorsReader;
  readonly rawName: string;
}

/**
 * Loads and validates a checkpoint folder, or `hub:ORG/NAME[@REVISION]` from the Hugging Face cache (hub-cache.ts;
 * downloaded first when missing). `opts.name` names a model whose config.json records no kit_name.
 */
export function loadCheckpoint(where: string, opts: { name?: string } = {}): LoadedBackbone {
  const dir = isHubSpec(where) ? resolveHubSpec(where) : where;
  const file = (f: string) => path.join(dir, f);
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) {
    throw new Error(
      `${dir}: no such folder (a checkpoint folder holds config.json, model.safetensors or ${CHECKPOINT_FILES.weightsIndex}, tokenizer.json)`,
    );
  }
  for (const f of [CHECKPOINT_FILES.config, CHECKPOINT_FILES.tokenizer]) {
    if (!fs.existsSync(file(f)))
      throw new Error(`${file(f)}: missing (a checkpoint folder needs config.json, model.safetensors, tokenizer.json)`);
  }
  if (!hasWeights(dir)) {
    throw new Error(
      `${file(CHECKPOINT_FILES.weights)}: missing (a checkpoint folder needs config.json, model.safetensors or ${CHECKPOINT_FILES.weightsIndex}, tokenizer.json)`,
    );
  }
  let rawConfig: unknown;
  try {
    rawConfig = JSON.parse(fs.readFileSync(file(CHECKPOINT_FILES.config), "utf8"));
  } catch (err) {
    throw new Error(`${file(CHECKPOINT_FILES.config)}: not valid JSON: ${(err as Error).message}`);
  }
  const config = configFromJson(rawConfig, file(CHECKPOINT_FILES.config));
  // The kit's own checkpoints (config.json has kit_name) use its fixed special ids; others are Hugging Face folders.
  const ours = typeof (rawConfig as Record<string, unknown>)["kit_name"] === "string";
  const tokenizer = ours ? Tokenizer.fromFile(file(CHECKPOINT_FILES.tokenizer)) : Tokenizer.fromHfFolder(dir);
  if (tokenizer.vocabSize > config.vocabSize) {
    throw new Error(
      `${file(CHECKPOINT_FILES.tokenizer)}: tokenizer has ${tokenizer.vocabSize} tokens but config.json vocab_size is ${config.vocabSize}`,
    );
  }
  const readers = openWeightFiles(dir);
  try {
    const { model, metadata } = buildModel(config, readers);
    const fp = fingerprint(model);
    const recorded = metadata["kit_fingerprint"];
    if (recorded !== undefined && recorded !== fp) {
      model.dispose();
      throw new Error(
        `${readers.map((r) => r.file).join(", ")}: the weights' fingerprint ${fp} differs from the one recorded when they were saved ` +
          `(kit_fingerprint ${recorded}): the file was altered or damaged after saving; refusing to load it`,
      );
    }
    const name =
      typeof (rawConfig as Record<string, unknown>)["kit_name"] === "string"
        ? ((rawConfig as Record<string, unknown>)["kit_name"] as string)
        : opts.name !== undefined
          ? opts.name
          : isHubSpec(where)
            ? where.slice("hub:".length)
            : path.basename(path.resolve(dir));
    return { model, tokenizer, config, dir, name, fingerprint: fp, metadata };
  } finally {
    for (const r of readers) r.close();
  }
}

/**
 * The weight files of a folder: model.safetensors alone, or the shards model.safetensors.index.json names, in file
 * name order, each with the tensors the index puts in it (an empty list for a single file). The index is checked:
 * valid JSON, a "weight_map" of plain file names in the same folder, at least one tensor.
 */
export function weightShards(dir: string): { file: string; tensors: string[] }[] {
  const single = path.join(dir, CHECKPOINT_FILES.weights);
  if (fs.existsSync(single)) return [{ file: single, tensors: [] }];
  const indexFile = path.join(dir, CHECKPOINT_FILES.weightsIndex);
  let index: unknown;
  try {
    index = JSON.parse(fs.readFileSync(indexFile, "utf8"));
  } catch (err) {
    throw new Error(`${indexFile}: not valid JSON: ${(err as Error).message}`);
  }
  const map = (index as Record<string, unknown> | null)?.["weight_map"];
  if (typeof map !== "object" || map === null || Array.isArray(map)) {
    throw new Error(
      `${indexFile}: expected a "weight_map" object {tensor name: shard file}, got ${JSON.stringify(map)}`,
    );
  }
  const shards = new Map<string, string[]>();
  for (const [tensor, shard] of Object.entries(map as Record<string, unknown>)) {
    if (typeof shard !== "string" || shard === "" || path.basename(shard) !== shard) {
      throw new Error(
        `${indexFile}: weight_map["${tensor}"] must be a file name in the same folder, got ${JSON.stringify(shard)}`,
      );
    }
    shards.set(shard, [...(shards.get(shard) ?? []), tensor]);
  }
  if (shards.size === 0) throw new Error(`${indexFile}: weight_map lists no tensors`);
  return [...shards]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([shard, tensors]) => ({ file: path.join(dir, shard), tensors }));
}

/** Opens every weight file of a folder (weightShards), checking each shard holds the tensors its index names. */
function openWeightFiles(dir: string): SafetensorsReader[] {
  const shards = weightShards(dir);
  if (shards.length === 1 && shards[0]!.tensors.length === 0) return [openSafetensors(shards[0]!.file)];
  const indexFile = path.join(dir, CHECKPOINT_FILES.weightsIndex);
  const readers: SafetensorsReader[] = [];
  try {
    for (const { file: shardFile, tensors: names } of shards) {
      const shard = path.basename(shardFile);
      if (!fs.existsSync(shardFile))
        throw new Error(`${indexFile}: shard ${shard} (holding "${names[0]}") is missing: ${shardFile}`);
      const r = openSafetensors(shardFile);
      readers.push(r);
      const absent = names.filter((n) => !Object.prototype.hasOwnProperty.call(r.header.tensors, n));
      if (absent.length > 0)
        throw new Error(
          `${shardFile}: tensor "${absent[0]}" is listed for this shard in ${indexFile} but not in the file`,
        );
    }
  } catch (err) {
    for (const r of readers) r.close();
    throw err;
  }
  return readers;
}

/** Maps the files' tensors onto the config's parameters, validates them, and builds the model tensor by tensor. */
function buildModel(
  config: TransformerConfig,
  readers: readonly SafetensorsReader[],
): { model: Transformer; metadata: Record<string, string> } {
  const family = familyOf(config);
  const tied = arch(config).tiedHead;
  const label =
    readers.length === 1 ? readers[0]!.file : `${readers[0]!.file} (and ${readers.length - 1} more shard(s))`;
  const metadata: Record<string, string> = {};
  const located = new Map<string, Located>();
  const headers: Record<string, { dtype: TensorSpec["dtype"]; shape: number[] }> = {};
  for (const reader of readers) {
    Object.assign(metadata, reader.header.metadata);
    for (const [rawName, info] of Object.entries(reader.header.tensors)) {
      const prefix = family.hfPrefixes.find((p) => rawName.startsWith(p));
      const name = prefix ? rawName.slice(prefix.length) : rawName;
      if (family.ignoredBuffer.test(name)) continue;
      const prev = located.get(name);
      if (prev)
        throw new Error(`${reader.file}: tensor "${rawName}" duplicates "${prev.rawName}" in ${prev.reader.file}`);
      located.set(name, { reader, rawName });
      headers[name] = { dtype: info.dtype, shape: [...info.shape] };
    }
  }
  const spec = parameterSpec(config);
  const tiedHeadInFile = tied && located.has(family.headName) && !spec.has(family.headName);
  if (tiedHeadInFile) {
    const head = readFloats(located.get(family.headName)!);
    const embed = readFloats(located.get(family.embedName)!);
    if (!sameFloats(head, embed)) {
      throw new Error(
        `${located.get(family.headName)!.reader.file}: tensor "${located.get(family.headName)!.rawName}" differs from the token embedding ` +
          `"${located.get(family.embedName)?.rawName}", but config.json says the output layer is tied (tie_word_embeddings): ` +
          `set "tie_word_embeddings": false if the head is separate`,
      );
    }
    located.delete(family.headName);
    delete headers[family.headName];
  }
  const want: Record<string, TensorSpec> = {};
  for (const [name, s] of spec)
    want[name] = { shape: s.hfTransposed ? [s.shape[1]!, s.shape[0]!] : [...s.shape], dtype: "F32" };
  validateAgainst(want, headers, label, { anyFloatPrecision: true });
  const model = Transformer.fromSource(config, (name, s) => {
    const data = readFloats(located.get(name)!);
    return s.hfTransposed ? transpose2d(data, s.shape[1]!, s.shape[0]!) : data;
  });
  return { model, metadata };
}

/** One tensor as float32, refusing NaN and infinite values (naming the file, tensor and first bad element). */
function readFloats(at: Located): Float32Array {
  const t = at.reader.read(at.rawName);
  if (t.dtype !== "F32" && t.dtype !== "F16" && t.dtype !== "BF16") {
    throw new Error(`${at.reader.file}: tensor "${at.rawName}": dtype ${t.dtype}, expected F32, F16 or BF16`);
  }
  const data = t.data;
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i]!)) {
      throw new Error(
        `${at.reader.file}: tensor "${at.rawName}" holds a non-finite value (${data[i]} at flat index ${i}): refusing to load weights with NaN or Inf`,
      );
    }
  }
  return data;
}

/** [rows, cols] row-major -> [cols, rows] row-major. */
function transpose2d(data: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(data.length);
  const B = 32;
  for (let r0 = 0; r0 < rows; r0 += B) {
    const r1 = Math.min(rows, r0 + B);
    for (let c0 = 0; c0 < cols; c0 += B) {
      const c1 = Math.min(cols, c0 + B);
      for (let r = r0; r < r1; r++) for (let c = c0; c < c1; c++) out[c * rows + r] = data[r * cols + c]!;
    }
  }
  return out;
}

function sameFloats(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
