/**
 * One repo file into the cache at a known commit, as huggingface_hub's hf_hub_download does (version matched: see cache.ts): nothing when
 * snapshots/<commit>/<file> exists; else HEAD its resolve URL for the etag, link an existing blobs/<etag>, or
 * download the blob (download.ts, one downloader at a time: blob-lock.ts) and link it. The Authorization header is not sent to a redirect target on another
 * host (a CDN), as huggingface_hub does not.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { fetchFileMetadata, hubHeaders, hubStatusError } from "./api";
import { withBlobLock } from "./blob-lock";
import { blobPath, linkIntoSnapshot, repoCacheFolder, snapshotFolder } from "./cache";
import { downloadBlob, sha256OfEtag } from "./download";
import type { Progress } from "./progress";
import type { HubSettings } from "./settings";

export interface FileFetch {
  readonly settings: HubSettings;
  readonly repo: string;
  /** The commit to fetch at. */
  readonly commit: string;
  readonly progress: Progress;
  readonly retries?: number;
  readonly retryDelayMs?: number;
}

/** The path of snapshots/<commit>/<file>, downloading it first when absent. */
export async function fetchFile(f: FileFetch, file: string): Promise<string> {
  const folder = repoCacheFolder(f.settings.cacheDir, f.repo);
  const pointer = path.join(snapshotFolder(folder, f.commit), ...file.split("/"));
  if (fs.existsSync(pointer)) return pointer;
  if (f.settings.offline) {
    throw new Error(
      `${f.repo}/${file}: not in the cache (${pointer}) and HF_HUB_OFFLINE is set, so it cannot be downloaded`,
    );
  }
  const meta = await fetchFileMetadata(f.settings, f.repo, f.commit, file);
  const blob = blobPath(folder, meta.etag);
  if (!fs.existsSync(blob)) {
    const headers = { ...hubHeaders(f.settings) };
    if (new URL(meta.location).host !== new URL(f.settings.endpoint).host) delete headers["Authorization"];
    fs.mkdirSync(path.dirname(blob), { recursive: true });
    await withBlobLock(blob, async () => {
      if (fs.existsSync(blob)) return; // another process finished it while this one waited
      await downloadBlob({
        url: meta.location,
        headers,
        blob,
        size: meta.size,
        sha256: sha256OfEtag(meta.etag),
        label: `${f.repo}/${file}`,
        progress: f.progress,
        statusError: (res) => hubStatusError(res, { repo: f.repo, revision: f.commit, file }, f.settings),
        ...(f.retries !== undefined ? { retries: f.retries } : {}),
        ...(f.retryDelayMs !== undefined ? { retryDelayMs: f.retryDelayMs } : {}),
      });
    });
  }
  linkIntoSnapshot(blob, pointer);
  return pointer;
}
