/** The method registry: adding a method is one file and one line here. */
import type { Method } from "../method";
import { calibratedZeroShot } from "./calibrated-zero-shot";
import { deepPromptTuning } from "./deep-prompt-tuning";
import { fullFinetune } from "./full-finetune";
import { headOnly } from "./head-only";
import { prefixTuning } from "./prefix-tuning";
import { promptTuning } from "./prompt-tuning";
import { zeroShot } from "./zero-shot";

export const METHODS = Object.freeze({
  "zero-shot": zeroShot,
  "calibrated-zero-shot": calibratedZeroShot,
  "head-only": headOnly,
  "prompt-tuning": promptTuning,
  "deep-prompt-tuning": deepPromptTuning,
  "prefix-tuning": prefixTuning,
  "full-finetune": fullFinetune,
} as const satisfies Record<string, Method>);

export type MethodName = keyof typeof METHODS;

export function getMethod(name: string): Method {
  const m = (METHODS as Record<string, Method>)[name];
  if (!m) throw new Error(`unknown method '${name}': expected one of ${Object.keys(METHODS).join(", ")}`);
  return m;
}

/** Registered method names, in registry order. */
export const METHOD_NAMES: readonly MethodName[] = Object.freeze(Object.keys(METHODS) as MethodName[]);
