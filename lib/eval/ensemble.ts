/**
 * Combining a prompt ensemble's class scores and comparing it with its members (Lester et al. 2021 §7). Pure
 * functions over plain arrays: scores are [N members][B examples][C labels] of rank-classification log-scores.
 *
 * - mean log-probability: each member's scores are normalised over the labels (log-softmax), averaged over the
 *   members, and the best label wins;
 * - majority vote: each member votes for its best label; a tie between labels is broken by the mean
 *   log-probability of the tied labels (then by the lower label index), so the vote is deterministic.
 *
 * The comparison is paired over test examples: for each example, ensemble correct (0/1) minus member correct,
 * summarised with lib/eval/stats' pairedDifference (mean gap in accuracy and a bootstrap CI over examples).
 */
import { pairedDifference, type Summary } from "./stats";

export const ENSEMBLE_RULES = ["mean-logprob", "majority-vote"] as const;
export type EnsembleRule = (typeof ENSEMBLE_RULES)[number];

function checkScores(scores: readonly (readonly (readonly number[])[])[]): { n: number; b: number; c: number } {
  const n = scores.length;
  if (n === 0) throw new Error("ensemble: no member scores");
  const b = scores[0]!.length;
  const c = scores[0]![0]?.length ?? 0;
  scores.forEach((m, i) => {
    if (m.length !== b) throw new Error(`ensemble: member ${i} scored ${m.length} examples, member 0 scored ${b}`);
    m.forEach((row, j) => {
      if (row.length !== c)
        throw new Error(`ensemble: member ${i} example ${j} has ${row.length} label scores, expected ${c}`);
    });
  });
  return { n, b, c };
}

function logSoftmax(row: readonly number[]): number[] {
  const m = Math.max(...row);
  const z = Math.log(row.reduce((s, v) => s + Math.exp(v - m), 0)) + m;
  return row.map((v) => v - z);
}

function argmax(row: readonly number[]): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i]! > row[best]!) best = i;
  return best;
}

/** [B][C] mean over members of the label-normalised log-probabilities. */
export function meanLogProbs(scores: readonly (readonly (readonly number[])[])[]): number[][] {
  const { n, b, c } = checkScores(scores);
  const out = Array.from({ length: b }, () => new Array<number>(c).fill(0));
  for (const member of scores) {
    member.forEach((row, j) => logSoftmax(row).forEach((v, k) => (out[j]![k]! += v / n)));
  }
  return out;
}

/** Each member's predicted label per example: [N][B]. */
export function memberPredictions(scores: readonly (readonly (readonly number[])[])[]): number[][] {
  checkScores(scores);
  return scores.map((m) => m.map(argmax));
}

/** The ensemble's predicted label per example under `rule`. */
export function ensemblePredict(scores: readonly (readonly (readonly number[])[])[], rule: EnsembleRule): number[] {
  const mean = meanLogProbs(scores);
  if (rule === "mean-logprob") return mean.map(argmax);
  if (rule !== "majority-vote")
    throw new Error(`ensemble rule must be one of ${ENSEMBLE_RULES.join(", ")}, got ${JSON.stringify(rule)}`);
  const votes = memberPredictions(scores);
  return mean.map((row, j) => {
    const count = new Array<number>(row.length).fill(0);
    for (const m of votes) count[m[j]!]! += 1;
    const top = Math.max(...count);
    let best = -1;
    for (let k = 0; k < row.length; k++) if (count[k] === top && (best < 0 || row[k]! > row[best]!)) best = k;
    return best;
  });
}

export interface EnsembleComparison {
  readonly rule: EnsembleRule;
  readonly ensembleAccuracy: number;
  readonly memberAccuracy: number[];
  /** index of the member with the highest accuracy on these examples (an oracle choice: the hardest baseline). */
  readonly bestMember: number;
  /** ensemble minus each member, paired over examples: mean accuracy gap with a 95% bootstrap CI. */
  readonly vsMember: Summary[];
  readonly vsBest: Summary;
  /** ensemble minus the members' mean accuracy. */
  readonly vsMeanMember: number;
}

/** Accuracy of the ensemble and of each member on `gold`, with paired gaps (bootstrap over examples, seeded). */
export function compareEnsemble(
  scores: readonly (readonly (readonly number[])[])[],
  gold: readonly number[],
  rule: EnsembleRule,
  seed = 0,
): EnsembleComparison {
  const { b } = checkScores(scores);
  if (gold.length !== b) throw new Error(`ensemble: ${gold.length} gold labels for ${b} scored examples`);
  const correct = (pred: readonly number[]) => Float64Array.from(pred, (p, j) => (p === gold[j] ? 1 : 0));
  const acc = (c: Float64Array) => c.reduce((s, v) => s + v, 0) / c.length;
  const ens = correct(ensemblePredict(scores, rule));
  const members = memberPredictions(scores).map(correct);
  const memberAccuracy = members.map(acc);
  const bestMember = argmax(memberAccuracy);
  const vsMember = members.map((m) => pairedDifference(ens, m, seed));
  return {
    rule,
    ensembleAccuracy: acc(ens),
    memberAccuracy,
    bestMember,
    vsMember,
    vsBest: vsMember[bestMember]!,
    vsMeanMember: acc(ens) - memberAccuracy.reduce((s, v) => s + v, 0) / memberAccuracy.length,
  };
}
