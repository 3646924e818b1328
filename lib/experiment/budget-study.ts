/**
 * The budget and learning-rate study's choices, made on dev only: for every (backbone, method, step budget) the
 * learning rate with the best mean dev metric over all its tasks and seeds, then for every (backbone, method) the
 * budget whose chosen learning rate scored best on dev (the smaller budget when two are within `tolerance`).
 * Test metrics never enter a choice; the notebook reports them for the chosen settings only, with intervals.
 *
 * A run's learning rate is its config's `lr` (absent: the method's default, labelled "default") and its budget is
 * its config's `steps`. Runs without dev metrics (zero-shot) have nothing to choose and are left out.
 */
import { mean, pairedDifference, type Summary } from "../eval/stats";
import type { RunRecord } from "./record";
import type { MetricName } from "./summary";

export interface LrCandidate {
  /** the `lr` option, or "default" when the runs used the method's default. */
  readonly lr: number | "default";
  /** mean dev metric over the candidate's runs (every task and seed). */
  readonly devMean: number;
  readonly runs: number;
}

export interface BudgetChoice {
  readonly backbone: string;
  readonly method: string;
  readonly steps: number;
  /** the chosen learning rate and its dev score. */
  readonly lr: number | "default";
  readonly devMean: number;
  /** every learning rate tried at this budget, best first. */
  readonly candidates: readonly LrCandidate[];
}

export interface BudgetStudyOptions {
  readonly metric?: MetricName;
  /** dev-metric difference within which the smaller budget is preferred (default 0.005). */
  readonly tolerance?: number;
}

const lrOf = (r: RunRecord): number | "default" => (typeof r.config["lr"] === "number" ? r.config["lr"] : "default");

function stepsOf(r: RunRecord): number {
  const s = r.config["steps"];
  if (typeof s !== "number")
    throw new Error(`budget study: run ${r.cellId} (${r.method} on ${r.task}) has no numeric config.steps`);
  return s;
}

function groupBy<T>(items: readonly T[], key: (t: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const t of items) {
    const k = key(t);
    const list = out.get(k);
    if (list) list.push(t);
    else out.set(k, [t]);
  }
  return out;
}

/** The dev-best learning rate of every (backbone, method, budget), sorted by backbone, method and budget. */
export function chooseLearningRates(records: readonly RunRecord[], options: BudgetStudyOptions = {}): BudgetChoice[] {
  const metric = options.metric ?? "accuracy";
  const withDev = records.filter((r) => r.devMetrics !== null);
  const groups = groupBy(withDev, (r) => JSON.stringify([r.backbone.name, r.method, stepsOf(r)]));
  const out: BudgetChoice[] = [];
  for (const runs of groups.values()) {
    const first = runs[0]!;
    const byLr = groupBy(runs, (r) => String(lrOf(r)));
    const candidates: LrCandidate[] = [...byLr.values()]
      .map((rs) => ({ lr: lrOf(rs[0]!), devMean: mean(rs.map((r) => r.devMetrics![metric])), runs: rs.length }))
      .sort((a, b) => b.devMean - a.devMean);
    const counts = new Set(candidates.map((c) => c.runs));
    if (counts.size > 1)
      throw new Error(
        `budget study: ${first.method} at ${stepsOf(first)} steps on ${first.backbone.name} has unequal runs per learning rate ` +
          `(${candidates.map((c) => `lr ${c.lr}: ${c.runs}`).join(", ")}); finish the grid before choosing`,
      );
    out.push({
      backbone: first.backbone.name,
      method: first.method,
      steps: stepsOf(first),
      lr: candidates[0]!.lr,
      devMean: candidates[0]!.devMean,
      candidates,
    });
  }
  return out.sort(
    (a, b) => a.backbone.localeCompare(b.backbone) || a.method.localeCompare(b.method) || a.steps - b.steps,
  );
}

/** Per (backbone, method): the budget (with its chosen learning rate) best on dev, the smaller one within tolerance. */
export function recommendBudgets(choices: readonly BudgetChoice[], options: BudgetStudyOptions = {}): BudgetChoice[] {
  const tolerance = options.tolerance ?? 0.005;
  const out: BudgetChoice[] = [];
  for (const list of groupBy(choices, (c) => JSON.stringify([c.backbone, c.method])).values()) {
    const best = Math.max(...list.map((c) => c.devMean));
    const within = list.filter((c) => c.devMean >= best - tolerance).sort((a, b) => a.steps - b.steps);
    out.push(within[0]!);
  }
  return out.sort((a, b) => a.backbone.localeCompare(b.backbone) || a.method.localeCompare(b.method));
}

/** The runs of a choice: its backbone, method, budget and learning rate (every task and seed). */
export function runsOfChoice(records: readonly RunRecord[], c: BudgetChoice): RunRecord[] {
  return records.filter(
    (r) =>
      r.backbone.name === c.backbone &&
      r.method === c.method &&
      r.devMetrics !== null &&
      stepsOf(r) === c.steps &&
      lrOf(r) === c.lr,
  );
}

/** What a longer budget bought over the next shorter one: paired differences over the runs both budgets share. */
export interface BudgetGain {
  readonly backbone: string;
  readonly method: string;
  readonly from: number;
  readonly to: number;
  /** dev and test metric at `to` minus at `from`, paired by task and seed (mean, std, 95% bootstrap CI). */
  readonly dev: Summary;
  readonly test: Summary;
}

/** Runs of two budgets pair up when they share task and seed. */
const pairKey = (r: RunRecord): string => JSON.stringify([r.task, r.seed]);

/**
 * Per (backbone, method), the gain of each budget over the next shorter one, each at its chosen learning rate
 * (chooseLearningRates), paired by task and seed. This is reporting, not choosing: it shows whether a dev gain
 * carries over to test.
 */
export function budgetGains(records: readonly RunRecord[], options: BudgetStudyOptions = {}): BudgetGain[] {
  const metric = options.metric ?? "accuracy";
  const choices = chooseLearningRates(records, options);
  const out: BudgetGain[] = [];
  for (const list of groupBy(choices, (c) => JSON.stringify([c.backbone, c.method])).values()) {
    for (let i = 1; i < list.length; i++) {
      const [a, b] = [list[i - 1]!, list[i]!];
      const byKey = new Map(runsOfChoice(records, a).map((r) => [pairKey(r), r]));
      const pairs = runsOfChoice(records, b).flatMap((r) => {
        const earlier = byKey.get(pairKey(r));
        return earlier === undefined ? [] : [[earlier, r] as const];
      });
      if (pairs.length === 0) continue;
      out.push({
        backbone: a.backbone,
        method: a.method,
        from: a.steps,
        to: b.steps,
        dev: pairedDifference(
          pairs.map(([, r]) => r.devMetrics![metric]),
          pairs.map(([r]) => r.devMetrics![metric]),
        ),
        test: pairedDifference(
          pairs.map(([, r]) => r.metrics[metric]),
          pairs.map(([r]) => r.metrics[metric]),
        ),
      });
    }
  }
  return out;
}
