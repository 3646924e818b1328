/**
 * The software environment a run record stores: which tfjs backend and kernel set ran it and the kit, tfjs and
 * Node versions. Kept apart from record.ts because it loads tfjs (via the backend module); the
 * grid runner and summaries stay model-free.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { backendInfo, type BackendInfo } from "../backend/backend";
import { kernelSetLabel } from "../backend/kernels/kernel-set";
import type { RunRecord } from "./record";

const KIT_PACKAGE_NAME = "softprompt-kit";

/** `backend` and `versions` for a RunRecord. Requires `await initBackend()` first. */
export function runEnvironment(
  info: BackendInfo = backendInfo(),
  kernels: string = kernelSetLabel(),
): Pick<RunRecord, "backend" | "versions"> {
  return {
    backend: { name: info.name, version: info.version, kernels },
    versions: { kit: kitVersion(), tfjs: info.tfjsVersion, node: process.versions.node },
  };
}

let cachedKitVersion: string | undefined;

/**
 * The kit's package.json version, found by walking up from this file (works from lib/ via ts-node
 * and from build/lib/ after tsc). "unknown" if no softprompt-kit package.json is found.
 */
export function kitVersion(): string {
  if (cachedKitVersion !== undefined) return cachedKitVersion;
  let dir = __dirname;
  cachedKitVersion = "unknown";
  for (;;) {
    const candidate = path.join(dir, "package.json");
    try {
      const pkg = JSON.parse(fs.readFileSync(candidate, "utf8")) as { name?: unknown; version?: unknown };
      if (pkg.name === KIT_PACKAGE_NAME && typeof pkg.version === "string") {
        cachedKitVersion = pkg.version;
        break;
      }
    } catch {
      // no (readable) package.json here: keep walking up
    }
    const parent = path.dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return cachedKitVersion;
}
