/**
 * Reusing finished runs across grids. Two grids often contain the same run spelled differently: the bench writes
 * `{ steps: 200, evalEvery: 50, maxDev: 200 }`, a notebook adds `maxTest: null` (the default) or the base prompt
 * design (`promptLength: 20`, also defaults), so their cellIds differ although the runs are identical. Here a run
 * is identified by its *resolved* configuration (every option filled in from CELL_DEFAULTS) plus the weights
 * fingerprint of the backbone it ran on; a record from another results file with the same run key is the result
 * of the same computation and can be copied into this grid's file instead of training again.
 *
 * A copied record keeps everything that describes the run (metrics, curve, timings, timestamps, versions) and
 * takes the new cell's identity (cellId, config); `reusedFrom` names the file and cellId it came from, so a
 * report can always tell reused results from fresh ones. Not re-exported from lib/experiment/index.ts because
 * it resolves options through cell-options.ts, which loads the method registry (and tfjs).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { canonicalJson } from "./cell-id";
import type { Cell } from "./grid";
import { RESERVED_CONFIG_KEYS } from "./grid";
import { cellFields, readRecords, type ReusedFrom, type RunRecord } from "./record";
import { resolveCellOptions } from "./cell-options";

/**
 * Canonical key of the run a config defines: backbone, task, method, seed and every option resolved against
 * CELL_DEFAULTS. null when the config cannot be resolved (an option this version of the kit does not know, or an
 * invalid value): such a record is never reused.
 */
export function runKeyOf(config: Readonly<Record<string, unknown>>): string | null {
  const options: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(config)) if (!RESERVED_CONFIG_KEYS.includes(k)) options[k] = v;
  try {
    const resolved = resolveCellOptions(options, "reuse");
    return canonicalJson({
      backbone: config["backbone"],
      task: config["task"],
      method: config["method"],
      seed: config["seed"],
      ...resolved,
    });
  } catch {
    return null;
  }
}

export interface RecordReuseOptions {
  /** Current weights fingerprint of a backbone by name; null when unknown (its records are never reused). */
  readonly fingerprintOf: (backbone: string) => string | null;
  /** Results files to skip (e.g. the grid's own file). */
  readonly exclude?: readonly string[];
  readonly onWarning?: (message: string) => void;
}

/** An index of finished runs in some results files, looked up by run key. */
export class RecordReuse {
  private readonly byKey = new Map<string, { record: RunRecord; file: string }>();
  /** Files that were read (existing, not excluded, deduplicated by real path). */
  readonly files: readonly string[];

  /**
   * Reads every file. Missing files are skipped (a fresh clone has no earlier results); a file that is not a
   * valid results file is skipped with a warning naming it and the problem (reuse is an optimisation: it must not
   * stop a run). The first record per run key wins.
   */
  constructor(
    files: readonly string[],
    private readonly options: RecordReuseOptions,
  ) {
    const excluded = new Set((options.exclude ?? []).map((f) => realOrResolved(f)));
    const seen = new Set<string>();
    const used: string[] = [];
    for (const f of files) {
      if (!fs.existsSync(f)) continue;
      const real = realOrResolved(f);
      if (excluded.has(real) || seen.has(real)) continue;
      seen.add(real);
      let records: RunRecord[];
      try {
        records = readRecords(f, { onWarning: options.onWarning });
      } catch (err) {
        options.onWarning?.(`reuse: skipping ${f}: ${(err as Error).message.split("\n")[0]}`);
        continue;
      }
      used.push(path.resolve(f));
      for (const record of records) {
        const key = runKeyOf(record.config);
        if (key !== null && !this.byKey.has(key)) this.byKey.set(key, { record, file: path.resolve(f) });
      }
    }
    this.files = used;
  }

  /**
   * A copy of a finished run identical to `cell`, carrying the cell's identity and `reusedFrom`; null when
   * there is none, or when the recorded backbone fingerprint is not the current one (the backbone was retrained).
   */
  find(cell: Cell): (RunRecord & { reusedFrom: ReusedFrom }) | null {
    const key = runKeyOf(cell.config);
    if (key === null) return null;
    const hit = this.byKey.get(key);
    if (!hit) return null;
    const current = this.options.fingerprintOf(cell.backbone);
    if (current === null || current !== hit.record.backbone.fingerprint) return null;
    const { reusedFrom: earlier, ...record } = hit.record;
    // A record reused twice names the file where it was first run.
    const from: ReusedFrom = earlier ?? { file: hit.file, cellId: hit.record.cellId };
    return { ...record, ...cellFields(cell), reusedFrom: from };
  }
}

/** The real path of `f` (symlinks resolved), or its absolute path when it does not exist. */
export function realOrResolved(f: string): string {
  try {
    return fs.realpathSync(f);
  } catch {
    return path.resolve(f);
  }
}
