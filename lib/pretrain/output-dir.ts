/**
 * Where a pre-training run writes its finished checkpoint, and when it may. Shipped backbones (models/<size>)
 * must never be replaced by accident: by default a run writes into its own run folder (<run-dir>/model), a
 * folder under models/ must be named explicitly (--out models/NAME), and a folder that already holds a
 * checkpoint is replaced only with --overwrite. A resumed run keeps its run folder, hence its output folder.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { CHECKPOINT_FILES } from "../backbone/checkpoint";
import { relativeInside } from "../io/paths";

export interface OutputRequest {
  /** --out as written ("" = not given). */
  readonly out: string;
  /** the run's --run-dir (resolved default included). */
  readonly runDir: string;
  /** --overwrite. */
  readonly overwrite: boolean;
  /** the shipped-models folder (the project's models/). */
  readonly modelsDir: string;
}

/** The checkpoint files `dir` already holds (none: a new or empty folder). */
export function checkpointFilesIn(dir: string): string[] {
  return Object.values(CHECKPOINT_FILES).filter((f) => fs.existsSync(path.join(dir, f)));
}

/**
 * The output folder of a run, or an error naming the flag to use: `--out` if given, else `<runDir>/model`.
 * Refuses an implicit folder under models/ (a --run-dir there) and any folder that already holds a checkpoint
 * unless `overwrite`.
 */
export function resolveOutputDir(r: OutputRequest): string {
  const out = r.out !== "" ? r.out : path.join(r.runDir, "model");
  const underModels = relativeInside(r.modelsDir, out) !== null;
  if (underModels && r.out === "") {
    throw new Error(
      `the default output folder ${out} lies under ${r.modelsDir} (shipped backbones): name it explicitly with --out ${out}, or choose another --run-dir`,
    );
  }
  if (fs.existsSync(out) && !fs.statSync(out).isDirectory()) throw new Error(`--out ${out} is a file, not a folder`);
  const existing = checkpointFilesIn(out);
  if (existing.length > 0 && !r.overwrite) {
    throw new Error(
      `${out} already holds a checkpoint (${existing.join(", ")})${underModels ? ", a shipped backbone" : ""}: ` +
        `pass --overwrite to replace it, or choose another --out`,
    );
  }
  return out;
}
