/**
 * Run-time tokenizer: a thin, validated wrapper around `@huggingface/tokenizers` for our byte-level
 * BPE tokenizer.json files. All encoding and decoding goes through the library; this class adds
 * file loading with clear errors, fixed special-token ids, optional <bos>/<eos>, and id checks.
 *
 * Text is normalised on encode (NFKC, curly quotes -> ASCII; see text-normalizer.ts), so
 * `decode(encode(t)) === normalizeText(t)` for every string t, and `=== t` for normalised text.
 * Literal occurrences of "<pad>", "<bos>", "<eos>", "<unk>" in input text encode to the special ids.
 */
import * as fs from "node:fs";
import * as nodePath from "node:path";
import { Tokenizer as HfTokenizer } from "@huggingface/tokenizers";
import { writeJsonAtomic } from "../io/atomic-write";
import { resolveSpecialIds, type SpecialIds } from "./hf-specials";
import { BOS_ID, EOS_ID, PAD_ID, SPECIAL_TOKENS, UNK_ID } from "./special-tokens";
import { TokenizerJson, validateTokenizerJson } from "./tokenizer-json";

/** Options for `encode`. */
export interface EncodeOptions {
  /** Prepend <bos> (id 1). */
  bos?: boolean;
  /** Append <eos> (id 2). */
  eos?: boolean;
}

/** Options for `decode`. */
export interface DecodeOptions {
  /** Drop <pad>, <bos>, <eos>, <unk> from the output. */
  skipSpecial?: boolean;
}

export class Tokenizer {
  readonly vocabSize: number;
  readonly padId: number = PAD_ID;
  readonly bosId: number = BOS_ID;
  readonly eosId: number = EOS_ID;
  readonly unkId: number = UNK_ID;
  /** ids decode({ skipSpecial }) drops: the kit's four, or a Hugging Face tokenizer's special added tokens. */
  private readonly specialIds: ReadonlySet<number> = new Set(SPECIAL_TOKENS.map((_, i) => i));
  /** Where this tokenizer came from (file path or "<object>"), used in error messages. */
  readonly source: string;
  private readonly json: TokenizerJson;
  private readonly hf: HfTokenizer;

  private constructor(
    json: TokenizerJson,
    source: string,
    hf?: { vocabSize: number; specials: SpecialIds; specialIds: Set<number> },
  ) {
    this.json = json;
    this.source = source;
    this.vocabSize = hf ? hf.vocabSize : Object.keys(json.model.vocab).length;
    if (hf) {
      this.padId = hf.specials.pad;
      this.bosId = hf.specials.bos;
      this.eosId = hf.specials.eos;
      this.unkId = hf.specials.unk;
      this.specialIds = hf.specialIds;
    }
    try {
      // clean_up_tokenization_spaces would rewrite " ." -> "." on decode and break round trips.
      this.hf = new HfTokenizer(structuredClone(json), { clean_up_tokenization_spaces: false });
    } catch (err) {
      throw new Error(`${source}: @huggingface/tokenizers rejected the tokenizer: ${(err as Error).message}`);
    }
  }

  /** Load and validate a tokenizer.json file. */
  static fromFile(path: string): Tokenizer {
    let text: string;
    try {
      text = fs.readFileSync(path, "utf8");
    } catch (err) {
      throw new Error(`${path}: cannot read tokenizer file: ${(err as Error).message}`);
    }
    let obj: unknown;
    try {
      obj = JSON.parse(text);
    } catch (err) {
      throw new Error(`${path}: not valid JSON: ${(err as Error).message}`);
    }
    return Tokenizer.fromJSON(obj, path);
  }

