/**
 * The two hub HTTP endpoints a download needs, as huggingface_hub uses them (version matched: see cache.ts):
 *   GET  {endpoint}/api/models/{repo}/revision/{revision}   (hf_api.py model_info) -> {"sha": commit, "siblings":
 *        [{"rfilename": path}, ...], ...}: the commit a branch or tag points at, and the repo's files.
 *   HEAD {endpoint}/{repo}/resolve/{commit}/{file}          (file_download.py get_hf_file_metadata) -> headers
 *        X-Repo-Commit, ETag (git sha1) or X-Linked-Etag (sha256 of an LFS file), X-Linked-Size / Content-Length;
 *        relative redirects (a renamed repo) are followed, an absolute one (LFS files go to a CDN) gives the URL
 *        to GET the bytes from.
 * Errors name the repo, revision or file and what to do: a 404 on the repo suggests checking the id or HF_TOKEN,
 * 401/403 says to set HF_TOKEN for gated or private repos (the token itself is never printed).
 */
import type { IncomingMessage } from "node:http";
import { header, readBody, request } from "./http";
import { COMMIT_SHA } from "./repo-spec";
import type { HubSettings } from "./settings";

const USER_AGENT = "softprompt-kit (huggingface_hub-compatible cache)";

/** Headers of every hub request: a user agent and, when a token is set, `Authorization: Bearer`. */
export function hubHeaders(settings: HubSettings): Record<string, string> {
  return {
    "User-Agent": USER_AGENT,
    ...(settings.token !== null ? { Authorization: `Bearer ${settings.token}` } : {}),
  };
}

/** What a failed request was about, for its message. */
export interface RequestContext {
  readonly repo: string;
  readonly revision: string;
  readonly file?: string;
}

/** The error of a non-2xx hub response, in the user's words. Reads the hub's X-Error-Code when present. */
export async function hubStatusError(res: IncomingMessage, ctx: RequestContext, settings: HubSettings): Promise<Error> {
  const status = res.statusCode ?? 0;
  let detail = "";
  try {
    const body = (await readBody(res, 64 << 10)).toString("utf8");
    const parsed = JSON.parse(body) as { error?: unknown };
    if (typeof parsed.error === "string") detail = `; the hub says: ${parsed.error}`;
  } catch {
    // no JSON body
  }
  const code = header(res, "x-error-code");
  const where = `${ctx.repo}${ctx.file !== undefined ? `/${ctx.file}` : ""} at revision ${ctx.revision} (${settings.endpoint})`;
  if (status === 401 && code === "RepoNotFound") {
    // The hub answers 401 rather than 404 for a repo it will not show an anonymous or unauthorised caller.
    return new Error(
      `${ctx.repo}: repository not found or private (HTTP 401) at ${settings.endpoint}: check the id (ORG/NAME as on the hub), ` +
        `or set HF_TOKEN to a token that can read it${detail}`,
    );
  }
  if (status === 401 || status === 403) {
    const tokenNote =
      settings.token === null
        ? "it may be gated or private: accept its terms on the hub, then set HF_TOKEN to an access token"
        : "the token in HF_TOKEN was refused or does not grant access to this repo";
    return new Error(`${where}: access denied (HTTP ${status}); ${tokenNote}${detail}`);
  }
  if (status === 404) {
    if (code === "RevisionNotFound")
      return new Error(
        `${ctx.repo}: revision ${JSON.stringify(ctx.revision)} not found (HTTP 404) at ${settings.endpoint}: check the branch, tag or commit${detail}`,
      );
    if (code === "EntryNotFound" || (ctx.file !== undefined && code !== "RepoNotFound"))
      return new Error(
        `${ctx.repo}: file ${ctx.file ?? "?"} not found at revision ${ctx.revision} (HTTP 404) at ${settings.endpoint}${detail}`,
      );
    return new Error(
      `${ctx.repo}: repository not found (HTTP 404) at ${settings.endpoint}: check the id (ORG/NAME as on the hub), or set HF_TOKEN if it is private or gated${detail}`,
    );
  }
  return new Error(`${where}: the hub answered HTTP ${status}${detail}`);
}

