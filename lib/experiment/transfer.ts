/**
 * Prompt transfer (SPoT, Vu et al. 2022): start a target task's prompt from a source task's trained prompt.
 *
 * This is two-stage prompt tuning (option `stage1Task`, run-cell.ts): stage 1 tunes the prompt on the source
 * task, stage 2 continues on the target from that prompt. A transfer matrix is a grid of such cells — for each
 * target, one cell per source plus the default-initialised baseline (stage1Task null) — run like any grid, and
 * the gain of a (source, target) pair is the paired difference over seeds of its test metric against the
 * baseline's (lib/eval/stats pairedDifference).
 *
 * The two-stage mechanism scores stage 1 with the target's label words, so source and target must share labels
 * and label words (among the shipped tasks: imdb, amazon and yelp); other pairs are refused here, up front.
 */
import type { Summary } from "../eval/stats";
import { pairedDifference, summarize } from "../eval/stats";
import { TASK_SPECS } from "../tasks/task-specs";
import { expandGrid, type Cell } from "./grid";
import type { RunRecord } from "./record";

export interface TransferSpec {
  /** grid name (cell labels, results file). */
  readonly name: string;
  readonly backbone: string;
  /** shipped tasks that are both sources and targets. */
  readonly tasks: readonly string[];
  readonly seeds: readonly number[];
  /** cell options for every cell (steps, evalEvery, promptLength, ...); stage1Steps defaults to steps. */
  readonly fixed?: Readonly<Record<string, unknown>>;
}

/** Throws unless source and target share labels and label words (what two-stage tuning needs). */
export function checkTransferPair(source: string, target: string): void {
  const a = TASK_SPECS[source];
  const b = TASK_SPECS[target];
  if (!a || !b)
    throw new Error(
      `prompt transfer: unknown task '${!a ? source : target}' (shipped: ${Object.keys(TASK_SPECS).join(", ")})`,
    );
  if (JSON.stringify(a.verbalizer) !== JSON.stringify(b.verbalizer)) {
    throw new Error(
      `prompt transfer: '${source}' -> '${target}' needs shared labels and label words (two-stage tuning scores stage 1 with the target's), ` +
        `got ${JSON.stringify(a.verbalizer)} vs ${JSON.stringify(b.verbalizer)}`,
    );
  }
}

/** The cells of a transfer matrix: for each target, its baseline and one two-stage cell per other source. */
export function transferCells(spec: TransferSpec): Cell[] {
  if (spec.tasks.length < 2)
    throw new Error(`prompt transfer: needs at least 2 tasks, got ${JSON.stringify(spec.tasks)}`);
  const cells: Cell[] = [];
  for (const target of spec.tasks) {
    const sources = spec.tasks.filter((s) => s !== target);
    sources.forEach((s) => checkTransferPair(s, target));
    cells.push(
      ...expandGrid({
        name: spec.name,
        backbones: [spec.backbone],
        tasks: [target],
        methods: ["prompt-tuning"],
        seeds: [...spec.seeds],
        fixed: { ...(spec.fixed ?? {}) },
        options: { stage1Task: [null, ...sources] },
      }),
    );
  }
  return cells;
}

export interface TransferEntry {
  readonly source: string;
  readonly target: string;
  /** target's test metric from the default init (over seeds). */
  readonly baseline: Summary;
  /** target's test metric after starting from the source's prompt. */
  readonly transfer: Summary;
  /** transfer - baseline, paired by seed, with a 95% bootstrap CI. */
  readonly gain: Summary;
}

function stage1Of(r: RunRecord): string | null {
  const v = r.config["stage1Task"];
  return typeof v === "string" ? v : null;
}

/** Gains of every (source, target) pair in `records` (cells of transferCells), paired by seed. */
export function transferMatrix(
  records: readonly RunRecord[],
  tasks: readonly string[],
  metric = "accuracy",
): TransferEntry[] {
  const value = (r: RunRecord) => {
    const v = (r.metrics as unknown as Record<string, unknown>)[metric];
    if (typeof v !== "number") throw new Error(`prompt transfer: record ${r.cellId} has no test metric '${metric}'`);
    return v;
  };
  const out: TransferEntry[] = [];
  for (const target of tasks) {
    const base = new Map(
      records.filter((r) => r.task === target && stage1Of(r) === null).map((r) => [r.seed, value(r)]),
    );
    for (const source of tasks) {
      if (source === target) continue;
      const tr = records.filter((r) => r.task === target && stage1Of(r) === source);
      const seeds = tr.map((r) => r.seed).filter((s) => base.has(s));
      if (seeds.length === 0)
        throw new Error(`prompt transfer: no seed has both the baseline and the ${source} -> ${target} record`);
      const t = seeds.map((s) => value(tr.find((r) => r.seed === s)!));
      const b = seeds.map((s) => base.get(s)!);
      out.push({ source, target, baseline: summarize(b), transfer: summarize(t), gain: pairedDifference(t, b) });
    }
  }
  return out;
}
