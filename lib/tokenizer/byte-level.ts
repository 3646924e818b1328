/**
 * GPT-2 style byte-level pre-tokenisation, as done by `@huggingface/tokenizers`' ByteLevel
 * pre-tokenizer (add_prefix_space = false, use_regex = true):
 *   - text is split into "words" by the GPT-2 regex: contractions, an optional leading space
 *     followed by letters / digits / other symbols, and whitespace runs. The leading space stays
 *     attached to the word, so " positive" and "positive" are different words (and tokens);
 *   - each word's UTF-8 bytes are mapped to 256 printable stand-in characters (the GPT-2
 *     bytes-to-unicode table, e.g. space -> "Ġ"), so every byte has a token and nothing is unknown.
 * The trainer uses these functions; run-time encoding uses the library. test/tokenizer checks both
 * agree on real and unicode text.
 */

/** The GPT-2 pre-tokenisation pattern, identical to the library's ByteLevel pattern. */
export const BYTE_LEVEL_SPLIT_PATTERN = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

/** Hugging Face `pre_tokenizer` config matching `BYTE_LEVEL_SPLIT_PATTERN`. */
export function byteLevelPreTokenizerConfig() {
  return { type: "ByteLevel" as const, add_prefix_space: false, trim_offsets: true, use_regex: true };
}

/** Hugging Face `decoder` config that inverts the byte mapping. */
export function byteLevelDecoderConfig() {
  return { type: "ByteLevel" as const, add_prefix_space: false, trim_offsets: true, use_regex: true };
}

/**
 * The GPT-2 bytes-to-unicode table: `BYTE_TO_CHAR[b]` is the one-character stand-in for byte b.
 * Printable Latin-1 bytes map to themselves; the other 68 bytes map to U+0100 upwards.
 */
export const BYTE_TO_CHAR: readonly string[] = Object.freeze(buildByteToChar());

function buildByteToChar(): string[] {
  const keep: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) keep.push(b);
  for (let b = 0xa1; b <= 0xac; b++) keep.push(b);
  for (let b = 0xae; b <= 0xff; b++) keep.push(b);
  const table = new Array<string>(256);
  const kept = new Set(keep);
  for (const b of keep) table[b] = String.fromCharCode(b);
  let next = 0;
  for (let b = 0; b < 256; b++) {
    if (!kept.has(b)) table[b] = String.fromCharCode(256 + next++);
  }
  return table;
}

/** Split `text` into GPT-2 pre-tokens (raw text, not yet byte-mapped). */
export function splitPreTokens(text: string): string[] {
  return text.match(BYTE_LEVEL_SPLIT_PATTERN) ?? [];
}

const utf8 = new TextEncoder();

/** Map a raw string to its byte-level form (one stand-in character per UTF-8 byte). */
export function toByteLevel(raw: string): string {
  const bytes = utf8.encode(raw);
  let out = "";
  for (let i = 0; i < bytes.length; i++) out += BYTE_TO_CHAR[bytes[i]!];
  return out;
}

/** Pre-tokenise `text` into byte-level words, exactly as the library's ByteLevel pre-tokenizer does. */
export function byteLevelPreTokenize(text: string): string[] {
  return splitPreTokens(text).map(toByteLevel);
}
