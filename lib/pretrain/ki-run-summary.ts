/**
 * Reading a run of the knowledge-inheritance experiment back: its status (new, partial, done), and the summary
 * of a finished run (validation curve from ckpt/state.json, final validation loss from the checkpoint metadata).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { CHECKPOINT_FILES } from "../backbone/checkpoint";
import { readSafetensorsHeader } from "../io/safetensors";
import { readJsonFile } from "../io/json-file";
import { array, finiteNumber, isPlainObject, object } from "../io/validate";
import type { CurvePoint } from "./compute-saved";
import type { KiExperimentOptions } from "./ki-experiment-options";
import type { PlannedRun, RunKind } from "./ki-experiment-plan";

/** What ckpt/state.json of a pretrain run holds (the fields read here). */
interface RunState {
  readonly step: number;
  readonly tokensSeen: number;
  readonly wallSeconds: number;
  readonly history: readonly { step: number; valLoss: number; seconds: number }[];
  readonly backends: readonly string[];
  readonly ki: unknown;
}

function readRunState(runDir: string): RunState | null {
  const file = path.join(runDir, "ckpt", "state.json");
  if (!fs.existsSync(file)) return null;
  const raw = object(readJsonFile(file), file);
  const num = (v: unknown, field: string) => finiteNumber(v, `${file}: ${field}`);
  const history = array(raw["history"], `${file}: field 'history'`).map((h, i) => {
    const p = isPlainObject(h) ? h : {};
    return {
      step: num(p["step"], `history[${i}].step`),
      valLoss: num(p["valLoss"], `history[${i}].valLoss`),
      seconds: num(p["seconds"], `history[${i}].seconds`),
    };
  });
  const options = isPlainObject(raw["options"]) ? raw["options"] : {};
  return {
    step: num(raw["step"], "field 'step'"),
    tokensSeen: num(raw["tokensSeen"], "field 'tokensSeen'"),
    wallSeconds: num(raw["wallSeconds"], "field 'wallSeconds'"),
    history,
    backends: Array.isArray(raw["backends"]) ? (raw["backends"] as string[]) : [],
    ki: options["ki"] ?? null,
  };
}

/** "new" (no checkpoint yet), "partial" (resumable), "done" (all steps taken and the checkpoint folder written). */
export function runStatus(run: PlannedRun, steps: number): "new" | "partial" | "done" {
  const state = readRunState(run.runDir);
  if (state === null) return "new";
  return state.step >= steps && fs.existsSync(path.join(run.checkpointDir, CHECKPOINT_FILES.weights))
    ? "done"
    : "partial";
}

/** Evaluation steps a run of `steps` steps records: every `evalEvery` steps and the last one. */
export function evaluationSteps(steps: number, evalEvery: number): number[] {
  const out: number[] = [];
  for (let s = evalEvery; s < steps; s += evalEvery) out.push(s);
  out.push(steps);
  return out;
}

/** One validation-curve point: optimizer steps, validation loss (nats/token), training seconds so far. */
export interface TimedCurvePoint extends CurvePoint {
  /** training wall seconds up to this point (evaluations excluded), summed over resumed sessions. */
  readonly seconds: number;
}

export interface RunSummary {
  readonly kind: RunKind;
  readonly runDir: string;
  /** checkpoint folder of the finished student (not committed; loadCheckpoint / runCell backbone path). */
  readonly checkpoint: string;
  /** the pretrain command that made (and resumes) this run. */
  readonly command: string;
  readonly steps: number;
  readonly tokensSeen: number;
  /** training wall seconds (evaluation excluded), summed over sessions. */
  readonly trainSeconds: number;
  readonly curve: readonly TimedCurvePoint[];
  /** next-token loss on the whole held-out split, measured when the checkpoint was written (nats/token). */
  readonly finalValLoss: number;
  readonly finalValPerplexity: number;
  /** weights fingerprint of the checkpoint. */
  readonly fingerprint: string;
  /** tfjs backends the run used (more than one if resumed elsewhere). */
  readonly backends: readonly string[];
}

/**
 * Reads a finished run: its curve from ckpt/state.json, its final validation loss from the checkpoint's
 * metadata. Throws, naming the file, when the run is unfinished, was made with other evaluation settings, or
 * is not of the planned kind. `fingerprint` is the checkpoint's (computed by the caller, which loads it).
 */
export function readRunSummary(
  run: PlannedRun,
  o: Pick<KiExperimentOptions, "steps" | "evalEvery">,
  fingerprint: string,
): RunSummary {
  const stateFile = path.join(run.runDir, "ckpt", "state.json");
  const state = readRunState(run.runDir);
  if (state === null)
    throw new Error(`${stateFile}: missing: the ${run.kind} run of seed ${run.seed} has not started (${run.command})`);
  if (state.step < o.steps) {
    throw new Error(
      `${stateFile}: the ${run.kind} run of seed ${run.seed} stopped at step ${state.step} of ${o.steps}; run the same command to resume`,
    );
  }
  if ((run.kind === "ki") !== (state.ki !== null)) {
    throw new Error(
      `${stateFile}: expected a ${run.kind === "ki" ? "knowledge-inheritance" : "from-scratch"} run, found ${state.ki === null ? "one without" : "one with"} a teacher`,
    );
  }
  const expected = evaluationSteps(o.steps, o.evalEvery);
  const got = state.history.map((h) => h.step);
  if (got.join(",") !== expected.join(",")) {
    throw new Error(
      `${stateFile}: validation curve evaluated at steps [${got.join(", ")}], expected [${expected.join(", ")}] ` +
        `(evaluation every ${o.evalEvery} steps); the run folder was made with other settings`,
    );
  }
  const weights = path.join(run.checkpointDir, CHECKPOINT_FILES.weights);
  if (!fs.existsSync(weights))
    throw new Error(
      `${weights}: missing: the ${run.kind} run of seed ${run.seed} finished but wrote no checkpoint; run the same command again`,
    );
  const raw = readSafetensorsHeader(weights).metadata["val_loss"];
  const finalValLoss = Number(raw);
  if (raw === undefined || !Number.isFinite(finalValLoss))
    throw new Error(`${weights}: metadata 'val_loss' must be a number, got ${JSON.stringify(raw)}`);
  return {
    kind: run.kind,
    runDir: run.runDir,
    checkpoint: run.checkpointDir,
    command: run.command,
    steps: state.step,
    tokensSeen: state.tokensSeen,
    trainSeconds: state.wallSeconds,
    curve: state.history.map((h) => ({ step: h.step, valLoss: h.valLoss, seconds: h.seconds })),
    finalValLoss,
    finalValPerplexity: Math.exp(finalValLoss),
    fingerprint,
    backends: [...state.backends],
  };
}
