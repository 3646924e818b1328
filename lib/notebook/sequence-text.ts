/**
 * A model input (InputSequence: token pieces and soft-prompt slots) as readable text, for showing what a
 * template produces: token pieces decoded, slots as ⟨front⟩ / ⟨middle⟩ / ⟨back⟩ markers, optionally with the
 * slot's prompt length (⟨front×20⟩).
 */
import type { SlotLengths } from "../prompt/positions";
import type { InputSequence } from "../prompt/sequence";
import type { Tokenizer } from "../tokenizer/tokenizer";

export function sequenceText(seq: InputSequence, tokenizer: Tokenizer, lengths?: SlotLengths): string {
  return seq.pieces
    .map((p) => {
      if (p.kind === "tokens") return tokenizer.decode(p.ids);
      const n = lengths?.[p.slot];
      if (lengths && !n) return ""; // slot unused by this prompt
      return `⟨${p.slot}${n ? `×${n}` : ""}⟩`;
    })
    .join("");
}

/** Each token of `text`: position, id, vocabulary entry (byte-level, "Ġ" = space) and the text it decodes to (quoted). */
export function tokenTable(
  text: string,
  tokenizer: Tokenizer,
): { position: number; id: number; token: string; text: string }[] {
  return tokenizer.encode(text).map((id, position) => ({
    position,
    id,
    token: tokenizer.idToToken(id) ?? "?",
    text: JSON.stringify(tokenizer.decode([id])),
  }));
}
