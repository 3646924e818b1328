/**
 * Bookkeeping for knowledge-inheritance pre-training runs: what identifies a KI run (teacher + settings), the
 * guard that keeps a KI run and a scratch run from being resumed as each other, the run/model names, the
 * model-card notes, and reading a run's validation curve back.
 *
 * The record travels inside the run's PretrainOptions as an extra `ki` field; the pretrainer writes the whole
 * options object into ckpt/state.json, which is where assertKiRunMatches reads it back.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { canonicalJson } from "../experiment/cell-id";
import { readJsonFile } from "../io/json-file";
import type { CurvePoint } from "./compute-saved";
import type { KiOptions } from "./knowledge-inheritance";

export interface KiRunRecord {
  /** the teacher checkpoint: its name and weights fingerprint (its identity; the folder may move). */
  readonly teacher: { readonly name: string; readonly fingerprint: string };
  readonly alphaStart: number;
  readonly alphaEndStep: number;
  readonly temperature: number;
  readonly topK: number | null;
}

export function kiRunRecord(teacher: { name: string; fingerprint: string }, opts: KiOptions): KiRunRecord {
  return {
    teacher: { name: teacher.name, fingerprint: teacher.fingerprint },
    alphaStart: opts.alphaStart,
    alphaEndStep: opts.alphaEndStep,
    temperature: opts.temperature,
    topK: opts.topK,
  };
}

/** Name of a KI run / model: "<student size>-ki-<teacher name>", safe as a single path component. */
export function kiRunName(studentSize: string, teacherName: string): string {
  return `${studentSize}-ki-${teacherName.replace(/[^A-Za-z0-9._-]+/g, "_")}`;
}

function describe(r: KiRunRecord | null): string {
  return r === null ? "from scratch (no teacher)" : `with knowledge inheritance ${canonicalJson(r)}`;
}

/**
 * Refuses to resume `runDir` when its checkpoint was made with a different KI record (or with KI when `record`
 * is null, or without it when it is not). A run directory without a checkpoint passes.
 */
export function assertKiRunMatches(runDir: string, record: KiRunRecord | null): void {
  const statePath = path.join(runDir, "ckpt", "state.json");
  if (!fs.existsSync(statePath)) return;
  const raw = readJsonFile(statePath) as { options?: { ki?: KiRunRecord } };
  const recorded = raw.options?.ki ?? null;
  const same =
    recorded === null || record === null ? recorded === record : canonicalJson(recorded) === canonicalJson(record);
  if (!same) {
    throw new Error(
      `${statePath}: this run was started ${describe(recorded)}\n  but is being resumed ${describe(record)}\n` +
        `use another --run-dir, or delete ${path.join(runDir, "ckpt")} to start over`,
    );
  }
}

/** Model-card notes for a KI-trained checkpoint. */
export function kiCardNotes(record: KiRunRecord, teacherDir: string): string[] {
  return [
    `Pre-trained with knowledge inheritance (Qin et al. 2021) from teacher ${record.teacher.name} ` +
      `(${teacherDir}, weights fingerprint \`${record.teacher.fingerprint}\`).`,
    `KI loss (1 - a_t) * LM + a_t * T^2 * KL(teacher || student), a_t decaying linearly from ${record.alphaStart} at step 0 ` +
      `to 0 at step ${record.alphaEndStep}; temperature T = ${record.temperature}; teacher distribution ` +
      (record.topK === null
        ? "over the full vocabulary."
        : `cut to its top ${record.topK} tokens per position and renormalised.`),
    `The validation losses below are plain next-token losses (comparable with a scratch run's); the training-loss column ` +
      `is the KI objective up to step ${record.alphaEndStep} and the plain LM loss after it.`,
  ];
}

/** The validation curve recorded in a pre-training run's ckpt/state.json (for computeSaved). */
export function readValidationCurve(runDir: string): CurvePoint[] {
  const statePath = path.join(runDir, "ckpt", "state.json");
  if (!fs.existsSync(statePath)) throw new Error(`${statePath}: missing (no checkpoint in this run directory)`);
  const raw = readJsonFile(statePath) as { history?: unknown };
  if (!Array.isArray(raw.history))
    throw new Error(`${statePath}: field 'history' must be an array, got ${JSON.stringify(raw.history)}`);
  return raw.history.map((h: unknown, i: number) => {
    const p = h as { step?: unknown; valLoss?: unknown };
    if (typeof p.step !== "number" || typeof p.valLoss !== "number") {
      throw new Error(`${statePath}: history[${i}] needs numeric 'step' and 'valLoss', got ${JSON.stringify(h)}`);
    }
    return { step: p.step, valLoss: p.valLoss };
  });
}
