/**
 * The Hugging Face `tokenizer.json` format as we emit it (byte-level BPE), plus a validator that
 * turns a malformed file into one clear error naming the file, the field and expected vs got.
 *
 * Layout of our files: special tokens <pad> <bos> <eos> <unk> at ids 0..3, the 256 byte-level
 * symbols at ids 4..259 (in byte order), then one token per merge in merge order.
 */
import { BYTE_TO_CHAR, byteLevelDecoderConfig, byteLevelPreTokenizerConfig } from "./byte-level";
import { SPECIAL_TOKENS, UNK_TOKEN } from "./special-tokens";
import { textNormalizerConfig } from "./text-normalizer";
import { isPlainObject } from "../io/validate";

/** One entry of `added_tokens`. */
export interface AddedTokenJson {
  id: number;
  content: string;
  single_word: boolean;
  lstrip: boolean;
  rstrip: boolean;
  normalized: boolean;
  special: boolean;
}

/** The `model` section for BPE (field names as written by the Rust `tokenizers` crate). */
export interface BpeModelJson {
  type: "BPE";
  dropout: null;
  unk_token: string;
  continuing_subword_prefix: null;
  end_of_word_suffix: null;
  fuse_unk: boolean;
  byte_fallback: boolean;
  ignore_merges: boolean;
  /** token -> id; ids are exactly 0..size-1. */
  vocab: Record<string, number>;
  /** Merge rules in priority order, each "left right" (byte-level tokens never contain a space). */
  merges: string[];
}

/** A complete tokenizer.json document. */
export interface TokenizerJson {
  version: string;
  truncation: null;
  padding: null;
  added_tokens: AddedTokenJson[];
  normalizer: object | null;
  pre_tokenizer: { type: string; [key: string]: unknown };
  post_processor: object | null;
  decoder: { type: string; [key: string]: unknown };
  model: BpeModelJson;
}

/** Number of ids before the first merge token: specials + 256 byte symbols. */
export const BASE_VOCAB_SIZE = SPECIAL_TOKENS.length + 256;

/** Assemble a tokenizer.json from merges (in priority order) given as [left, right] byte-level token strings. */
export function buildTokenizerJson(merges: ReadonlyArray<readonly [string, string]>): TokenizerJson {
  const ids = new Map<string, number>();
  SPECIAL_TOKENS.forEach((t, i) => ids.set(t, i));
  BYTE_TO_CHAR.forEach((c, b) => ids.set(c, SPECIAL_TOKENS.length + b));
  const mergeStrings: string[] = [];
  for (const [a, b] of merges) {
    if (!ids.has(a) || !ids.has(b))
      throw new Error(
        `buildTokenizerJson: merge ${JSON.stringify(a)} + ${JSON.stringify(b)} uses a token not defined by earlier merges`,
      );
    // Two merge paths may spell the same token; it keeps its first id.
    if (!ids.has(a + b)) ids.set(a + b, ids.size);
    mergeStrings.push(`${a} ${b}`);
  }
  const vocab = Object.fromEntries(ids);
  return {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: SPECIAL_TOKENS.map((content, id) => ({
      id,
      content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    })),
    normalizer: textNormalizerConfig(),
    pre_tokenizer: byteLevelPreTokenizerConfig(),
    post_processor: null,
    decoder: byteLevelDecoderConfig(),
    model: {
      type: "BPE",
      dropout: null,
      unk_token: UNK_TOKEN,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      merges: mergeStrings,
    },
  };
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return `array(${value.length})`;
  if (typeof value === "string") return JSON.stringify(value.length > 40 ? value.slice(0, 40) + "..." : value);
  if (typeof value === "object") return "object";
  return `${typeof value} ${String(value)}`;
}

/**
 * Check that `obj` is a byte-level BPE tokenizer.json with our special tokens, and return it typed.
 * Throws `Error("<source>: <field>: expected ..., got ...")` on the first problem found.
 * Long on purpose: one check per field of tokenizer.json in file order; it reads as the format's schema.
 */
