/**
 * The result file of the knowledge-inheritance experiment (results/ki/*.json): its shape, where it goes by default,
 * and `readKiResult`, which checks every field the notebook uses and lists every problem at once.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { TransformerConfig, nonEmbeddingParams, totalParams } from "../backbone/config";
import { readJsonFile } from "../io/json-file";
import { array, fail, finiteNumber, isPlainObject, nullable, object, problemsOf, string } from "../io/validate";
import type { KiExperimentOptions } from "./ki-experiment-options";
import { pathComponent } from "./ki-experiment-plan";
import type { PtCheck } from "./ki-pt-check";
import type { RunSummary } from "./ki-run-summary";
import type { SavingSummary, SeedSaving } from "./ki-savings";

export const KI_RESULT_KIND = "softprompt-kit/ki-experiment";
export const KI_RESULT_VERSION = 1;

export interface ModelInfo {
  readonly name: string;
  readonly config: TransformerConfig;
  readonly nonEmbeddingParams: number;
  readonly totalParams: number;
}

export interface KiSeedResult {
  readonly seed: number;
  readonly scratch: RunSummary;
  readonly ki: RunSummary;
  readonly saving: SeedSaving;
}

export interface KiExperimentResult {
  readonly kind: typeof KI_RESULT_KIND;
  readonly version: typeof KI_RESULT_VERSION;
  readonly createdAt: string;
  /** the command that produced this file. */
  readonly command: string;
  readonly options: KiExperimentOptions;
  readonly experimentDir: string;
  readonly student: ModelInfo;
  readonly teacher: ModelInfo & { readonly dir: string; readonly fingerprint: string };
  /** teacher forward FLOPs per student training step (forwardFlopsPerToken), used for savedWithTeacher. */
  readonly teacherOverhead: number;
  /** tfjs backend of the process that assembled the result (each run lists its own in `backends`). */
  readonly backend: string;
  readonly seeds: readonly KiSeedResult[];
  readonly summary: SavingSummary;
  readonly ptCheck: PtCheck | null;
}

export function modelInfo(name: string, config: TransformerConfig): ModelInfo {
  return { name, config, nonEmbeddingParams: nonEmbeddingParams(config), totalParams: totalParams(config) };
}

/** Default result path: results/ki/<student>-ki-<teacher>-<steps>steps.json. */
export function defaultResultPath(o: KiExperimentOptions, teacherName: string): string {
  return path.join("results", "ki", `${pathComponent(`${o.student}-ki-${teacherName}-${o.steps}steps`)}.json`);
}

/** Result files at `target`: the file itself, or the *.json files of a folder (sorted); none if it is missing. */
export function kiResultFiles(target: string): string[] {
  if (!fs.existsSync(target)) return [];
  if (fs.statSync(target).isFile()) return [target];
  return fs
    .readdirSync(target)
    .filter((f) => f.endsWith(".json"))
    .sort()
    .map((f) => path.join(target, f));
}

type Problems = Parameters<Parameters<typeof problemsOf>[0]>[0];
type Json = Record<string, unknown>;

/** The object at `where`, or null after noting the problem (so its fields are not checked one by one). */
function objectAt(p: Problems, value: unknown, where: string): Json | null {
  p.check(() => object(value, where));
  return isPlainObject(value) ? value : null;
}

/** `where.key`, or `key` at the top level. */
function fieldName(where: string, key: string): string {
  return where === "" ? key : `${where}.${key}`;
}

function numbers(
  p: Problems,
  obj: Json,
  keys: readonly string[],
  where: string,
  opts: { nullable?: boolean } = {},
): void {
  for (const k of keys) {
    const w = fieldName(where, k);
    p.check(() => (opts.nullable ? nullable(obj[k], w, (v, ww) => finiteNumber(v, ww)) : finiteNumber(obj[k], w)));
  }
}

function strings(p: Problems, obj: Json, keys: readonly string[], where: string): void {
  for (const k of keys) p.check(() => string(obj[k], fieldName(where, k)));
}

/** A non-empty array at `where`, or [] after noting the problem. */
function nonEmptyArray(p: Problems, value: unknown, where: string): unknown[] {
  p.check(() => array(value, where, { nonEmpty: true }));
  return Array.isArray(value) ? value : [];
}

