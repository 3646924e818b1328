/**
 * Paired method gaps, e.g. prompt tuning minus full fine-tuning, over matched seeds.
 *
 * For every (backbone, task) and every setting of method A's varying options (e.g. each prompt
 * length), A's run with seed s is paired with B's run on the same backbone, task and seed, and
 * metric(A) - metric(B) is summarised with lib/eval/stats.ts `pairedDifference`. Seeds present for
 * only one side are left out (counted in `unpaired`). B must have exactly one run per
 * (backbone, task, seed) after `bWhere` filtering; otherwise the pairing is ambiguous and throws. Runs pair only
 * when they used the same backbone weights (record.backbone.fingerprint): a gap never compares two models.
 */
import { seedFromString } from "../backend/random";
import { pairedDifference, type BootstrapOptions, type Summary } from "../eval/stats";
import { canonicalJson } from "./cell-id";
import type { RunRecord } from "./record";
import { compareValues, varyingOptionKeys, type MetricName } from "./summary";

export interface MethodGapOptions {
  /** Method whose metric is the minuend, e.g. "prompt". */
  a: string;
  /** Method subtracted, e.g. "finetune". */
  b: string;
  metric: MetricName;
  /** Only A runs whose config has these values. */
  aWhere?: Record<string, unknown>;
  /** Only B runs whose config has these values. */
  bWhere?: Record<string, unknown>;
  /** Mixed into the bootstrap seeds (default 0). */
  seed?: number;
  bootstrap?: Omit<BootstrapOptions, "seed">;
}

export interface MethodGapRow extends Summary {
  backbone: string;
  task: string;
  /** A's varying option values for this row. */
  options: Record<string, unknown>;
  /** Seeds that were paired. */
  seeds: number[];
  /** A or B runs of this (backbone, task) with no partner seed. */
  unpaired: number;
}

/** One row per (backbone, task, A option setting) with at least one paired seed. */
export function methodGaps(records: readonly RunRecord[], options: MethodGapOptions): MethodGapRow[] {
  const { a, b, metric } = options;
  if (a === b) throw new Error(`methodGaps: a and b are the same method ${JSON.stringify(a)}`);
  if (!["accuracy", "macroF1", "mcc"].includes(metric))
    throw new Error(`methodGaps: unknown metric ${JSON.stringify(metric)}`);
  const aRuns = records.filter((r) => r.method === a && matches(r, options.aWhere));
  const bRuns = records.filter((r) => r.method === b && matches(r, options.bWhere));
  if (aRuns.length === 0)
    throw new Error(
      `methodGaps: no runs of method ${JSON.stringify(a)}${options.aWhere ? ` matching ${canonicalJson(options.aWhere)}` : ""}`,
    );
  if (bRuns.length === 0)
    throw new Error(
      `methodGaps: no runs of method ${JSON.stringify(b)}${options.bWhere ? ` matching ${canonicalJson(options.bWhere)}` : ""}`,
    );

  const bByKey = new Map<string, RunRecord>();
  for (const r of bRuns) {
    const key = canonicalJson([r.backbone.name, r.backbone.fingerprint, r.task, r.seed]);
    const prev = bByKey.get(key);
    if (prev && prev.cellId !== r.cellId) {
      throw new Error(
        `methodGaps: method ${JSON.stringify(b)} has several runs for ${r.backbone.name}/${r.task} seed ${r.seed} (configs ${canonicalJson(prev.config)} and ${canonicalJson(r.config)}); narrow them with bWhere`,
      );
    }
    bByKey.set(key, r);
  }

  const optionKeys = varyingOptionKeys(aRuns);
  const groups = new Map<string, RunRecord[]>();
  for (const r of aRuns) {
    const key = canonicalJson([
      r.backbone.name,
      r.task,
      ...optionKeys.map((k) => (r.config[k] === undefined ? null : r.config[k])),
    ]);
    const list = groups.get(key) ?? [];
    if (!list.some((x) => x.cellId === r.cellId)) list.push(r);
    groups.set(key, list);
  }

  const rows: MethodGapRow[] = [];
  for (const [key, group] of groups) {
    const first = group[0]!;
    const pairs = group
      .map((r) => ({
        r,
        partner: bByKey.get(canonicalJson([r.backbone.name, r.backbone.fingerprint, r.task, r.seed])),
      }))
      .filter((p): p is { r: RunRecord; partner: RunRecord } => p.partner !== undefined)
      .sort((x, y) => x.r.seed - y.r.seed);
    const bSameTask = bRuns.filter((r) => r.backbone.name === first.backbone.name && r.task === first.task);
    const pairedSeeds = new Set(pairs.map((p) => p.r.seed));
    const unpaired = group.length - pairs.length + bSameTask.filter((r) => !pairedSeeds.has(r.seed)).length;
    if (pairs.length === 0) continue;
    const s = pairedDifference(
      pairs.map((p) => p.r.metrics[metric]),
      pairs.map((p) => p.partner.metrics[metric]),
      seedFromString(`${key}|${a}-${b}|${metric}|${options.seed ?? 0}`),
      options.bootstrap,
    );
    const opts: Record<string, unknown> = {};
    for (const k of optionKeys) opts[k] = first.config[k];
    rows.push({
      ...s,
      backbone: first.backbone.name,
      task: first.task,
      options: opts,
      seeds: pairs.map((p) => p.r.seed),
      unpaired,
    });
  }
  const byText = (x: string, y: string): number => (x < y ? -1 : x > y ? 1 : 0);
  return rows.sort((x, y) => {
    let c = byText(x.backbone, y.backbone) || byText(x.task, y.task);
    for (const k of optionKeys) c = c || compareValues(x.options[k], y.options[k]);
    return c;
  });
}

function matches(r: RunRecord, where: Record<string, unknown> | undefined): boolean {
  if (!where) return true;
  return Object.entries(where).every(
    ([k, v]) => r.config[k] !== undefined && canonicalJson(r.config[k]) === canonicalJson(v),
  );
}
