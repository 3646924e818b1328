/**
 * The hub cache layout, exactly as huggingface_hub writes it. Matched against huggingface_hub's
 * src/huggingface_hub/file_download.py as of commit 003956d (a v0.14-v0.16 release): hf_hub_download, get_hf_file_metadata,
 * _normalize_etag, _create_symlink (relative links), _cache_commit_hash_for_specific_revision, http_get (Range
 * resume), hf_hub_url; resuming blobs/<etag>.incomplete by default is what v0.21 and later do. The layout, the
 * X-Repo-Commit / X-Linked-Etag / X-Linked-Size headers and the api/models/{repo}/revision/{rev} answer are the same
 * across these releases.
 *
 *   <cache>/models--ORG--NAME/
 *     blobs/<etag>                    file contents, named by the ETag (git sha1, or sha256 for LFS files)
 *     blobs/<etag>.incomplete         a download in progress (resumed from its length)
 *     snapshots/<commit>/<file>       relative symlink ../../blobs/<etag> (a copy where symlinks fail)
 *     refs/<revision>                 the commit a branch or tag pointed at, no newline
 *
 * so a cache filled by Python is read here with no network, and one filled here is used by Python.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { writeFileAtomic } from "../io/atomic-write";
import { COMMIT_SHA } from "./repo-spec";

/** models--ORG--NAME under the cache folder. */
export function repoCacheFolder(cacheDir: string, repo: string): string {
  return path.join(cacheDir, `models--${repo.split("/").join("--")}`);
}

export function blobPath(repoFolder: string, etag: string): string {
  return path.join(repoFolder, "blobs", etag);
}

export function snapshotFolder(repoFolder: string, commit: string): string {
  return path.join(repoFolder, "snapshots", commit);
}

/** The commit `revision` resolves to in the cache (itself when it is a commit), or null. */
export function cachedCommit(repoFolder: string, revision: string): string | null {
  const ref = path.join(repoFolder, "refs", revision);
  if (fs.existsSync(ref) && fs.statSync(ref).isFile()) {
    const commit = fs.readFileSync(ref, "utf8").trim();
    return COMMIT_SHA.test(commit) ? commit : null;
  }
  return COMMIT_SHA.test(revision) ? revision : null;
}

/** Records refs/<revision> = commit (nothing when the revision is the commit itself), atomically. */
export function writeRef(repoFolder: string, revision: string, commit: string): void {
  if (revision === commit) return;
  const ref = path.join(repoFolder, "refs", revision);
  fs.mkdirSync(path.dirname(ref), { recursive: true });
  if (fs.existsSync(ref) && fs.readFileSync(ref, "utf8") === commit) return;
  writeFileAtomic(ref, commit);
}

/**
 * Makes snapshots/<commit>/<file> point at a blob: a relative symlink as huggingface_hub makes, or, where the
 * filesystem refuses symlinks, a copy (huggingface_hub's fallback too). Replaces a stale pointer.
 */
export function linkIntoSnapshot(blob: string, pointer: string): void {
  fs.mkdirSync(path.dirname(pointer), { recursive: true });
  const tmp = `${pointer}.${process.pid}.link-tmp`;
  fs.rmSync(tmp, { force: true });
  try {
    fs.symlinkSync(path.relative(path.dirname(pointer), blob), tmp);
  } catch {
    fs.copyFileSync(blob, tmp);
  }
  fs.renameSync(tmp, pointer);
}
