/** Hub repos for tests (the tiny llama checkpoint, whole and sharded) and HF_* environment handling. */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { readSafetensorsFile, writeSafetensorsFile } from "../../lib/io/safetensors";
import { makeProgress } from "../../lib/hub/progress";
import { tinyFamilyDir } from "../backbone/family-fixtures";
import { repoFromDir, type FakeRepo } from "./fake-hub";

export const COMMIT = "1111111111111111111111111111111111111111";
export const SHARDED_COMMIT = "2222222222222222222222222222222222222222";
export const REPO = "kit-test/tiny-llama";
export const SHARDED = "kit-test/tiny-sharded";
export const NO_OUTPUT = makeProgress("none");
export const FAST = { progress: NO_OUTPUT, retryDelayMs: 5 } as const;

const ENV_KEYS = [
  "HF_ENDPOINT",
  "HF_HOME",
  "HF_HUB_CACHE",
  "HF_TOKEN",
  "HF_HUB_OFFLINE",
  "HF_HUB_DISABLE_PROGRESS_BARS",
  "XDG_CACHE_HOME",
];

/** Sets HF_* for one test and restores the previous environment afterwards. */
export async function withEnv<T>(vars: Record<string, string>, fn: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(ENV_KEYS.map((k) => [k, process.env[k]]));
  for (const k of ENV_KEYS) delete process.env[k];
  Object.assign(process.env, vars);
  try {
    return await fn();
  } finally {
    for (const [k, v] of Object.entries(saved)) v === undefined ? delete process.env[k] : (process.env[k] = v);
  }
}

export const tempHome = (): string => fs.mkdtempSync(path.join(os.tmpdir(), "kit-hf-dl-"));

/** The tiny llama checkpoint as a hub repo, with files the kit must not download beside it. */
export function llamaRepo(): FakeRepo {
  return repoFromDir(tinyFamilyDir("llama"), COMMIT, {
    "generation_config.json": Buffer.from(JSON.stringify({ _from_model_config: true })),
    "pytorch_model.bin": Buffer.alloc(4096, 7),
    ".gitattributes": Buffer.from("*.safetensors filter=lfs diff=lfs merge=lfs -text\n"),
  });
}

/** The same weights split over two shards with an index. */
export function shardedRepo(): FakeRepo {
  const src = tinyFamilyDir("llama");
  const { tensors, metadata } = readSafetensorsFile(path.join(src, "model.safetensors"));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kit-hf-sharded-"));
  const names = Object.keys(tensors);
  const map: Record<string, string> = {};
  ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"].forEach((shard, s) => {
    const part = Object.fromEntries(names.filter((_, i) => i % 2 === s).map((n) => [n, tensors[n]!]));
    writeSafetensorsFile(path.join(dir, shard), part, s === 0 ? metadata : { format: "pt" });
    for (const n of Object.keys(part)) map[n] = shard;
  });
  fs.writeFileSync(path.join(dir, "model.safetensors.index.json"), JSON.stringify({ metadata: {}, weight_map: map }));
  for (const f of ["config.json", "tokenizer.json"]) fs.copyFileSync(path.join(src, f), path.join(dir, f));
  return repoFromDir(dir, SHARDED_COMMIT);
}
