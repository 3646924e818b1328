/**
 * A task ready for a model: data + template + verbalizer bound to a tokenizer. Items are rendered lazily per
 * split and cached.
 */
import type { InputSequence } from "../prompt/sequence";
import type { Tokenizer } from "../tokenizer/tokenizer";
import type { Example, TaskData } from "./data/example";
import { TaskSpec, TASK_SPECS, defaultSpec } from "./task-specs";
import { Template } from "./template";
import { Verbalizer } from "./verbalizer";

export type Split = "train" | "dev" | "test";

export interface TaskItem {
  readonly seq: InputSequence;
  /** index of the gold label in task.labels. */
  readonly gold: number;
  readonly example: Example;
}

export class PreparedTask {
  readonly data: TaskData;
  readonly template: Template;
  readonly verbalizer: Verbalizer;
  private readonly cache = new Map<Split, TaskItem[]>();

  constructor(data: TaskData, tokenizer: Tokenizer, spec: TaskSpec = TASK_SPECS[data.name] ?? defaultSpec(data.labels, data.train.some((e) => e.textB !== undefined))) {
    this.data = data;
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
        if (gold < 0) throw new Error(`example ${example.id}: label '${example.label}' not in ${this.data.labels.join(", ")}`);
        return { seq: this.template.render(example), gold, example };
      });
      this.cache.set(split, items);
    }
    return items;
  }

  /** Token ids of a text sample of the training split, for frequency-based prompt initialisation. */
  trainingTokenIds(tokenizer: Tokenizer, maxExamples = 500): number[] {
    return this.data.train.slice(0, maxExamples).flatMap((e) => tokenizer.encode(e.text + (e.textB ? " " + e.textB : "")));
  }
}
