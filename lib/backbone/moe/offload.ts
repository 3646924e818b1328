/**
 * Loading a mixture-of-experts checkpoint with its experts offloaded: the dense part (embeddings, attention,
 * norms, routers, dense MLPs) is loaded as usual; the expert tensors are validated in the header (present, F32,
 * right shapes), streamed once through the fingerprint check, and left in the file, to be read by byte range
 * into an ExpertStore bounded by `--expert-memory`. The model comes back frozen: a method that trains the backbone
 * needs every expert resident; prompt tuning trains through it (its gradient re-reads the experts).
 *
 *   --expert-memory BYTES      e.g. 4000000, 4e6, 64MB / 64MiB (K/M/G, decimal; KiB/MiB/GiB binary)
 *   --expert-memory PERCENT    e.g. 25%: of the bytes of all experts
 */
import * as path from "node:path";
import { LoadedBackbone, loadCheckpoint, weightShards } from "../checkpoint";
import { readSafetensorsHeader } from "../../io/safetensors";
import { moeSettings } from "./moe-config";
import { ExpertStore, type ExpertStoreOptions } from "./expert-store";

export const EXPERT_TENSOR = /^h\.\d+\.mlp\.experts\.\d+\./;

export interface OffloadedBackbone extends LoadedBackbone {
  readonly store: ExpertStore;
}

const UNITS: Record<string, number> = { "": 1, b: 1, k: 1e3, kb: 1e3, m: 1e6, mb: 1e6, g: 1e9, gb: 1e9 };
Object.assign(UNITS, { kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3 });

/** `--expert-memory` in bytes, given the total bytes of all experts. `where` names the flag in messages. */
export function parseExpertMemory(spec: string, totalExpertBytes: number, where = "--expert-memory"): number {
  const s = String(spec).trim();
  const pct = /^(\d+(?:\.\d+)?)%$/.exec(s);
  if (pct) {
    const p = Number(pct[1]);
    if (!(p > 0 && p <= 100))
      throw new Error(`${where} must be a percentage in (0%, 100%], got ${JSON.stringify(spec)}`);
    return Math.floor((p / 100) * totalExpertBytes);
  }
  const m = /^(\d+(?:\.\d+)?(?:e\d+)?)\s*([a-zA-Z]*)$/.exec(s);
  const unit = m ? UNITS[m[2]!.toLowerCase()] : undefined;
  if (!m || unit === undefined)
    throw new Error(
      `${where} must be BYTES (e.g. 4000000, 64MB, 64MiB) or PERCENT (e.g. 25%), got ${JSON.stringify(spec)}`,
    );
  return Math.floor(Number(m[1]) * unit);
}

/** Loads `dir` with its experts offloaded under `memory` (--expert-memory's value). */
export function loadOffloaded(
  dir: string,
  memory: string,
  opts: Omit<ExpertStoreOptions, "budgetBytes"> = {},
): OffloadedBackbone {
  const shards = weightShards(dir);
  if (shards.length !== 1 || shards[0]!.tensors.length > 0)
    throw new Error(`${dir}: offloading experts needs a single model.safetensors file, not a sharded checkpoint`);
  const file = shards[0]!.file;
  const header = readSafetensorsHeader(file);
  const b = loadCheckpoint(dir, { omit: (name) => EXPERT_TENSOR.test(name) });
  try {
    if (!moeSettings(b.config))
      throw new Error(
        `${path.join(dir, "config.json")}: --expert-memory needs a mixture-of-experts model (num_experts)`,
      );
    let total = 0;
    for (const [name, info] of Object.entries(header.tensors))
      if (EXPERT_TENSOR.test(name)) total += info.dataOffsets[1] - info.dataOffsets[0];
    const store = new ExpertStore(file, header, b.config, { ...opts, budgetBytes: parseExpertMemory(memory, total) });
    b.model.setExpertSource(store);
    b.model.freeze(); // experts come and go, so the backbone cannot train; prompts and heads can (moe-mlp.ts)
    return { ...b, store };
  } catch (err) {
    b.model.dispose();
    throw err;
  }
}
