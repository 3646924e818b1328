/**
 * `hub:ORG/NAME[@REVISION]` resolved synchronously to a checkpoint folder in the Hugging Face cache, for the places
 * that name a backbone in synchronous code (loadCheckpoint, backboneDir, the notebooks' helpers). A complete cached
 * snapshot is used with no network; a missing one is downloaded by fetchCheckpoint (hub-checkpoint.ts) in a child
 * Node process this call waits for (progress goes to this process's stderr); with HF_HUB_OFFLINE=1 a missing
 * one is refused naming what is missing. Async code should call fetchCheckpoint / fromPretrained directly.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { HUB_PREFIX, isHubSpec, parseHubSpec } from "../hub/repo-spec";
import { hubCacheDir, hubSettings } from "../hub/settings";
import { cachedCheckpoint, offlineError } from "./hub-checkpoint";

export { HUB_PREFIX, hubCacheDir, isHubSpec };

/** The compiled child entry point that downloads (hub-fetch-main.ts). */
const FETCH_MAIN = path.join(__dirname, "hub-fetch-main.js");

/** The snapshot folder of `hub:ORG/NAME[@REVISION]` (REVISION: a branch, tag or commit; default main). */
export function resolveHubSpec(spec: string, env: NodeJS.ProcessEnv = process.env): string {
  const parsed = parseHubSpec(spec.startsWith(HUB_PREFIX) ? spec : HUB_PREFIX + spec);
  const settings = hubSettings(env);
  const cached = cachedCheckpoint(parsed, settings);
  if (cached.dir !== null) return cached.dir;
  if (settings.offline) throw offlineError(parsed, cached);
  if (!fs.existsSync(FETCH_MAIN)) {
    throw new Error(
      `${spec}: not in the Hugging Face cache, and ${FETCH_MAIN} (the downloader) is missing: run npx tsc -p . first`,
    );
  }
  const run = spawnSync(process.execPath, [FETCH_MAIN, spec], {
    env,
    stdio: ["ignore", "pipe", "inherit"],
    encoding: "utf8",
    maxBuffer: 1 << 20,
  });
  const line = (run.stdout ?? "").trim().split("\n").pop() ?? "";
  let answer: { dir?: string; error?: string } = {};
  try {
    answer = JSON.parse(line) as typeof answer;
  } catch {
    // fall through to the generic message
  }
  if (typeof answer.dir === "string") return answer.dir;
  throw new Error(
    answer.error ??
      `${spec}: the download process ended without an answer (${run.error?.message ?? `exit ${run.status}`})`,
  );
}
