/**
 * Input templates: the input side of a task (OpenPrompt's Template). A pattern mixes literal text, the example's
 * fields and soft-prompt slots, e.g.
 *
 *   "<front>{text} It was<back>"               (single segment; the label word follows)
 *   "<front>{text}<middle> and {textB} mean the<back>"   (pair task: <middle> sits between the segments)
 *
 * Slots not used by the current prompt configuration vanish. Every sequence starts with <eos>, the token that
 * preceded every document during pre-training.
 *
 * Answer position: the label word is scored as the continuation of the whole template, so the template must
 * end in a cue that the answer can follow (" It was", " Label:"), not in a field: "{text}" alone or
 * "<front>{text}<back>" would make the label word continue the user's text. `{answer}` may mark that end
 * explicitly; nothing may follow it.
 *
 * Truncation policy (stated by the template): every field is cut to `maxFieldTokens` tokens; `truncate: "end"`
 * (the default) keeps the first tokens, `"start"` keeps the last ones. `renderInfo` says whether an example
 * was cut, so runs can count (and records hold) how many were.
 */
import type { Example } from "./data/example";
import type { InputSequence, Piece } from "../prompt/sequence";
import { PROMPT_SLOTS, PromptSlot } from "../prompt/positions";
import type { Tokenizer } from "../tokenizer/tokenizer";

export interface TemplateSpec {
  readonly pattern: string;
  /** longest token count kept from each field. */
  readonly maxFieldTokens: number;
  /** which end of a too-long field is cut: "end" (default; keep the first tokens) or "start" (keep the last). */
  readonly truncate?: TruncateSide;
}

export const TRUNCATE_SIDES = Object.freeze(["end", "start"] as const);
export type TruncateSide = (typeof TRUNCATE_SIDES)[number];

/** The truncation policy of a template in words, for records and reports. */
export function truncationPolicy(spec: Pick<TemplateSpec, "maxFieldTokens" | "truncate">): string {
  const n = spec.maxFieldTokens;
  return (spec.truncate ?? "end") === "end"
    ? `each field longer than ${n} tokens is cut at the end (its first ${n} tokens are kept)`
    : `each field longer than ${n} tokens is cut at the start (its last ${n} tokens are kept)`;
}

type Part =
  | { kind: "literal"; text: string }
  | { kind: "field"; field: "text" | "textB"; leadingSpace: boolean }
  | { kind: "slot"; slot: PromptSlot };

const TOKEN = /<(front|middle|back)>|\{(text|textB|answer)\}/g;
const PLACEHOLDER = /\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/** Long on purpose: one left-to-right scan of the template that tracks the position of every placeholder, so each error can quote where it is. */
export function parsePattern(pattern: string): Part[] {
  if (typeof pattern !== "string")
    throw new Error(
      `template must be a string pattern such as "<front>{text} It was<back>", got ${JSON.stringify(pattern) ?? String(pattern)}`,
    );
  const q = JSON.stringify(pattern);
  for (const m of pattern.matchAll(PLACEHOLDER)) {
    if (!["text", "textB", "answer"].includes(m[1]!)) {
      throw new Error(
        `template ${q} has an unknown placeholder {${m[1]}}; the known ones are {text}, {textB} and {answer}`,
      );
    }
  }
  const answers = [...pattern.matchAll(/\{answer\}/g)];
  if (answers.length > 1) throw new Error(`template ${q} has {answer} more than once`);
  if (answers.length === 1 && pattern.slice(answers[0]!.index! + "{answer}".length) !== "") {
    throw new Error(
      `template ${q}: nothing may follow {answer} (the label word is scored right after it), got ${JSON.stringify(pattern.slice(answers[0]!.index! + 8))}; ` +
        `put <back> before {answer}`,
    );
  }
  const body = answers.length === 1 ? pattern.slice(0, answers[0]!.index!) : pattern;
  const parts: Part[] = [];
  let last = 0;
  for (const m of body.matchAll(TOKEN)) {
    if (m.index! > last) parts.push({ kind: "literal", text: body.slice(last, m.index) });
    if (m[1]) parts.push({ kind: "slot", slot: m[1] as PromptSlot });
    else parts.push({ kind: "field", field: m[2] as "text" | "textB", leadingSpace: false });
    last = m.index! + m[0].length;
  }
  if (last < body.length) parts.push({ kind: "literal", text: body.slice(last) });
  // The answer needs a cue: some literal text after the last field.
  const lastField = parts.map((p) => p.kind).lastIndexOf("field");
  if (lastField >= 0 && !parts.slice(lastField + 1).some((p) => p.kind === "literal" && p.text.trim() !== "")) {
    const f = parts[lastField] as { field: string };
    throw new Error(
      `template ${q} has no answer position: the label word is scored right after the template, which here ends with the field {${f.field}}, ` +
        `so the answer would just continue the text. End the template with a cue, e.g. "<front>{text} It was<back>" or "{text} Label:{answer}"`,
    );
  }
  // Byte-level BPE attaches a word's leading space to the word: a field that follows text is encoded as
  // " value" and the literal before it loses its trailing space, so " and {textB}" gives [" and", " word"].
  let textBefore = false;
  parts.forEach((p, i) => {
    if (p.kind === "field") {
      p.leadingSpace = textBefore;
      textBefore = true;
    } else if (p.kind === "literal") {
      const next = parts.slice(i + 1).find((q) => q.kind !== "slot");
      if (next?.kind === "field") p.text = p.text.trimEnd();
      if (p.text.trim() !== "") textBefore = true;
    }
  });
  const kept = parts.filter((p) => p.kind !== "literal" || p.text !== "");
  parts.length = 0;
  parts.push(...kept);
  if (!parts.some((p) => p.kind === "field" && p.field === "text")) {
    throw new Error(`template ${JSON.stringify(pattern)} has no {text} field`);
  }
  for (const s of PROMPT_SLOTS) {
    if (parts.filter((p) => p.kind === "slot" && p.slot === s).length > 1) {
      throw new Error(`template ${JSON.stringify(pattern)} has <${s}> more than once`);
    }
  }
  return parts;
}

