/**
 * `hub:ORG/NAME[@REVISION]` resolved against the Hugging Face cache a user already filled (from Python's
 * huggingface_hub or huggingface-cli): `$HF_HUB_CACHE`, else `$HF_HOME/hub`, else `~/.cache/huggingface/hub`, laid
 * out as models--ORG--NAME/{refs/REVISION, snapshots/COMMIT/...}. Only cached snapshots resolve: this version of the
 * kit does not download, and says so with the command that fills the cache.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

export const HUB_PREFIX = "hub:";

/** The hub cache folder for an environment. */
export function hubCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env["HF_HUB_CACHE"]) return env["HF_HUB_CACHE"];
  const home = env["HF_HOME"] || path.join(env["XDG_CACHE_HOME"] || path.join(os.homedir(), ".cache"), "huggingface");
  return path.join(home, "hub");
}

export function isHubSpec(spec: string): boolean {
  return spec.startsWith(HUB_PREFIX);
}

/** The snapshot folder of `hub:ORG/NAME[@REVISION]` (REVISION: a branch or tag in refs/, or a commit; default main). */
export function resolveHubSpec(spec: string, env: NodeJS.ProcessEnv = process.env): string {
  const body = spec.slice(HUB_PREFIX.length);
  const at = body.lastIndexOf("@");
  const id = at >= 0 ? body.slice(0, at) : body;
  const revision = at >= 0 ? body.slice(at + 1) : "main";
  if (
    !/^[A-Za-z0-9][\w.-]*(\/[A-Za-z0-9][\w.-]*)?$/.test(id) ||
    id.includes("..") ||
    revision === "" ||
    revision.includes("/..") ||
    revision.startsWith(".")
  ) {
    throw new Error(
      `${JSON.stringify(spec)}: expected hub:ORG/NAME or hub:ORG/NAME@REVISION (e.g. hub:openai-community/gpt2)`,
    );
  }
  const cache = hubCacheDir(env);
  const repo = path.join(cache, `models--${id.replace(/\//g, "--")}`);
  const fill = `fill it with \`huggingface-cli download ${id}\`${at >= 0 ? ` --revision ${revision}` : ""} (this kit resolves cached models only and does not download)`;
  if (!fs.existsSync(repo)) throw new Error(`${spec}: not in the Hugging Face cache (${repo} does not exist); ${fill}`);
  const ref = path.join(repo, "refs", revision);
  let commit = revision;
  if (fs.existsSync(ref)) commit = fs.readFileSync(ref, "utf8").trim();
  else if (!/^[0-9a-f]{40}$/.test(revision)) {
    throw new Error(`${spec}: revision ${JSON.stringify(revision)} is not in the cache (no ${ref}); ${fill}`);
  }
  const snapshot = path.join(repo, "snapshots", commit);
  if (!/^[0-9a-f]{40}$/.test(commit) || !fs.existsSync(snapshot)) {
    throw new Error(`${spec}: snapshot ${commit} is not in the cache (${snapshot}); ${fill}`);
  }
  return snapshot;
}
