/**
 * Where the Hugging Face hub is and how to talk to it, from the same environment variables huggingface_hub reads
 * (huggingface_hub constants.py; versions matched: see cache.ts): HF_ENDPOINT (default https://huggingface.co), HF_TOKEN (sent as
 * `Authorization: Bearer`), HF_HUB_OFFLINE (1/true/yes/on: never touch the network, use the cache only), and the cache
 * folder HF_HUB_CACHE, else $HF_HOME/hub, else $XDG_CACHE_HOME/huggingface/hub, else ~/.cache/huggingface/hub.
 */
import * as os from "node:os";
import * as path from "node:path";

export const DEFAULT_ENDPOINT = "https://huggingface.co";

export interface HubSettings {
  /** Base URL of the hub, without a trailing slash. */
  readonly endpoint: string;
  /** Access token for gated or private repos, or null. Never printed. */
  readonly token: string | null;
  /** No network at all: resolve from the cache or fail naming what is missing. */
  readonly offline: boolean;
  /** The hub cache folder (holds models--ORG--NAME/). */
  readonly cacheDir: string;
}

/** Overrides a caller can give instead of environment variables. */
export interface HubOverrides {
  readonly endpoint?: string;
  readonly token?: string | null;
  readonly offline?: boolean;
  readonly cacheDir?: string;
}

/** The hub cache folder for an environment. */
export function hubCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env["HF_HUB_CACHE"]) return env["HF_HUB_CACHE"];
  const home = env["HF_HOME"] || path.join(env["XDG_CACHE_HOME"] || path.join(os.homedir(), ".cache"), "huggingface");
  return path.join(home, "hub");
}

/** huggingface_hub's boolean environment values: 1, true, yes, on (any case). */
export function envFlag(value: string | undefined): boolean {
  return value !== undefined && ["1", "true", "yes", "on"].includes(value.trim().toLowerCase());
}

export function hubSettings(env: NodeJS.ProcessEnv = process.env, overrides: HubOverrides = {}): HubSettings {
  const endpoint = (overrides.endpoint ?? (env["HF_ENDPOINT"] || DEFAULT_ENDPOINT)).replace(/\/+$/, "");
  if (!/^https?:\/\/[^/]+/.test(endpoint)) {
    throw new Error(
      `HF_ENDPOINT: expected an http(s) URL such as ${DEFAULT_ENDPOINT}, got ${JSON.stringify(endpoint)}`,
    );
  }
  const token = overrides.token !== undefined ? overrides.token : env["HF_TOKEN"] || null;
  return {
    endpoint,
    token: token === "" ? null : token,
    offline: overrides.offline ?? envFlag(env["HF_HUB_OFFLINE"]),
    cacheDir: overrides.cacheDir ?? hubCacheDir(env),
  };
}
