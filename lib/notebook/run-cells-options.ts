/** Options of runCells (run-cells.ts): their type and the check that fills defaults and names a bad value. */
import * as path from "node:path";
import type { Cell } from "../experiment/grid";
import { projectRoot } from "../experiment/project-paths";
import type { RunRecord } from "../experiment/record";
import type { CellProgress } from "../experiment/run-cell";
import type { OnError } from "../experiment/runner";
import { array, boolean, integer, object, oneOf, string } from "../io/validate";
import type { DisplaySink } from "../viz/display";
import type { ProgressStream } from "../viz/live";

/** Runs one cell; `progress` receives its training steps (worker runs may ignore it). */
export type CellRunner = (cell: Cell, progress: CellProgress) => Promise<RunRecord>;

export interface RunCellsOptions {
  /** results.jsonl to resume from and append to (directories are created). */
  readonly resultsPath: string;
  /** 0: run in this process with per-step progress; n >= 1: n worker processes at once. Default 0. */
  readonly workers?: number;
  /** Delete the results file first, so every cell runs (quick runs start clean). Default false. */
  readonly fresh?: boolean;
  /** Shown on the progress bar. */
  readonly label?: string;
  /** Live training-loss curve, one line per cell (in-process runs only). Default true. */
  readonly curve?: boolean;
  /** "stop" (default): the first failing cell fails the call; "record-and-continue": log it and go on. */
  readonly onError?: OnError;
  /** Check resumed records' backbone fingerprints against models/ (default true). */
  readonly checkFingerprints?: boolean;
  /** Finished cells listed in the live table (default 8). */
  readonly tableRows?: number;
  /** Project root (models/, build/); default: found from this file. */
  readonly root?: string;
  /** Where displays go (default: the notebook, else the console). */
  readonly sink?: DisplaySink;
  /** Console progress stream (default process.stderr). */
  readonly stream?: ProgressStream;
  /**
   * Other results files whose finished runs may stand in for cells of this call (see lib/experiment/reuse.ts):
   * a pending cell whose resolved configuration and backbone fingerprint equal a recorded run's is copied into
   * `resultsPath` (with `reusedFrom` set) instead of trained again. Missing files are ignored. Default none.
   */
  readonly reuseFrom?: readonly string[];
  /** Replaces how a cell runs (tests); default runCell here, or the cell worker when workers >= 1. */
  readonly runner?: CellRunner;
}

export interface ResolvedRunCellsOptions {
  readonly resultsPath: string;
  readonly workers: number;
  readonly fresh: boolean;
  readonly label: string;
  readonly curve: boolean;
  readonly onError: OnError;
  readonly checkFingerprints: boolean;
  readonly tableRows: number;
  readonly root: string;
  readonly reuseFrom: string[];
}

/** Validates options and fills defaults; errors name the option (runCells: NAME) and the bad value. */
export function resolveRunCellsOptions(o: RunCellsOptions): ResolvedRunCellsOptions {
  object(o, "runCells: options");
  const at = (k: string) => `runCells: ${k}`;
  const reuseFrom = o.reuseFrom === undefined ? [] : array(o.reuseFrom, at("reuseFrom (an array of file paths)"));
  return {
    resultsPath: path.resolve(string(o.resultsPath, at("resultsPath"), { nonEmpty: true })),
    workers: integer(o.workers ?? 0, at("workers"), { min: 0 }),
    fresh: boolean(o.fresh ?? false, at("fresh")),
    label: string(o.label ?? "cells", at("label")),
    curve: boolean(o.curve ?? true, at("curve")),
    onError: oneOf(o.onError ?? "stop", at("onError"), ["stop", "record-and-continue"] as const),
    checkFingerprints: boolean(o.checkFingerprints ?? true, at("checkFingerprints")),
    tableRows: integer(o.tableRows ?? 8, at("tableRows"), { min: 1 }),
    root: o.root ?? projectRoot(),
    reuseFrom: reuseFrom.map((f, i) => path.resolve(string(f, at(`reuseFrom[${i}]`), { nonEmpty: true }))),
  };
}
