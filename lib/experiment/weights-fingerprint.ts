/**
 * Which backbone weights a results file was made with. Every record stores the fingerprint of the weights its run
 * loaded (record.backbone.fingerprint). A results file must never hold runs of two versions of a backbone: its
 * summaries and the PT - FT gap would compare models that differ in more than the method.
 *
 * Design choice: the weights fingerprint is NOT part of a cell's identity (cell-id.ts); instead a resume refuses a
 * changed backbone, naming both fingerprints. Keeping the cellId a pure function of what the user wrote means a
 * grid expands without reading any weights, committed results files keep their ids, and `reuse.ts` keys stay
 * stable; with the fingerprint in the id, a retrained backbone would silently start a second set of records in the
 * same file (the old ones kept beside them), which is the mixing this check exists to prevent.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { CHECKPOINT_FILES } from "../backbone/checkpoint";
import { readSafetensorsHeader } from "../io/safetensors";
import type { Cell } from "./grid";
import { backboneDir } from "./project-paths";
import type { RunRecord } from "./record";

/**
 * The fingerprint recorded in a backbone's model.safetensors (by saveCheckpoint), cached per name; null when the
 * folder or the metadata is missing (nothing to compare with).
 */
export function shippedFingerprints(root: string): (name: string) => string | null {
  const current = new Map<string, string | null>();
  return (name) => {
    if (!current.has(name)) {
      const file = path.join(backboneDir(name, root), CHECKPOINT_FILES.weights);
      let fp: string | null = null;
      if (fs.existsSync(file)) fp = readSafetensorsHeader(file).metadata["kit_fingerprint"] ?? null;
      current.set(name, fp);
    }
    return current.get(name)!;
  };
}

/** Records of these cells whose backbone fingerprint differs from the current one; [] when all match. */
export function staleRecords(
  records: readonly RunRecord[],
  cells: readonly Cell[],
  fingerprintOf: (name: string) => string | null,
): RunRecord[] {
  const wanted = new Set(cells.map((c) => c.cellId));
  return records.filter((r) => {
    if (!wanted.has(r.cellId)) return false;
    const fp = fingerprintOf(r.backbone.name);
    return fp !== null && fp !== r.backbone.fingerprint;
  });
}

/**
 * Refuses to resume `resultsPath` when a recorded run of these cells used other weights than the backbone has
 * now, naming the backbone, both fingerprints and `remedy` (what the user can do, in their words).
 */
export function checkResumeFingerprints(
  records: readonly RunRecord[],
  cells: readonly Cell[],
  fingerprintOf: (name: string) => string | null,
  resultsPath: string,
  remedy: string,
): void {
  const stale = staleRecords(records, cells, fingerprintOf);
  if (stale.length === 0) return;
  const r = stale[0]!;
  throw new Error(
    `${resultsPath}: ${stale.length} recorded run(s) of these cells used another version of backbone '${r.backbone.name}' ` +
      `(recorded weights fingerprint ${r.backbone.fingerprint}, the backbone now has ${fingerprintOf(r.backbone.name)}); ` +
      `results of different weights are never mixed in one file: ${remedy}`,
  );
}

/**
 * Refuses a set of records in which one backbone name has several weight fingerprints (e.g. a file written by an
 * older kit), so no summary or PT - FT gap compares runs on different weights.
 */
export function checkOneFingerprintPerBackbone(records: readonly RunRecord[], where: string): void {
  const seen = new Map<string, RunRecord>();
  for (const r of records) {
    const first = seen.get(r.backbone.name);
    if (first === undefined) seen.set(r.backbone.name, r);
    else if (first.backbone.fingerprint !== r.backbone.fingerprint) {
      throw new Error(
        `${where}: records of backbone '${r.backbone.name}' come from different weights (cell ${first.cellId}: ${first.backbone.fingerprint}; ` +
          `cell ${r.cellId}: ${r.backbone.fingerprint}); comparing them would mix models, so no summary is made`,
      );
    }
  }
}
