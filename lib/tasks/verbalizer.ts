/**
 * Verbalizers: the output side of a task. Each label maps to one or more label words; a label's score is the
 * log of the total probability the model gives its words as the continuation of the input (rank
 * classification), so no new output head is needed and zero-shot classification works out of the box.
 */
import type { Tokenizer } from "../tokenizer/tokenizer";

export type VerbalizerSpec = Readonly<Record<string, readonly string[]>>;

export class Verbalizer {
  readonly labels: readonly string[];
  readonly words: readonly (readonly string[])[];
  /** [label][word][tokens] */
  readonly tokenIds: readonly (readonly (readonly number[])[])[];

  constructor(labels: readonly string[], spec: VerbalizerSpec, tokenizer: Tokenizer) {
    const extra = Object.keys(spec).filter((k) => !labels.includes(k));
    if (extra.length > 0)
      throw new Error(`verbalizer names unknown label(s) ${extra.join(", ")}; task labels are ${labels.join(", ")}`);
    this.labels = labels;
    this.words = labels.map((l) => {
      const w = spec[l];
      if (!w || w.length === 0) throw new Error(`verbalizer has no words for label '${l}'`);
      return w;
    });
    this.tokenIds = this.words.map((ws, c) =>
      ws.map((w) => {
        const ids = tokenizer.encode(w);
        if (ids.length === 0) throw new Error(`label word ${JSON.stringify(w)} of '${labels[c]}' encodes to no tokens`);
        return ids;
      }),
    );
  }

  /** Mean token ids per label's first word (for class-label prompt initialisation). */
  firstWordIds(): number[][] {
    return this.tokenIds.map((ws) => [...ws[0]!]);
  }
}
