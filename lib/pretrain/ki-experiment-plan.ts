/**
 * The plan of the knowledge-inheritance experiment: where each run lives and the exact pre-training command of
 * each run (build/scripts/pretrain.js with its own --run-dir and --out, so the pre-training CLI resumes it).
 *
 * Layout (R = runRoot, E = the experiment folder named from every training and evaluation setting):
 *   R/E/seed<S>/scratch/{ckpt/, model/}                                  from scratch
 *   R/E/seed<S>/ki-<teacher>-a<alpha>-end<N>-T<temp>-<full|topK>/{...}   with KI
 *   R/E/pt-check.jsonl                                                   prompt-tuning check records
 */
import * as path from "node:path";
import { string } from "../io/validate";
import type { KiExperimentOptions } from "./ki-experiment-options";

export type RunKind = "scratch" | "ki";

export interface PlannedRun {
  readonly kind: RunKind;
  readonly seed: number;
  /** pretrain --run-dir (resumable state in ckpt/). */
  readonly runDir: string;
  /** pretrain --out: the checkpoint folder written when the run finishes. */
  readonly checkpointDir: string;
  /** arguments of build/scripts/pretrain.js. */
  readonly args: readonly string[];
  /** the same as a shell command line. */
  readonly command: string;
}

export interface KiExperimentPlan {
  readonly options: KiExperimentOptions;
  readonly teacherName: string;
  /** folder of this experiment's runs (named from every training and evaluation setting). */
  readonly experimentDir: string;
  readonly seeds: readonly { readonly seed: number; readonly scratch: PlannedRun; readonly ki: PlannedRun }[];
}

/** Makes a string safe as one path component. */
export function pathComponent(s: string): string {
  return s.replace(/[^A-Za-z0-9._-]+/g, "_");
}

/**
 * Folder of the experiment: every setting that shapes a run's curve is in its name, so runs made with other
 * settings never resume into it (the pretrain CLI also refuses a mismatch of the training settings).
 */
export function experimentDirName(o: KiExperimentOptions): string {
  return pathComponent(
    `${o.student}-${o.steps}steps-b${o.batch}x${o.length}-lr${o.lr}-wu${o.warmup}-wd${o.weightDecay}-eval${o.evalEvery}x${o.evalTokens}`,
  );
}

/** Folder name of a KI run inside a seed folder: teacher and every KI setting. */
export function kiDirName(o: KiExperimentOptions, teacherName: string): string {
  return pathComponent(
    `ki-${teacherName}-a${o.kiAlpha}-end${o.kiEndStep}-T${o.kiTemperature}-${o.kiTopK === null ? "full" : `top${o.kiTopK}`}`,
  );
}

/** Quotes an argument for a POSIX shell when it needs it. */
export function shellQuote(arg: string): string {
  return /^[A-Za-z0-9._\/=:,+@%-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** The pre-training CLI invocation, as recorded: `node build/scripts/pretrain.js ARGS`. */
export const PRETRAIN_SCRIPT = path.join("build", "scripts", "pretrain.js");

function pretrainArgs(
  o: KiExperimentOptions,
  seed: number,
  runDir: string,
  checkpointDir: string,
  ki: boolean,
): string[] {
  const args = [
    "--size",
    o.student,
    "--steps",
    String(o.steps),
    "--batch",
    String(o.batch),
    "--length",
    String(o.length),
    "--lr",
    String(o.lr),
    "--seed",
    String(seed),
    "--warmup",
    String(o.warmup),
    "--weight-decay",
    String(o.weightDecay),
    "--eval-every",
    String(o.evalEvery),
    "--eval-tokens",
    String(o.evalTokens),
    "--run-dir",
    runDir,
    "--out",
    checkpointDir,
  ];
  if (ki) {
    args.push(
      "--teacher",
      o.teacher,
      "--ki-alpha",
      String(o.kiAlpha),
      "--ki-end-step",
      String(o.kiEndStep),
      "--ki-temperature",
      String(o.kiTemperature),
      "--ki-top-k",
      String(o.kiTopK ?? 0),
    );
  }
  return args;
}

/** The runs of the experiment: per seed a scratch run and a KI run with identical training settings. */
export function planKiExperiment(o: KiExperimentOptions, teacherName: string): KiExperimentPlan {
  string(teacherName, "ki-experiment: teacher name", { nonEmpty: true });
  const experimentDir = path.join(o.runRoot, experimentDirName(o));
  const run = (kind: RunKind, seed: number): PlannedRun => {
    const runDir = path.join(experimentDir, `seed${seed}`, kind === "scratch" ? "scratch" : kiDirName(o, teacherName));
    const checkpointDir = path.join(runDir, "model");
    const args = pretrainArgs(o, seed, runDir, checkpointDir, kind === "ki");
    return Object.freeze({
      kind,
      seed,
      runDir,
      checkpointDir,
      args: Object.freeze(args),
      command: ["node", PRETRAIN_SCRIPT, ...args].map(shellQuote).join(" "),
    });
  };
  return Object.freeze({
    options: o,
    teacherName,
    experimentDir,
    seeds: Object.freeze(
      o.seeds.map((seed) => Object.freeze({ seed, scratch: run("scratch", seed), ki: run("ki", seed) })),
    ),
  });
}