  /**
   * A Hugging Face tokenizer folder (a checkpoint a user brings): tokenizer.json of any layout the library
   * supports (byte-level BPE as GPT-2/Qwen2, SentencePiece-style BPE with byte fallback as Llama), special tokens
   * from tokenizer_config.json / special_tokens_map.json / generation_config.json / config.json (see hf-specials.ts).
   * Text is encoded as the library does, without adding special tokens (ask with encode's bos/eos).
   */
  static fromHfFolder(dir: string): Tokenizer {
    const file = nodePath.join(dir, "tokenizer.json");
    let obj: unknown;
    try {
      obj = JSON.parse(fs.readFileSync(file, "utf8"));
    } catch (err) {
      throw new Error(`${file}: cannot read a tokenizer: ${(err as Error).message}`);
    }
    const o = obj as Record<string, unknown> | null;
    const model = o?.["model"] as Record<string, unknown> | undefined;
    if (typeof o !== "object" || o === null || typeof model !== "object" || model === null) {
      throw new Error(`${file}: expected a tokenizer.json object with a "model" object`);
    }
    const vocab = model["vocab"];
    const ids: number[] = [];
    if (Array.isArray(vocab))
      ids.push(vocab.length - 1); // Unigram: [[piece, score], ...]
    else if (typeof vocab === "object" && vocab !== null) ids.push(...Object.values(vocab as Record<string, number>));
    else
      throw new Error(`${file}: model.vocab: expected an object or a list, got ${JSON.stringify(vocab)?.slice(0, 40)}`);
    const specialIds = new Set<number>();
    const added = Array.isArray(o["added_tokens"]) ? (o["added_tokens"] as Record<string, unknown>[]) : [];
    for (const t of added) {
      if (typeof t["id"] === "number") {
        ids.push(t["id"]);
        if (t["special"] === true) specialIds.add(t["id"]);
      }
    }
    const vocabSize = ids.reduce((m, id) => (typeof id === "number" && id > m ? id : m), -1) + 1;
    let lib: HfTokenizer;
    try {
      lib = new HfTokenizer(structuredClone(obj) as never, { clean_up_tokenization_spaces: false });
    } catch (err) {
      throw new Error(`${file}: @huggingface/tokenizers rejected the tokenizer: ${(err as Error).message}`);
    }
    const specials = resolveSpecialIds(dir, (tok) => lib.token_to_id(tok) ?? undefined, model["unk_token"]);
    for (const id of [specials.bos, specials.eos, specials.pad, specials.unk]) specialIds.add(id);
    return new Tokenizer(obj as TokenizerJson, file, { vocabSize, specials, specialIds });
  }

  /** Build from a parsed tokenizer.json object (validated; `source` names it in errors). */
  static fromJSON(obj: unknown, source = "<tokenizer object>"): Tokenizer {
    return new Tokenizer(validateTokenizerJson(obj, source), source);
  }

  /** Token ids for `text`, optionally wrapped in <bos> ... <eos>. */
  encode(text: string, opts: EncodeOptions = {}): number[] {
    if (typeof text !== "string") throw new Error(`Tokenizer.encode: expected a string, got ${typeof text}`);
    const ids = text.length === 0 ? [] : this.hf.encode(text, { add_special_tokens: false }).ids;
    if (opts.bos) ids.unshift(this.bosId);
    if (opts.eos) ids.push(this.eosId);
    return ids;
  }

  /** `encode` applied to each text. */
  encodeBatch(texts: readonly string[], opts: EncodeOptions = {}): number[][] {
    return texts.map((t) => this.encode(t, opts));
  }

  /** Text for `ids`; every id must be an integer in [0, vocabSize). */
  decode(ids: ArrayLike<number>, opts: DecodeOptions = {}): string {
    const list = Array.from(ids);
    list.forEach((id, i) => {
      if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) {
        throw new Error(`Tokenizer.decode: ids[${i}]: expected an integer in [0, ${this.vocabSize}), got ${id}`);
      }
    });
    const kept = opts.skipSpecial ? list.filter((id) => !this.specialIds.has(id)) : list;
    if (kept.length === 0) return "";
    return this.hf.decode(kept, { skip_special_tokens: false, clean_up_tokenization_spaces: false });
  }

  /** Id of a (byte-level) token string, e.g. "Ġthe" for " the". */
  tokenToId(token: string): number | undefined {
    return this.hf.token_to_id(token);
  }

  /** Byte-level token string for an id. */
  idToToken(id: number): string | undefined {
    return Number.isInteger(id) && id >= 0 && id < this.vocabSize ? this.hf.id_to_token(id) : undefined;
  }

  /** A deep copy of the tokenizer.json document. */
  toJSON(): TokenizerJson {
    return structuredClone(this.json);
  }

  /** Write tokenizer.json atomically. */
  save(path: string): void {
    writeJsonAtomic(path, this.json);
  }
}
