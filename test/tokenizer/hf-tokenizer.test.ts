/**
 * Hugging Face tokenizer folders: byte-level BPE (GPT-2 / Qwen2 style) and SentencePiece-style BPE with byte
 * fallback (Llama style), with special tokens from tokenizer_config.json / special_tokens_map.json /
 * generation_config.json / config.json.
 */
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Tokenizer } from "../../lib/tokenizer/tokenizer";
import { setupBackend } from "../helpers";
import { tinyCheckpointDir } from "../tuning/fixture";

function folder(files: Record<string, unknown>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kit-hf-tok-"));
  for (const [name, v] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), JSON.stringify(v));
  return dir;
}

/** A SentencePiece-style BPE: "▁" word marks, <0xNN> byte-fallback pieces, <unk> <s> </s> at 0..2. */
function sentencePieceJson(): Record<string, unknown> {
  const vocab: Record<string, number> = { "<unk>": 0, "<s>": 1, "</s>": 2 };
  for (let b = 0; b < 256; b++) vocab[`<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`] = 3 + b;
  Object.assign(vocab, { "▁": 259, t: 260, h: 261, e: 262, "▁t": 263, he: 264, "▁the": 265 });
  const special = (id: number, content: string) => ({
    id,
    content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: true,
  });
  return {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: [special(0, "<unk>"), special(1, "<s>"), special(2, "</s>")],
    normalizer: {
      type: "Sequence",
      normalizers: [
        { type: "Prepend", prepend: "▁" },
        { type: "Replace", pattern: { String: " " }, content: "▁" },
      ],
    },
    pre_tokenizer: null,
    post_processor: null,
    decoder: {
      type: "Sequence",
      decoders: [
        { type: "Replace", pattern: { String: "▁" }, content: " " },
        { type: "ByteFallback" },
        { type: "Fuse" },
        { type: "Strip", content: " ", start: 1, stop: 0 },
      ],
    },
    model: {
      type: "BPE",
      dropout: null,
      unk_token: "<unk>",
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: true,
      byte_fallback: true,
      vocab,
      merges: ["▁ t", "h e", "▁t he"],
    },
  };
}

describe("Hugging Face tokenizer folders", function () {
  this.timeout(30_000);
  before(setupBackend);

  it("SentencePiece-style BPE with byte fallback: pieces, bytes for unknown characters, round trip, ids from generation_config.json", () => {
    const dir = folder({
      "tokenizer.json": sentencePieceJson(),
      "generation_config.json": { bos_token_id: 1, eos_token_id: [2] },
    });
    const tok = Tokenizer.fromHfFolder(dir);
    assert.equal(tok.vocabSize, 266);
    assert.deepEqual(tok.encode("the the"), [265, 265]);
    assert.deepEqual(tok.encode("thé"), [263, 261, 3 + 0xc3, 3 + 0xa9], "é falls back to its UTF-8 bytes");
    assert.equal(tok.decode(tok.encode("the thé")), "the thé");
    assert.deepEqual([tok.bosId, tok.eosId, tok.padId, tok.unkId], [1, 2, 2, 0], "no pad token: pads with EOS");
    assert.deepEqual(tok.encode("the", { bos: true, eos: true }), [1, 265, 2]);
    assert.equal(tok.decode([1, 265, 2], { skipSpecial: true }), "the");
  });

  it("byte-level BPE with <|endoftext|> from tokenizer_config.json (string or {content}) and special_tokens_map.json", () => {
    const base = JSON.parse(fs.readFileSync(path.join(tinyCheckpointDir(), "tokenizer.json"), "utf8"));
    const kit = Tokenizer.fromJSON(structuredClone(base));
    const eot = {
      id: kit.vocabSize,
      content: "<|endoftext|>",
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    };
    base.added_tokens.push(eot);
    const dir = folder({
      "tokenizer.json": base,
      "tokenizer_config.json": { eos_token: { content: "<|endoftext|>" }, bos_token: "<|endoftext|>" },
      "special_tokens_map.json": { pad_token: "<pad>" },
    });
    const tok = Tokenizer.fromHfFolder(dir);
    assert.equal(tok.vocabSize, kit.vocabSize + 1);
    const text = "the film was good, and the food was great";
    assert.deepEqual(tok.encode(text), kit.encode(text));
    assert.equal(tok.decode(tok.encode(text)), text);
    assert.deepEqual([tok.bosId, tok.eosId, tok.padId], [kit.vocabSize, kit.vocabSize, 0]);
    assert.equal(tok.decode([...tok.encode("the film"), kit.vocabSize], { skipSpecial: true }), "the film");
  });

  it("a special token that is not in the vocabulary, or a malformed id, is refused naming the file and field", () => {
    const sp = sentencePieceJson();
    assert.throws(
      () =>
        Tokenizer.fromHfFolder(folder({ "tokenizer.json": sp, "tokenizer_config.json": { eos_token: "<|im_end|>" } })),
      /tokenizer_config\.json: eos_token "<\|im_end\|>" is not in tokenizer\.json/,
    );
    assert.throws(
      () => Tokenizer.fromHfFolder(folder({ "tokenizer.json": sp, "generation_config.json": { eos_token_id: "2" } })),
      /generation_config\.json: field 'eos_token_id' must be a non-negative integer/,
    );
    assert.throws(
      () => Tokenizer.fromHfFolder(folder({ "tokenizer.json": { model: null } })),
      /tokenizer\.json: expected a tokenizer\.json object with a "model" object/,
    );
  });
});
