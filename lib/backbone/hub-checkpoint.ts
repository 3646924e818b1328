/**
 * A checkpoint from the Hugging Face hub into the standard cache (lib/hub): only the files the kit reads —
 * config.json, tokenizer.json, model.safetensors or model.safetensors.index.json and its shards, and, when the repo
 * has them, tokenizer_config.json, special_tokens_map.json and generation_config.json.
 *
 * Cache first: when the revision's snapshot already holds everything (filled by Python or by an earlier run), it is
 * used with no network request at all. Otherwise the hub's API names the revision's commit and files, and the
 * missing ones are downloaded (resumed, verified, moved in atomically; lib/hub/download.ts), then refs/<revision> is
 * written. With HF_HUB_OFFLINE=1 nothing is requested and an incomplete cache is refused naming what is missing.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { fetchRepoInfo } from "../hub/api";
import { cachedCommit, repoCacheFolder, snapshotFolder, writeRef } from "../hub/cache";
import { fetchFile } from "../hub/fetch-file";
import {
  boolean,
  fail,
  isPlainObject,
  knownKeys,
  nonNegativeInt,
  nonNegativeNumber,
  nullable,
  oneOf,
  string,
} from "../io/validate";
import { NetworkError } from "../hub/http";
import { makeProgress, type Progress, type ProgressMode } from "../hub/progress";
import { parseHubSpec, type RepoSpec } from "../hub/repo-spec";
import { envFlag, hubSettings, type HubOverrides, type HubSettings } from "../hub/settings";

/** The files a checkpoint folder needs (weights: one of the two) and the ones read when present. */
export const HUB_CHECKPOINT_FILES = Object.freeze({
  required: ["config.json", "tokenizer.json"] as const,
  weights: "model.safetensors",
  weightsIndex: "model.safetensors.index.json",
  optional: ["tokenizer_config.json", "special_tokens_map.json", "generation_config.json"] as const,
});

export interface HubFetchOptions extends HubOverrides {
  /** Branch, tag or commit (default main; `hub:ID@REV` in the id also works). */
  readonly revision?: string;
  /**
   * Progress on stderr: a bar on a terminal, else a line per file ("auto", the default; "none" when
   * HF_HUB_DISABLE_PROGRESS_BARS is set, as in huggingface_hub), or "none".
   */
  readonly progress?: ProgressMode | Progress;
  /** Environment to read HF_* variables from (default process.env). */
  readonly env?: NodeJS.ProcessEnv;
  /** Dropped connections retried per file (default 5). */
  readonly retries?: number;
  readonly retryDelayMs?: number;
}

export interface FetchedCheckpoint {
  readonly spec: RepoSpec;
  readonly commit: string;
  /** snapshots/<commit>: a checkpoint folder. */
  readonly dir: string;
  /** Files that were not in the cache and were downloaded (empty: served from the cache). */
  readonly downloaded: readonly string[];
}

/** Shard files named by a snapshot's index, or null when there is no (readable) index. */
function indexShards(dir: string): string[] | null {
  const file = path.join(dir, HUB_CHECKPOINT_FILES.weightsIndex);
  if (!fs.existsSync(file)) return null;
  try {
    const map = (JSON.parse(fs.readFileSync(file, "utf8")) as { weight_map?: Record<string, unknown> }).weight_map;
    if (typeof map !== "object" || map === null) return null;
    return [...new Set(Object.values(map).filter((v): v is string => typeof v === "string"))].sort();
  } catch {
    return null;
  }
}

/** What a snapshot folder lacks to be loaded (config, tokenizer, weights and every indexed shard); [] if nothing. */
export function missingCheckpointFiles(dir: string): string[] {
  const has = (f: string) => fs.existsSync(path.join(dir, f));
  const missing: string[] = HUB_CHECKPOINT_FILES.required.filter((f) => !has(f));
  if (!has(HUB_CHECKPOINT_FILES.weights)) {
    const shards = indexShards(dir);
    if (shards === null) missing.push(`${HUB_CHECKPOINT_FILES.weights} (or ${HUB_CHECKPOINT_FILES.weightsIndex})`);
    else missing.push(...shards.filter((s) => !has(s)));
  }
  return missing;
}

/** The cached snapshot of a spec when complete, else what is missing (and where it looked). */
export function cachedCheckpoint(
  spec: RepoSpec,
  settings: HubSettings,
): { dir: string | null; commit: string | null; missing: string[]; folder: string } {
  const folder = repoCacheFolder(settings.cacheDir, spec.repo);
  const commit = fs.existsSync(folder) ? cachedCommit(folder, spec.revision) : null;
  if (commit === null) return { dir: null, commit, missing: ["the whole model"], folder };
  const dir = snapshotFolder(folder, commit);
  const missing = missingCheckpointFiles(dir);
  return { dir: missing.length === 0 ? dir : null, commit, missing, folder };
}

/** The refusal when offline and the cache cannot serve a spec. */
export function offlineError(spec: RepoSpec, where: ReturnType<typeof cachedCheckpoint>): Error {
  const rev = spec.explicitRevision ? ` --revision ${spec.revision}` : "";
  const what =
    where.commit === null
      ? `revision ${spec.revision} is not in the cache (${path.join(where.folder, "refs", spec.revision)} does not exist)`
      : `the cached snapshot ${snapshotFolder(where.folder, where.commit)} lacks ${where.missing.join(", ")}`;
  return new Error(
    `hub:${spec.repo}: HF_HUB_OFFLINE is set, so nothing is downloaded, and ${what}; ` +
      `unset HF_HUB_OFFLINE to download it, or fill the cache with \`huggingface-cli download ${spec.repo}${rev}\``,
  );
}