export class Template {
  readonly spec: TemplateSpec;
  private readonly parts: Part[];
  private readonly tokenizer: Tokenizer;
  private readonly literalIds = new Map<string, number[]>();

  constructor(spec: TemplateSpec, tokenizer: Tokenizer) {
    if (!Number.isInteger(spec.maxFieldTokens) || spec.maxFieldTokens < 1) {
      throw new Error(`template maxFieldTokens must be a positive integer, got ${spec.maxFieldTokens}`);
    }
    if (spec.truncate !== undefined && !(TRUNCATE_SIDES as readonly string[]).includes(spec.truncate)) {
      throw new Error(
        `template truncate must be one of ${TRUNCATE_SIDES.join(", ")}, got ${JSON.stringify(spec.truncate)}`,
      );
    }
    this.spec = spec;
    this.parts = parsePattern(spec.pattern);
    this.tokenizer = tokenizer;
  }

  /** Slots this template offers. */
  slots(): PromptSlot[] {
    return this.parts.flatMap((p) => (p.kind === "slot" ? [p.slot] : []));
  }

  /** Whether the template uses the second segment. */
  get isPair(): boolean {
    return this.parts.some((p) => p.kind === "field" && p.field === "textB");
  }

  render(example: Example): InputSequence {
    return this.renderInfo(example).seq;
  }

  /** The rendered sequence, and whether any field was cut to maxFieldTokens (see truncationPolicy). */
  renderInfo(example: Example): { seq: InputSequence; truncated: boolean } {
    const pieces: Piece[] = [{ kind: "tokens", ids: [this.tokenizer.eosId] }];
    const n = this.spec.maxFieldTokens;
    let truncated = false;
    for (const part of this.parts) {
      if (part.kind === "slot") pieces.push({ kind: "slot", slot: part.slot });
      else if (part.kind === "literal") pieces.push({ kind: "tokens", ids: this.literal(part.text) });
      else {
        const value = part.field === "text" ? example.text : example.textB;
        if (value === undefined)
          throw new Error(`example ${example.id}: template needs field '${part.field}', which is missing`);
        const all = this.tokenizer.encode((part.leadingSpace ? " " : "") + value.trim());
        if (all.length > n) truncated = true;
        const ids =
          all.length <= n ? all : (this.spec.truncate ?? "end") === "end" ? all.slice(0, n) : all.slice(all.length - n);
        pieces.push({ kind: "tokens", ids });
      }
    }
    return { seq: { pieces }, truncated };
  }

  /** The truncation policy in words. */
  get truncationPolicy(): string {
    return truncationPolicy(this.spec);
  }

  private literal(text: string): number[] {
    let ids = this.literalIds.get(text);
    if (!ids) {
      ids = this.tokenizer.encode(text);
      this.literalIds.set(text, ids);
    }
    return ids;
  }
}