export function validateTokenizerJson(obj: unknown, source: string): TokenizerJson {
  const fail = (field: string, expected: string, got: unknown): never => {
    throw new Error(`${source}: ${field}: expected ${expected}, got ${describe(got)}`);
  };
  if (!isPlainObject(obj)) return fail("(top level)", "a JSON object", obj);
  const model = obj["model"];
  if (!isPlainObject(model)) return fail("model", "an object", model);
  if (model["type"] !== "BPE") return fail("model.type", '"BPE"', model["type"]);

  const vocab = model["vocab"];
  if (!isPlainObject(vocab)) return fail("model.vocab", "an object mapping token -> id", vocab);
  // A Map, not the object: tokens such as "constructor" must not hit Object.prototype.
  const ids = new Map<string, unknown>(Object.entries(vocab));
  const tokens = [...ids.keys()];
  if (tokens.length === 0) return fail("model.vocab", "a non-empty object", vocab);
  const byId = new Array<string | undefined>(tokens.length);
  for (const token of tokens) {
    const id = ids.get(token);
    const field = `model.vocab[${JSON.stringify(token)}]`;
    if (typeof id !== "number" || !Number.isInteger(id) || id < 0) fail(field, "a non-negative integer id", id);
    if ((id as number) >= tokens.length)
      fail(field, `an id < vocabulary size ${tokens.length} (ids must be 0..size-1)`, id);
    const other = byId[id as number];
    if (other !== undefined) fail(field, `a unique id (id ${id} is also used by ${JSON.stringify(other)})`, id);
    byId[id as number] = token;
  }
  for (let b = 0; b < 256; b++) {
    const c = BYTE_TO_CHAR[b]!;
    if (!ids.has(c))
      fail(
        "model.vocab",
        `all 256 byte-level symbols (missing byte 0x${b.toString(16).padStart(2, "0")} = ${JSON.stringify(c)})`,
        vocab,
      );
  }

  const merges = model["merges"];
  if (!Array.isArray(merges)) return fail("model.merges", "an array", merges);
  merges.forEach((m: unknown, i: number) => {
    const field = `model.merges[${i}]`;
    let pair: unknown[];
    if (typeof m === "string") pair = m.split(" ");
    else if (Array.isArray(m)) pair = m;
    else return fail(field, 'a string "left right" or a [left, right] pair', m);
    if (pair.length !== 2 || typeof pair[0] !== "string" || typeof pair[1] !== "string" || !pair[0] || !pair[1]) {
      return fail(field, "exactly two non-empty tokens", m);
    }
    const [a, b] = pair as [string, string];
    if (!ids.has(a)) fail(field, `a left token that is in model.vocab (${JSON.stringify(a)} is not)`, m);
    if (!ids.has(b)) fail(field, `a right token that is in model.vocab (${JSON.stringify(b)} is not)`, m);
    if (!ids.has(a + b)) fail(field, `a merged token that is in model.vocab (${JSON.stringify(a + b)} is not)`, m);
  });

  const added = obj["added_tokens"];
  if (!Array.isArray(added)) return fail("added_tokens", "an array", added);
  added.forEach((t: unknown, i: number) => {
    if (!isPlainObject(t)) return fail(`added_tokens[${i}]`, "an object", t);
    if (typeof t["content"] !== "string" || t["content"] === "")
      fail(`added_tokens[${i}].content`, "a non-empty string", t["content"]);
    if (
      typeof t["id"] !== "number" ||
      !Number.isInteger(t["id"]) ||
      (t["id"] as number) < 0 ||
      (t["id"] as number) >= tokens.length
    ) {
      fail(`added_tokens[${i}].id`, `an integer id in [0, ${tokens.length})`, t["id"]);
    }
    const inVocab = ids.get(t["content"] as string);
    if (inVocab !== undefined && inVocab !== t["id"]) {
      fail(`added_tokens[${i}].id`, `the id model.vocab gives ${JSON.stringify(t["content"])} (${inVocab})`, t["id"]);
    }
  });
  SPECIAL_TOKENS.forEach((content, id) => {
    const entry = (added as Record<string, unknown>[]).find((t) => t["content"] === content);
    if (!entry) return fail("added_tokens", `an entry for special token ${content} with id ${id}`, added);
    if (entry["id"] !== id) fail(`added_tokens(${content}).id`, `${id}`, entry["id"]);
    if (entry["special"] !== true) fail(`added_tokens(${content}).special`, "true", entry["special"]);
  });

  const pre = obj["pre_tokenizer"];
  if (!isPlainObject(pre) || pre["type"] !== "ByteLevel")
    return fail("pre_tokenizer", 'an object with type "ByteLevel"', isPlainObject(pre) ? pre["type"] : pre);
  if (pre["add_prefix_space"] === true)
    fail("pre_tokenizer.add_prefix_space", "false (leading spaces are part of the text)", true);
  const decoder = obj["decoder"];
  if (!isPlainObject(decoder) || decoder["type"] !== "ByteLevel")
    return fail("decoder", 'an object with type "ByteLevel"', isPlainObject(decoder) ? decoder["type"] : decoder);
  for (const key of ["normalizer", "post_processor"]) {
    if (!(key in obj)) fail(key, "an object or null", undefined);
    if (obj[key] !== null && !isPlainObject(obj[key])) fail(key, "an object or null", obj[key]);
  }
  return obj as unknown as TokenizerJson;
}