function runProblems(p: Problems, value: unknown, where: string): void {
  const run = objectAt(p, value, where);
  if (!run) return;
  nonEmptyArray(p, run["curve"], `${where}.curve`).forEach((point, i) => {
    const pt = objectAt(p, point, `${where}.curve[${i}]`);
    if (pt) numbers(p, pt, ["step", "valLoss", "seconds"], `${where}.curve[${i}]`);
  });
  numbers(p, run, ["steps", "trainSeconds", "finalValLoss", "finalValPerplexity"], where);
  strings(p, run, ["checkpoint", "command", "fingerprint"], where);
}

function seedProblems(p: Problems, value: unknown, where: string): void {
  const s = objectAt(p, value, where);
  if (!s) return;
  numbers(p, s, ["seed"], where);
  runProblems(p, s["scratch"], `${where}.scratch`);
  runProblems(p, s["ki"], `${where}.ki`);
  const saving = objectAt(p, s["saving"], `${where}.saving`);
  if (!saving) return;
  numbers(p, saving, ["target", "scratchSteps", "scratchSeconds"], `${where}.saving`);
  numbers(
    p,
    saving,
    ["kiSteps", "saved", "kiCostSteps", "savedWithTeacher", "kiSecondsToTarget", "savedWallClock"],
    `${where}.saving`,
    { nullable: true },
  );
}

function ptCheckProblems(p: Problems, value: unknown): void {
  if (value === null) return;
  const pt = objectAt(p, value, "ptCheck");
  if (!pt) return;
  p.check(() => array(pt["rows"], "ptCheck.rows"));
  (Array.isArray(pt["rows"]) ? pt["rows"] : []).forEach((r, i) => {
    const row = objectAt(p, r, `ptCheck.rows[${i}]`);
    if (!row) return;
    numbers(p, row, ["testAccuracy"], `ptCheck.rows[${i}]`);
    strings(p, row, ["method", "student"], `ptCheck.rows[${i}]`);
  });
  p.check(() => array(pt["summary"], "ptCheck.summary"));
}

/**
 * Every problem of a parsed result file (the fields the notebook uses), each naming its field: kind and version,
 * teacher name and fingerprint, per seed both curves, final losses and the savings, the prompt-tuning check.
 */
export function kiResultProblems(raw: unknown): string[] {
  return problemsOf((p) => {
    const r = objectAt(p, raw, "the result");
    if (!r) return;
    p.check(() => r["kind"] === KI_RESULT_KIND || fail("kind", JSON.stringify(KI_RESULT_KIND), r["kind"]));
    p.check(() => r["version"] === KI_RESULT_VERSION || fail("version", String(KI_RESULT_VERSION), r["version"]));
    strings(p, r, ["command"], "");
    const options = objectAt(p, r["options"], "options");
    if (options) numbers(p, options, ["steps", "evalEvery", "kiAlpha", "kiEndStep"], "options");
    const teacher = objectAt(p, r["teacher"], "teacher");
    if (teacher) strings(p, teacher, ["name", "fingerprint"], "teacher");
    const student = objectAt(p, r["student"], "student");
    if (student) strings(p, student, ["name"], "student");
    numbers(p, r, ["teacherOverhead"], "");
    nonEmptyArray(p, r["seeds"], "seeds").forEach((s, i) => seedProblems(p, s, `seeds[${i}]`));
    const summary = objectAt(p, r["summary"], "summary");
    if (summary) {
      numbers(p, summary, ["reached"], "summary");
      numbers(p, summary, ["meanSaved"], "summary", { nullable: true });
    }
    ptCheckProblems(p, r["ptCheck"]);
  });
}

/** Reads and checks a result file; on a problem the message names the file and lists every bad field. */
export function readKiResult(file: string): KiExperimentResult {
  const raw = readJsonFile(file);
  const problems = kiResultProblems(raw);
  if (problems.length > 0) {
    throw new Error(
      `${file}: not a valid KI result (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n  ${problems.join("\n  ")}`,
    );
  }
  return raw as KiExperimentResult;
}
