/**
 * A task ready for a model: data + template + verbalizer bound to a tokenizer. Items are rendered lazily per
 * split and cached.
 */
import type { InputSequence } from "../prompt/sequence";
import type { Tokenizer } from "../tokenizer/tokenizer";
import type { Example, TaskData } from "./data/example";
import { TaskSpec, TASK_SPECS, defaultSpec } from "./task-specs";
import { Template, truncationPolicy } from "./template";
import { Verbalizer } from "./verbalizer";

export type Split = "train" | "dev" | "test";

export interface TaskItem {
  readonly seq: InputSequence;
  /** index of the gold label in task.labels. */
  readonly gold: number;
  readonly example: Example;
  /** whether a field of the example was cut to the template's maxFieldTokens. */
  readonly truncated: boolean;
}

/** How many examples the template's truncation cut, per split: what a run record holds. */
export interface TruncationCount {
  /** the policy in words, e.g. "each field longer than 64 tokens is cut at the end (its first 64 tokens are kept)". */
  readonly policy: string;
  readonly maxFieldTokens: number;
  /** examples counted, per split. */
  readonly examples: Readonly<Record<Split, number>>;
  /** of those, examples with at least one field cut. */
  readonly truncated: Readonly<Record<Split, number>>;
}

/** Number of items with a cut field (e.g. of the test items a run actually evaluated). */
export function countTruncated(items: readonly TaskItem[]): number {
  let n = 0;
  for (const it of items) if (it.truncated) n++;
  return n;
}

/** Content-free inputs for calibration (Zhao et al. 2021, section 5). */
export const CONTENT_FREE_TEXTS: readonly string[] = Object.freeze(["N/A", "[MASK]", ""]);

export class PreparedTask {
  readonly data: TaskData;
  readonly template: Template;
  readonly verbalizer: Verbalizer;
  private readonly cache = new Map<Split, TaskItem[]>();
  private readonly tokenizer: Tokenizer;

  constructor(
    data: TaskData,
    tokenizer: Tokenizer,
    spec: TaskSpec = TASK_SPECS[data.name] ??
      defaultSpec(
        data.labels,
        data.train.some((e) => e.textB !== undefined),
      ),
  ) {
    this.data = data;
    this.tokenizer = tokenizer;
    this.template = new Template(spec.template, tokenizer);
    this.verbalizer = new Verbalizer(data.labels, spec.verbalizer, tokenizer);
  }

  get name(): string {
    return this.data.name;
  }

  get labels(): readonly string[] {
    return this.data.labels;
  }

  items(split: Split): TaskItem[] {
    let items = this.cache.get(split);
    if (!items) {
      items = this.data[split].map((example) => {
        const gold = this.data.labels.indexOf(example.label);
        if (gold < 0)
          throw new Error(`example ${example.id}: label '${example.label}' not in ${this.data.labels.join(", ")}`);
        const { seq, truncated } = this.template.renderInfo(example);
        return { seq, gold, example, truncated };
      });
      this.cache.set(split, items);
    }
    return items;
  }

  /** Truncated examples per split (renders every split once; the renders are cached for items()). */
  truncation(): TruncationCount {
    const splits: Split[] = ["train", "dev", "test"];
    const examples = {} as Record<Split, number>;
    const truncated = {} as Record<Split, number>;
    for (const s of splits) {
      const items = this.items(s);
      examples[s] = items.length;
      truncated[s] = countTruncated(items);
    }
    return {
      policy: truncationPolicy(this.template.spec),
      maxFieldTokens: this.template.spec.maxFieldTokens,
      examples,
      truncated,
    };
  }

  /**
   * Per example of a split: its label and the token count of each field before truncation (textB: 0 for
   * single-text tasks), e.g. for a table or histogram of lengths against the template's maxFieldTokens.
   */
  fieldTokenLengths(split: Split): Array<{ label: string; text: number; textB: number }> {
    return this.data[split].map((e) => ({
      label: e.label,
      text: this.tokenizer.encode(e.text.trim()).length,
      textB: e.textB === undefined ? 0 : this.tokenizer.encode(e.textB.trim()).length,
    }));
  }

  /**
   * The template filled with content-free text (every field "N/A", "[MASK]" or empty: Zhao et al. 2021's choice),
   * for contextual calibration (the calibrated-zero-shot method): what the model predicts from the template alone.
   */
  contentFreeSequences(): InputSequence[] {
    return CONTENT_FREE_TEXTS.map((text, i) =>
      this.template.render({ id: `content-free:${i}`, text, textB: text, label: this.data.labels[0]! }),
    );
  }

  /** Token ids of a text sample of the training split, for frequency-based prompt initialisation. */
  trainingTokenIds(tokenizer: Tokenizer, maxExamples = 500): number[] {
    return this.data.train
      .slice(0, maxExamples)
      .flatMap((e) => tokenizer.encode(e.text + (e.textB ? " " + e.textB : "")));
  }
}