export interface RepoInfo {
  /** The commit the revision points at. */
  readonly commit: string;
  /** Paths of the repo's files at that commit. */
  readonly files: readonly string[];
}

/** GET /api/models/{repo}/revision/{revision}: the commit and the file list. */
export async function fetchRepoInfo(settings: HubSettings, repo: string, revision: string): Promise<RepoInfo> {
  const url = `${settings.endpoint}/api/models/${repo}/revision/${encodeURIComponent(revision)}`;
  const res = await request("GET", url, hubHeaders(settings));
  if (res.statusCode !== 200) throw await hubStatusError(res, { repo, revision }, settings);
  const text = (await readBody(res)).toString("utf8");
  let json: { sha?: unknown; siblings?: unknown };
  try {
    json = JSON.parse(text) as typeof json;
  } catch {
    throw new Error(`${url}: expected JSON repo information, got ${JSON.stringify(text.slice(0, 80))}`);
  }
  if (typeof json.sha !== "string" || !COMMIT_SHA.test(json.sha)) {
    throw new Error(`${url}: expected "sha" to be a 40-hex commit, got ${JSON.stringify(json.sha)}`);
  }
  if (!Array.isArray(json.siblings)) throw new Error(`${url}: expected a "siblings" list of the repo's files`);
  const files = json.siblings.map((s, i) => {
    const name = (s as { rfilename?: unknown } | null)?.rfilename;
    if (typeof name !== "string") throw new Error(`${url}: siblings[${i}].rfilename must be a string`);
    return name;
  });
  return { commit: json.sha, files };
}

export interface FileMetadata {
  readonly commit: string;
  /** The blob name: the file's git sha1, or the sha256 of an LFS file. */
  readonly etag: string;
  /** Size in bytes, when the hub says. */
  readonly size: number | null;
  /** Where to GET the bytes (the resolve URL, or the CDN URL it redirects to). */
  readonly location: string;
}

/** `"abc"` / `W/"abc"` -> abc (huggingface_hub's _normalize_etag). */
export function normalizeEtag(etag: string): string {
  return etag.replace(/^W\//, "").replace(/^"|"$/g, "");
}

/** The resolve URL of a file (huggingface_hub's hf_hub_url). */
export function resolveUrl(settings: HubSettings, repo: string, revision: string, file: string): string {
  return `${settings.endpoint}/${repo}/resolve/${encodeURIComponent(revision)}/${file.split("/").map(encodeURIComponent).join("/")}`;
}

/** HEAD the resolve URL of one file: its commit, etag, size and download location. */
export async function fetchFileMetadata(
  settings: HubSettings,
  repo: string,
  revision: string,
  file: string,
): Promise<FileMetadata> {
  let url = resolveUrl(settings, repo, revision, file);
  for (let hop = 0; hop < 6; hop++) {
    const res = await request("HEAD", url, { ...hubHeaders(settings), "Accept-Encoding": "identity" });
    res.resume();
    const status = res.statusCode ?? 0;
    const location = header(res, "location");
    const relative = location !== null && !/^[a-z][a-z0-9+.-]*:\/\//i.test(location);
    if (status >= 300 && status < 400 && relative) {
      url = new URL(location, url).toString(); // a renamed repo: follow, as huggingface_hub does
      continue;
    }
    if (status >= 400 || (status >= 300 && location === null))
      throw await hubStatusError(res, { repo, revision, file }, settings);
    const commit = header(res, "x-repo-commit");
    const etag = header(res, "x-linked-etag") ?? header(res, "etag");
    if (commit === null || !COMMIT_SHA.test(commit)) {
      throw new Error(`${url}: no X-Repo-Commit header with a commit: is ${settings.endpoint} a Hugging Face hub?`);
    }
    if (etag === null) throw new Error(`${url}: no ETag header: cannot name the file in the cache`);
    const sizeText = header(res, "x-linked-size") ?? (status < 300 ? header(res, "content-length") : null);
    const size = sizeText !== null && /^\d+$/.test(sizeText) ? Number(sizeText) : null;
    return {
      commit,
      etag: normalizeEtag(etag),
      size,
      location: status >= 300 ? new URL(location!, url).toString() : url,
    };
  }
  throw new Error(`${resolveUrl(settings, repo, revision, file)}: too many redirects`);
}
