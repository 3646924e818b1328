/**
 * Input templates: the input side of a task (OpenPrompt's Template). A pattern mixes literal text, the example's
 * fields and soft-prompt slots, e.g.
 *
 *   "<front>{text} It was<back>"               (single segment; the label word follows)
 *   "<front>{text}<middle> and {textB} mean the<back>"   (pair task: <middle> sits between the segments)
 *
 * Slots not used by the current prompt configuration vanish. Every sequence starts with <eos>, the token that
 * preceded every document during pre-training. Fields are truncated (from the end) to `maxFieldTokens` tokens.
 */
import type { Example } from "./data/example";
import type { InputSequence, Piece } from "../prompt/sequence";
import { PROMPT_SLOTS, PromptSlot } from "../prompt/positions";
import type { Tokenizer } from "../tokenizer/tokenizer";

export interface TemplateSpec {
  readonly pattern: string;
  /** longest token count kept from each field. */
  readonly maxFieldTokens: number;
}

type Part =
  | { kind: "literal"; text: string }
  | { kind: "field"; field: "text" | "textB"; leadingSpace: boolean }
  | { kind: "slot"; slot: PromptSlot };

const TOKEN = /<(front|middle|back)>|\{(text|textB)\}/g;

export function parsePattern(pattern: string): Part[] {
  const parts: Part[] = [];
  let last = 0;
  for (const m of pattern.matchAll(TOKEN)) {
    if (m.index! > last) parts.push({ kind: "literal", text: pattern.slice(last, m.index) });
    if (m[1]) parts.push({ kind: "slot", slot: m[1] as PromptSlot });
    else parts.push({ kind: "field", field: m[2] as "text" | "textB", leadingSpace: false });
    last = m.index! + m[0].length;
  }
  if (last < pattern.length) parts.push({ kind: "literal", text: pattern.slice(last) });
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
    const pieces: Piece[] = [{ kind: "tokens", ids: [this.tokenizer.eosId] }];
    for (const part of this.parts) {
      if (part.kind === "slot") pieces.push({ kind: "slot", slot: part.slot });
      else if (part.kind === "literal") pieces.push({ kind: "tokens", ids: this.literal(part.text) });
      else {
        const value = part.field === "text" ? example.text : example.textB;
        if (value === undefined) throw new Error(`example ${example.id}: template needs field '${part.field}', which is missing`);
        const ids = this.tokenizer.encode((part.leadingSpace ? " " : "") + value.trim()).slice(0, this.spec.maxFieldTokens);
        pieces.push({ kind: "tokens", ids });
      }
    }
    return { pieces };
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
