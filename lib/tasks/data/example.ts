/**
 * The data model shared by every classification task: labelled examples (one text, or a pair of
 * texts) and a task = label set + train/dev/test splits + where the data came from.
 *
 * Examples carry raw human-readable text only; turning them into model inputs (templates,
 * verbalizers, tokenisation) happens elsewhere.
 */

/** One labelled example. `textB` is present only for two-segment (pair) tasks. */
export interface Example {
  /** Stable id, unique within a task (e.g. "imdb:0042", "spam-2/00017", "orders.csv:12"). */
  readonly id: string;
  /** First (or only) text segment, non-empty. */
  readonly text: string;
  /** Second segment of a pair task, e.g. the second word of a word pair. */
  readonly textB?: string;
  /** Class label; always one of the task's `labels`. */
  readonly label: string;
}

/** Provenance recorded with every task, so results can cite exactly what they were trained on. */
export interface TaskSourceInfo {
  /** npm package (or "file" for user files) the raw data came from. */
  readonly package: string;
  /** Exact package version (or a content hash for user files). */
  readonly version: string;
  /** Licence of the data itself (not of the wrapping package's code). */
  readonly licence: string;
  /** Citation, derivation and cleaning summary, plus counts dropped during loading. */
  readonly note: string;
}

/** A loaded task: every example sits in exactly one of train/dev/test. */
export interface TaskData {
  /** Task name, e.g. "yelp". */
  readonly name: string;
  /** Label set in a fixed, documented order (the verbalizer side relies on it). */
  readonly labels: readonly string[];
  readonly train: readonly Example[];
  readonly dev: readonly Example[];
  readonly test: readonly Example[];
  readonly source: TaskSourceInfo;
}

/** Number of examples per label in `examples`, in the order of `labels` (unknown labels are an error). */
export function countByLabel(examples: readonly Example[], labels: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const label of labels) counts[label] = 0;
  for (const ex of examples) {
    if (!(ex.label in counts)) {
      throw new Error(`example ${ex.id}: label "${ex.label}" is not one of [${labels.join(", ")}]`);
    }
    counts[ex.label]! += 1;
  }
  return counts;
}

/** Per-split, per-label counts of a task, e.g. for documentation tables. */
export function describeTask(task: TaskData): {
  name: string;
  total: number;
  perLabel: Record<string, number>;
  splits: Record<"train" | "dev" | "test", Record<string, number>>;
} {
  const all = [...task.train, ...task.dev, ...task.test];
  return {
    name: task.name,
    total: all.length,
    perLabel: countByLabel(all, task.labels),
    splits: {
      train: countByLabel(task.train, task.labels),
      dev: countByLabel(task.dev, task.labels),
      test: countByLabel(task.test, task.labels),
    },
  };
}

// The splitter belongs to the data model's public surface; it lives in its own file.
export { splitExamples, DEFAULT_SPLIT_OPTIONS, type SplitOptions, type SplitResult } from "./split";
