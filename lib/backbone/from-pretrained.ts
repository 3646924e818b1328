/**
 * kit.fromPretrained(id | dir): a backbone from a checkpoint folder, or from a Hugging Face hub repo
 * (`ORG/NAME`, `hub:ORG/NAME`, `hub:ORG/NAME@REVISION`) fetched into the standard cache first (hub-checkpoint.ts:
 * cache first, HF_HUB_OFFLINE / HF_ENDPOINT / HF_TOKEN / HF_HOME honoured). Returns what loadCheckpoint returns.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { loadCheckpoint, type LoadedBackbone } from "./checkpoint";
import { checkHubFetchOptions, fetchCheckpoint, type HubFetchOptions } from "./hub-checkpoint";
import { isHubSpec, looksLikeRepoId } from "../hub/repo-spec";

export type FromPretrainedOptions = HubFetchOptions;

/** Whether `where` names a hub repo rather than a folder: hub:..., or ORG/NAME that is not an existing path. */
export function namesHubRepo(where: string): boolean {
  return isHubSpec(where) || (looksLikeRepoId(where) && !fs.existsSync(where));
}

export async function fromPretrained(where: string, options: FromPretrainedOptions = {}): Promise<LoadedBackbone> {
  checkHubFetchOptions(options, "fromPretrained");
  if (!namesHubRepo(where)) {
    if (options.revision !== undefined) {
      throw new Error(`fromPretrained(${JSON.stringify(where)}): a revision applies to hub repos, not to a folder`);
    }
    if (!fs.existsSync(where)) {
      throw new Error(
        `fromPretrained: ${JSON.stringify(where)} is neither a folder nor a hub repo id (ORG/NAME, hub:ORG/NAME or hub:ORG/NAME@REVISION)`,
      );
    }
    return loadCheckpoint(where);
  }
  let got;
  try {
    got = await fetchCheckpoint(where, options, "fromPretrained");
  } catch (err) {
    if (isHubSpec(where)) throw err;
    throw new Error(`${(err as Error).message} (read as a hub repo id: there is no folder ${path.resolve(where)})`);
  }
  const name = got.spec.explicitRevision ? `${got.spec.repo}@${got.spec.revision}` : got.spec.repo;
  return loadCheckpoint(got.dir, { name });
}
