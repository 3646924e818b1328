/**
 * The text normaliser written into tokenizer.json and also applied when cleaning the pre-training
 * corpus, so training text and run-time input are in the same normal form:
 *   1. Unicode NFKC (ligatures, full-width forms, non-breaking spaces, ... become plain characters);
 *   2. curly single quotes/apostrophes -> ASCII ', curly double quotes -> ASCII ";
 *   3. Unicode hyphens U+2010/U+2011 -> ASCII "-".
 * Whitespace is NOT touched here (the tokenizer must round-trip leading/trailing spaces); the
 * corpus cleaner collapses whitespace separately. Em/en dashes are kept.
 *
 * The JS implementation is the library's own normaliser built from the same JSON config, so the
 * corpus cleaner and `@huggingface/tokenizers` cannot disagree.
 */
import { SequenceNormalizer } from "@huggingface/tokenizers";

/** Hugging Face `normalizer` config (Sequence of NFKC + Replace rules). */
export const TEXT_NORMALIZER_CONFIG = Object.freeze({
  type: "Sequence" as const,
  normalizers: [
    { type: "NFKC" as const },
    { type: "Replace" as const, pattern: { Regex: "[\u2018\u2019\u201A\u201B]" }, content: "'" },
    { type: "Replace" as const, pattern: { Regex: "[\u201C\u201D\u201E\u201F]" }, content: '"' },
    { type: "Replace" as const, pattern: { Regex: "[\u2010\u2011]" }, content: "-" },
  ],
});

/** A fresh deep copy of the normaliser config, safe to embed in a tokenizer.json object. */
export function textNormalizerConfig(): typeof TEXT_NORMALIZER_CONFIG {
  return JSON.parse(JSON.stringify(TEXT_NORMALIZER_CONFIG));
}

let normalizer: SequenceNormalizer | undefined;

/** Apply the tokenizer's normaliser to `text` (idempotent). */
export function normalizeText(text: string): string {
  normalizer ??= new SequenceNormalizer(textNormalizerConfig());
  return normalizer.normalize(text);
}