const OPTION_KEYS = [
  "revision",
  "progress",
  "env",
  "retries",
  "retryDelayMs",
  "endpoint",
  "token",
  "offline",
  "cacheDir",
];

/** Refuses unknown or ill-typed options, naming the option and the value (`where`: the caller, e.g. fromPretrained). */
export function checkHubFetchOptions(options: HubFetchOptions, where: string): void {
  if (!isPlainObject(options)) fail(`${where} options`, "an object", options);
  const o = options as Record<string, unknown>;
  knownKeys(o, OPTION_KEYS, `${where} options`);
  const at = (k: string) => `${where} option ${k}`;
  if (o["revision"] !== undefined) string(o["revision"], at("revision"), { nonEmpty: true });
  if (o["progress"] !== undefined && typeof o["progress"] !== "object")
    oneOf(o["progress"], at("progress"), ["auto", "bar", "lines", "none"] as const);
  if (o["retries"] !== undefined) nonNegativeInt(o["retries"], at("retries"));
  if (o["retryDelayMs"] !== undefined) nonNegativeNumber(o["retryDelayMs"], at("retryDelayMs"));
  if (o["endpoint"] !== undefined) string(o["endpoint"], at("endpoint"), { nonEmpty: true });
  if (o["token"] !== undefined) nullable(o["token"], at("token"), (v, w) => string(v, w));
  if (o["offline"] !== undefined) boolean(o["offline"], at("offline"));
  if (o["cacheDir"] !== undefined) string(o["cacheDir"], at("cacheDir"), { nonEmpty: true });
}

/** Makes `hub:ORG/NAME[@REV]` (or ORG/NAME) a complete checkpoint folder in the cache; see the file comment. */
export async function fetchCheckpoint(
  id: string,
  options: HubFetchOptions = {},
  where = "fetchCheckpoint",
): Promise<FetchedCheckpoint> {
  checkHubFetchOptions(options, where);
  const spec = parseHubSpec(id, options.revision);
  const settings = hubSettings(options.env ?? process.env, options);
  const cached = cachedCheckpoint(spec, settings);
  if (cached.dir !== null) return { spec, commit: cached.commit!, dir: cached.dir, downloaded: [] };
  if (settings.offline) throw offlineError(spec, cached);
  try {
    return await download(spec, settings, options);
  } catch (err) {
    if (!(err instanceof NetworkError)) throw err;
    const have = cached.commit === null ? "is not in the cache" : `lacks ${cached.missing.join(", ")} in the cache`;
    throw new Error(
      `hub:${spec.repo}: cannot reach the hub (${err.message}); the model ${have}: check the network, ` +
        `set HF_ENDPOINT to a reachable hub or mirror, or copy the cache from a machine that has it (${cached.folder})`,
    );
  }
}

async function download(spec: RepoSpec, settings: HubSettings, options: HubFetchOptions): Promise<FetchedCheckpoint> {
  const info = await fetchRepoInfo(settings, spec.repo, spec.revision);
  const where = `${spec.repo} at revision ${spec.revision} (commit ${info.commit})`;
  const inRepo = new Set(info.files);
  const absent = HUB_CHECKPOINT_FILES.required.filter((f) => !inRepo.has(f));
  if (absent.length > 0) {
    throw new Error(
      `${where}: the repo has no ${absent.join(", ")}, which the kit needs to load a model (it has: ${info.files.join(", ")})`,
    );
  }
  const weights = inRepo.has(HUB_CHECKPOINT_FILES.weights)
    ? HUB_CHECKPOINT_FILES.weights
    : inRepo.has(HUB_CHECKPOINT_FILES.weightsIndex)
      ? HUB_CHECKPOINT_FILES.weightsIndex
      : null;
  if (weights === null) {
    throw new Error(
      `${where}: no ${HUB_CHECKPOINT_FILES.weights} or ${HUB_CHECKPOINT_FILES.weightsIndex} in the repo: the kit reads safetensors weights only (the repo has: ${info.files.join(", ")})`,
    );
  }
  const env = options.env ?? process.env;
  const progress =
    typeof options.progress === "object"
      ? options.progress
      : makeProgress(
          options.progress ?? (envFlag(env["HF_HUB_DISABLE_PROGRESS_BARS"]) ? "none" : "auto"),
          process.stderr,
        );
  const fetch = {
    settings,
    repo: spec.repo,
    commit: info.commit,
    progress,
    ...(options.retries !== undefined ? { retries: options.retries } : {}),
    ...(options.retryDelayMs !== undefined ? { retryDelayMs: options.retryDelayMs } : {}),
  };
  const dir = snapshotFolder(repoCacheFolder(settings.cacheDir, spec.repo), info.commit);
  const downloaded: string[] = [];
  const get = async (file: string): Promise<void> => {
    if (fs.existsSync(path.join(dir, file))) return;
    await fetchFile(fetch, file);
    downloaded.push(file);
  };
  for (const f of [...HUB_CHECKPOINT_FILES.required, ...HUB_CHECKPOINT_FILES.optional.filter((f) => inRepo.has(f))])
    await get(f);
  await get(weights);
  if (weights === HUB_CHECKPOINT_FILES.weightsIndex) {
    const shards = indexShards(dir);
    if (shards === null || shards.length === 0) {
      throw new Error(
        `${path.join(dir, weights)}: expected a "weight_map" {tensor: shard file} naming at least one shard`,
      );
    }
    for (const s of shards) {
      if (path.basename(s) !== s || !inRepo.has(s)) {
        throw new Error(`${path.join(dir, weights)}: names shard ${JSON.stringify(s)}, which ${where} does not have`);
      }
      await get(s);
    }
  }
  writeRef(repoCacheFolder(settings.cacheDir, spec.repo), spec.revision, info.commit);
  return { spec, commit: info.commit, dir, downloaded };
}
