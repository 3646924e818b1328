/**
 * Options of the knowledge-inheritance experiment (ki-experiment.ts): the interface, the frozen defaults, and
 * `resolveKiExperimentOptions`, which merges overrides onto the defaults and validates every field (lib/io/validate
 * messages: "ki-experiment: steps must be a positive integer, got 0").
 */
import * as path from "node:path";
import { sizeConfig } from "../backbone/sizes";
import {
  array,
  boolean,
  finiteNumber,
  knownKeys,
  nonNegativeInt,
  nonNegativeNumber,
  positiveInt,
  string,
} from "../io/validate";
import { resolveKiOptions } from "./knowledge-inheritance";

export interface KiExperimentOptions {
  /** student size, a name from lib/backbone/sizes.ts (e.g. "kit-small"). */
  readonly student: string;
  /** teacher checkpoint folder (e.g. "models/kit-nano"). */
  readonly teacher: string;
  /** optimizer steps of every run. */
  readonly steps: number;
  /** training seeds; each seed gives one scratch run and one KI run. */
  readonly seeds: readonly number[];
  /** sequences per batch. */
  readonly batch: number;
  /** tokens per sequence. */
  readonly length: number;
  /** peak learning rate (warmup, then cosine to 10%). */
  readonly lr: number;
  /** warmup steps. */
  readonly warmup: number;
  readonly weightDecay: number;
  /** evaluate validation loss every N steps (and at the last step). */
  readonly evalEvery: number;
  /** validation tokens per evaluation. */
  readonly evalTokens: number;
  /** a_0, the weight of the distillation term at step 0. */
  readonly kiAlpha: number;
  /** step at which a_t reaches 0 (resolved: floor(steps / 2) when not given). */
  readonly kiEndStep: number;
  /** distillation temperature T. */
  readonly kiTemperature: number;
  /** teacher cut to its top-k tokens; null = full vocabulary. */
  readonly kiTopK: number | null;
  /** folder holding the experiment's run folders. */
  readonly runRoot: string;
  /** also prompt-tune and fully fine-tune both students on a task. */
  readonly ptCheck: boolean;
  /** task of the prompt-tuning check. */
  readonly ptTask: string;
  /** training steps of each prompt-tuning check run. */
  readonly ptSteps: number;
  /** methods of the prompt-tuning check. */
  readonly ptMethods: readonly string[];
}

export type KiExperimentInput = Partial<Omit<KiExperimentOptions, "kiEndStep"> & { kiEndStep: number | null }>;

export const DEFAULT_KI_EXPERIMENT: Readonly<Omit<KiExperimentOptions, "kiEndStep"> & { kiEndStep: number | null }> =
  Object.freeze({
    student: "kit-small",
    teacher: "models/kit-nano",
    steps: 1500,
    seeds: Object.freeze([0]),
    batch: 8,
    length: 128,
    lr: 2e-3,
    warmup: 100,
    weightDecay: 0.01,
    evalEvery: 100,
    evalTokens: 32768,
    kiAlpha: 0.5,
    kiEndStep: null,
    kiTemperature: 1,
    kiTopK: null,
    runRoot: path.join("runs", "pretrain", "ki-exp"),
    ptCheck: false,
    ptTask: "yelp",
    ptSteps: 200,
    ptMethods: Object.freeze(["prompt-tuning", "full-finetune"]),
  });

const WHERE = "ki-experiment";

/** Merges `overrides` onto the defaults and validates; the message names the field and the bad value. */
export function resolveKiExperimentOptions(overrides: KiExperimentInput = {}): KiExperimentOptions {
  knownKeys(overrides as Record<string, unknown>, Object.keys(DEFAULT_KI_EXPERIMENT), WHERE);
  const o = { ...DEFAULT_KI_EXPERIMENT, ...overrides };
  const at = (field: string) => `${WHERE}: ${field}`;
  string(o.student, at("student"), { nonEmpty: true });
  const student = sizeConfig(o.student); // throws naming the known sizes
  string(o.teacher, at("teacher"), { nonEmpty: true });
  for (const k of ["steps", "batch", "length", "evalEvery", "evalTokens", "ptSteps"] as const) positiveInt(o[k], at(k));
  if (o.length > student.maxLen)
    throw new Error(`${WHERE}: length ${o.length} exceeds the student's maxLen ${student.maxLen}`);
  if (o.evalTokens < o.batch * o.length) {
    throw new Error(
      `${WHERE}: evalTokens ${o.evalTokens} is less than one batch (batch ${o.batch} x length ${o.length} = ${o.batch * o.length} tokens)`,
    );
  }
  finiteNumber(o.lr, at("lr"), { above: 0 });
  nonNegativeInt(o.warmup, at("warmup"));
  nonNegativeNumber(o.weightDecay, at("weightDecay"));
  array(o.seeds, at("seeds"), { nonEmpty: true });
  o.seeds.forEach((s, i) => nonNegativeInt(s, at(`seeds[${i}]`)));
  const dup = o.seeds.find((s, i) => o.seeds.indexOf(s) !== i);
  if (dup !== undefined) throw new Error(`${WHERE}: seed ${dup} is listed twice in seeds ${JSON.stringify(o.seeds)}`);
  const kiEndStep = o.kiEndStep ?? Math.floor(o.steps / 2);
  // The KI settings go through the KI loss's own validation (same messages as the pretrain CLI).
  try {
    resolveKiOptions({ alphaStart: o.kiAlpha, alphaEndStep: kiEndStep, temperature: o.kiTemperature, topK: o.kiTopK });
  } catch (err) {
    throw new Error(`${WHERE}: ${(err as Error).message} (from kiAlpha / kiEndStep / kiTemperature / kiTopK)`);
  }
  if (o.kiTopK !== null && o.kiTopK > student.vocabSize) {
    throw new Error(`${WHERE}: kiTopK ${o.kiTopK} exceeds the vocabulary (${student.vocabSize} tokens)`);
  }
  string(o.runRoot, at("runRoot"), { nonEmpty: true });
  boolean(o.ptCheck, at("ptCheck"));
  string(o.ptTask, at("ptTask"), { nonEmpty: true });
  array(o.ptMethods, at("ptMethods"), { nonEmpty: true });
  o.ptMethods.forEach((m, i) => string(m, at(`ptMethods[${i}]`), { nonEmpty: true }));
  return Object.freeze({
    ...o,
    seeds: Object.freeze([...o.seeds]),
    ptMethods: Object.freeze([...o.ptMethods]),
    kiEndStep,
  });
}

/** "0,1,2" -> [0, 1, 2] (non-negative integers, comma-separated). */
export function parseSeeds(text: string): number[] {
  const parts = text.split(",").map((s) => s.trim());
  const seeds = parts.map(Number);
  if (parts.some((p) => !/^\d+$/.test(p)))
    throw new Error(`option --seeds: expected comma-separated non-negative integers, got '${text}'`);
  return seeds;
}
