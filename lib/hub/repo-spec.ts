/** `hub:ORG/NAME[@REVISION]` and bare repo ids: parsing and validation. */

export const HUB_PREFIX = "hub:";

export interface RepoSpec {
  /** ORG/NAME (or NAME for the few un-namespaced repos such as gpt2). */
  readonly repo: string;
  /** A branch, a tag or a 40-hex commit; "main" unless given. */
  readonly revision: string;
  /** Whether the revision was written (hub:ID@REV) rather than defaulted. */
  readonly explicitRevision: boolean;
}

const REPO_ID = /^[A-Za-z0-9][\w.-]*(\/[A-Za-z0-9][\w.-]*)?$/;
export const COMMIT_SHA = /^[0-9a-f]{40}$/;

export function isHubSpec(spec: string): boolean {
  return spec.startsWith(HUB_PREFIX);
}

/** Whether `s` reads as a hub repo id (ORG/NAME), as opposed to a path. */
export function looksLikeRepoId(s: string): boolean {
  return REPO_ID.test(s) && s.includes("/") && !s.includes("..");
}

/** Parses `hub:ORG/NAME[@REVISION]` (the prefix optional); throws naming the expected form. */
export function parseHubSpec(spec: string, revision?: string): RepoSpec {
  const body = isHubSpec(spec) ? spec.slice(HUB_PREFIX.length) : spec;
  const at = body.lastIndexOf("@");
  const repo = at >= 0 ? body.slice(0, at) : body;
  const rev = at >= 0 ? body.slice(at + 1) : (revision ?? "main");
  if (
    !REPO_ID.test(repo) ||
    repo.includes("..") ||
    rev === "" ||
    rev.includes("..") ||
    rev.startsWith(".") ||
    rev.startsWith("/") ||
    /[\s\\]/.test(rev)
  ) {
    throw new Error(
      `${JSON.stringify(spec)}: expected hub:ORG/NAME or hub:ORG/NAME@REVISION (e.g. hub:openai-community/gpt2)`,
    );
  }
  if (at >= 0 && revision !== undefined && revision !== rev) {
    throw new Error(`${JSON.stringify(spec)}: names revision ${rev} but the revision option says ${revision}`);
  }
  return { repo, revision: rev, explicitRevision: at >= 0 || revision !== undefined };
}

/** The spec written back: hub:ORG/NAME, or hub:ORG/NAME@REV when the revision was given. */
export function formatHubSpec(s: RepoSpec): string {
  return `${HUB_PREFIX}${s.repo}${s.explicitRevision ? `@${s.revision}` : ""}`;
}
