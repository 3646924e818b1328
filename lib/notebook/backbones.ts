/**
 * Which backbones a notebook can use: the checkpoint folders shipped in models/ (a folder counts when it has
 * config.json, model.safetensors and tokenizer.json), in the kit's size order (kit-nano, kit-small, kit-base, then
 * any other folder by name), with their sizes read from config.json alone (no weights loaded).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { CHECKPOINT_FILES, configFromJson, hasWeights, weightShards } from "../backbone/checkpoint";
import { nonEmbeddingParams, totalParams, type TransformerConfig } from "../backbone/config";
import { BACKBONE_SIZES } from "../backbone/sizes";
import { readJsonFile } from "../io/json-file";
import { readSafetensorsHeader } from "../io/safetensors";
import { isHubSpec } from "../backbone/hub-cache";
import { backboneDir, projectRoot } from "../experiment/project-paths";

/** The kit's own sizes, smallest first. */
export const KIT_SIZES: readonly string[] = Object.freeze(Object.keys(BACKBONE_SIZES));

export interface BackboneInfo {
  readonly name: string;
  readonly dir: string;
  readonly config: TransformerConfig;
  /** parameters outside the embeddings (the usual "model size" of scaling studies). */
  readonly nonEmbeddingParams: number;
  /** all parameters (embeddings included; the output matrix is tied). */
  readonly totalParams: number;
  /** fingerprint recorded in model.safetensors metadata by saveCheckpoint, or null if absent. */
  readonly recordedFingerprint: string | null;
}

function modelsDir(root: string): string {
  return path.join(root, "models");
}

function isCheckpointDir(dir: string): boolean {
  return (
    [CHECKPOINT_FILES.config, CHECKPOINT_FILES.tokenizer].every((f) => fs.existsSync(path.join(dir, f))) &&
    hasWeights(dir)
  );
}

/** safetensors metadata of a folder's weights (the first shard's when sharded). */
function weightsMetadata(dir: string): Record<string, string> {
  return readSafetensorsHeader(weightShards(dir)[0]!.file).metadata;
}

/** Sort key: kit sizes in size order first, then other names alphabetically. */
function compareNames(a: string, b: string): number {
  const ia = KIT_SIZES.indexOf(a);
  const ib = KIT_SIZES.indexOf(b);
  if (ia >= 0 || ib >= 0) return (ia < 0 ? Infinity : ia) - (ib < 0 ? Infinity : ib);
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Names of the complete checkpoint folders under <root>/models, kit sizes first (smallest first). */
export function shippedBackbones(root: string = projectRoot()): string[] {
  const dir = modelsDir(root);
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && isCheckpointDir(path.join(dir, e.name)))
    .map((e) => e.name)
    .sort(compareNames);
}

/**
 * Size and identity of a backbone, from config.json and the safetensors header only: a name in models/, a folder
 * path, or `hub:ORG/NAME[@REV]` (from the Hugging Face cache, downloaded into it first when missing).
 */
export function backboneInfo(name: string, root: string = projectRoot()): BackboneInfo {
  const dir = isHubSpec(name) || name.includes("/") ? backboneDir(name, root) : path.join(modelsDir(root), name);
  if (!isCheckpointDir(dir)) {
    const shipped = shippedBackbones(root);
    throw new Error(
      `backbone '${name}': ${dir} is not a complete checkpoint folder (needs ${CHECKPOINT_FILES.config}, ${CHECKPOINT_FILES.weights}, ` +
        `${CHECKPOINT_FILES.tokenizer}); shipped: ${shipped.length > 0 ? shipped.join(", ") : "none"} (npm run pretrain -- --size ${name} --out models/${name} makes one)`,
    );
  }
  const configFile = path.join(dir, CHECKPOINT_FILES.config);
  const config = configFromJson(readJsonFile(configFile), configFile);
  const meta = weightsMetadata(dir);
  return {
    name,
    dir,
    config,
    nonEmbeddingParams: nonEmbeddingParams(config),
    totalParams: totalParams(config),
    recordedFingerprint: meta["kit_fingerprint"] ?? null,
  };
}

export interface BackbonePlan {
  /** backbones to use, smallest first. */
  readonly use: string[];
  /** wanted but not shipped (yet). */
  readonly missing: string[];
}

/**
 * The backbones of a size study: in quick mode the smallest kit size only (kit-nano) if shipped, else the
 * smallest shipped backbone; in full mode every kit size, reporting the ones not shipped yet as `missing`
 * (the study then runs on what exists). Throws if no backbone is shipped at all.
 */
export function scaleBackbones(quick: boolean, root: string = projectRoot()): BackbonePlan {
  const shipped = shippedBackbones(root);
  if (shipped.length === 0) {
    throw new Error(
      `no backbone in ${modelsDir(root)}: pre-train one first (npm run pretrain -- --size kit-nano --out models/kit-nano)`,
    );
  }
  if (quick) return { use: [shipped[0]!], missing: [] };
  const kit = shipped.filter((n) => KIT_SIZES.includes(n));
  return { use: kit.length > 0 ? kit : shipped, missing: KIT_SIZES.filter((n) => !shipped.includes(n)) };
}

/**
 * The backbone of a single-size notebook: `KIT_BACKBONE` if set (a name in models/, a folder, or hub:ORG/NAME, fetched
 * into the Hugging Face cache when missing), else kit-nano in quick mode and kit-small in full mode (the size
 * `npm run bench` uses). Throws, naming the folder and what is shipped, if it is missing.
 */
export function mainBackbone(
  quick: boolean,
  env: NodeJS.ProcessEnv = process.env,
  root: string = projectRoot(),
): string {
  const chosen = env["KIT_BACKBONE"]?.trim() || (quick ? "kit-nano" : "kit-small");
  try {
    backboneInfo(chosen, root);
  } catch (err) {
    throw new Error(
      `${(err as Error).message}${env["KIT_BACKBONE"] ? "" : "; or set KIT_BACKBONE=<name> to use another shipped backbone"}`,
    );
  }
  return chosen;
}
