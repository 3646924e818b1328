/** Where the project's folders are: the root (the folder with package.json) and backbone checkpoint folders. */
import * as fs from "node:fs";
import * as path from "node:path";
import { isHubSpec, resolveHubSpec } from "../backbone/hub-cache";
import { fetchCheckpoint } from "../backbone/hub-checkpoint";

/** The project root: the nearest folder above this file holding package.json (else the working directory). */
export function projectRoot(): string {
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, "package.json"))) {
    const up = path.dirname(dir);
    if (up === dir) return process.cwd();
    dir = up;
  }
  return dir;
}

/**
 * models/NAME for a bare name; `hub:ORG/NAME[@REVISION]`'s snapshot folder in the Hugging Face cache (downloaded
 * first when missing, unless HF_HUB_OFFLINE is set: hub-cache.ts); else the path as given (relative to the root).
 */
export function backboneDir(name: string, root = projectRoot()): string {
  if (isHubSpec(name)) return resolveHubSpec(name);
  return name.includes("/") ? path.resolve(root, name) : path.join(root, "models", name);
}

/**
 * Fetches every `hub:` backbone among `names` into the Hugging Face cache (in this process, with progress on stderr),
 * so the synchronous backboneDir and the worker processes then find them cached. Other names are left alone.
 */
export async function fetchHubBackbones(names: Iterable<string>): Promise<void> {
  for (const name of new Set(names)) if (isHubSpec(name)) await fetchCheckpoint(name);
}
