/**
 * Class balance of a labelled split, and the sentence a report prints when it matters.
 *
 * With imbalanced classes accuracy flatters a model that favours the large class: always predicting the majority
 * class already scores its share. Reports then put macro-F1 (every class weighs the same) and MCC (0 for any
 * constant prediction) next to accuracy, and say why.
 *
 * Convention: a split is "imbalanced" when its largest class has at least `ratio` (default 1.5) times as many
 * examples as its smallest, i.e. the majority baseline of a 2-class task is 60% or more. A class with no examples
 * in the split makes it imbalanced too (and is named). Pure function over counts.
 */

/** Counts per label, e.g. describeTask(task).splits.test. */
export type LabelCounts = Readonly<Record<string, number>>;

export interface ClassBalance {
  readonly total: number;
  readonly classes: number;
  /** label with the most examples (first in the given order on ties) and its share of the total. */
  readonly largest: { readonly label: string; readonly count: number; readonly share: number };
  /** label with the fewest examples and its share. */
  readonly smallest: { readonly label: string; readonly count: number; readonly share: number };
  /** largest / smallest count (Infinity when a class is empty). */
  readonly ratio: number;
  /** accuracy of always predicting the largest class (= largest.share). */
  readonly majorityBaseline: number;
  readonly imbalanced: boolean;
  /** labels with no examples in this split. */
  readonly empty: readonly string[];
}

export const IMBALANCE_RATIO = 1.5;

/** Class balance of `counts` (at least 2 labels, non-negative integer counts, a positive total). */
export function classBalance(counts: LabelCounts, options: { ratio?: number } = {}): ClassBalance {
  const threshold = options.ratio ?? IMBALANCE_RATIO;
  if (typeof threshold !== "number" || !Number.isFinite(threshold) || threshold < 1) {
    throw new Error(`classBalance: option ratio must be a number >= 1, got ${String(threshold)}`);
  }
  if (counts === null || typeof counts !== "object" || Array.isArray(counts)) {
    throw new Error(`classBalance: counts must be an object { label: count }, got ${JSON.stringify(counts)}`);
  }
  const entries = Object.entries(counts);
  if (entries.length < 2)
    throw new Error(`classBalance: need at least 2 labels, got ${entries.length} (${JSON.stringify(counts)})`);
  for (const [label, n] of entries) {
    if (typeof n !== "number" || !Number.isInteger(n) || n < 0) {
      throw new Error(
        `classBalance: count of label ${JSON.stringify(label)} must be a non-negative integer, got ${JSON.stringify(n)}`,
      );
    }
  }
  const total = entries.reduce((s, [, n]) => s + n, 0);
  if (total === 0) throw new Error(`classBalance: every count is 0 (${JSON.stringify(counts)})`);
  let big = entries[0]!;
  let small = entries[0]!;
  for (const e of entries) {
    if (e[1] > big[1]) big = e;
    if (e[1] < small[1]) small = e;
  }
  const ratio = small[1] === 0 ? Infinity : big[1] / small[1];
  const empty = entries.filter(([, n]) => n === 0).map(([l]) => l);
  return Object.freeze({
    total,
    classes: entries.length,
    largest: Object.freeze({ label: big[0], count: big[1], share: big[1] / total }),
    smallest: Object.freeze({ label: small[0], count: small[1], share: small[1] / total }),
    ratio,
    majorityBaseline: big[1] / total,
    imbalanced: ratio >= threshold,
    empty: Object.freeze(empty),
  });
}

const pct = (x: number): string => `${(100 * x).toFixed(x < 0.1 ? 1 : 0)}%`;

/**
 * The report's sentence about class balance, or null when the classes are balanced. `what` names the split,
 * e.g. 'The test split of "party"'.
 */
export function imbalanceStatement(
  counts: LabelCounts,
  what = "The test split",
  options: { ratio?: number } = {},
): string | null {
  const b = classBalance(counts, options);
  if (!b.imbalanced) return null;
  const ratio = Number.isFinite(b.ratio)
    ? `${b.ratio >= 10 ? b.ratio.toFixed(0) : b.ratio.toFixed(1)}:1`
    : "unbounded: a class is empty";
  const emptyNote =
    b.empty.length > 0
      ? ` It has no examples of ${b.empty.map((l) => JSON.stringify(l)).join(", ")}, so those classes are not tested.`
      : "";
  return (
    `${what} is imbalanced: ${JSON.stringify(b.largest.label)} has ${b.largest.count} of ${b.total} examples (${pct(b.largest.share)}), ` +
    `${JSON.stringify(b.smallest.label)} ${b.smallest.count} (${pct(b.smallest.share)}); ratio ${ratio}. ` +
    `Always predicting ${JSON.stringify(b.largest.label)} scores ${pct(b.majorityBaseline)} accuracy, so compare methods by macro-F1 and MCC ` +
    `(MCC is 0 for any constant prediction).${emptyNote}`
  );
}
