import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { trainBpe } from "../../lib/tokenizer/bpe-trainer";
import { Tokenizer } from "../../lib/tokenizer/tokenizer";
import { normalizeText } from "../../lib/tokenizer/text-normalizer";
import { ROUND_TRIP_CASES, TRAIN_LINES } from "./fixtures";

describe("tokenizer/tokenizer", () => {
  const json = trainBpe(TRAIN_LINES, { vocabSize: 400 });
  const tok = Tokenizer.fromJSON(json);
  let tmp: string;

  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "tokenizer-test-"));
  });
  after(() => {
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it("round-trips text -> ids -> text (punctuation, digits, unicode, spaces)", () => {
    for (const text of [...ROUND_TRIP_CASES, ...TRAIN_LINES]) {
      const ids = tok.encode(text);
      assert.equal(tok.decode(ids), text, `text ${JSON.stringify(text)}`);
      assert.deepEqual(tok.encode(tok.decode(ids)), ids, `ids of ${JSON.stringify(text)}`);
    }
  });

  it("encodes the empty string to no ids and decodes no ids to the empty string", () => {
    assert.deepEqual(tok.encode(""), []);
    assert.equal(tok.decode([]), "");
    assert.deepEqual(tok.encode("", { bos: true, eos: true }), [1, 2]);
  });

  it("normalises curly quotes and NFKC forms on encode, matching normalizeText", () => {
    const raw = "\u201cGood\u201d film \u2014 it\u2019s \ufb01ne, \uff11\uff12\uff13 non\u2011stop";
    const expected = '"Good" film \u2014 it\'s fine, 123 non-stop';
    assert.equal(normalizeText(raw), expected);
    assert.equal(tok.decode(tok.encode(raw)), expected);
    assert.deepEqual(tok.encode(raw), tok.encode(expected));
  });

  it("keeps a leading space in the token: ' positive' differs from 'positive'", () => {
    const withSpace = tok.encode(" positive");
    const without = tok.encode("positive");
    assert.notDeepEqual(withSpace, without);
    assert.equal(tok.decode(withSpace), " positive");
    assert.equal(tok.idToToken(withSpace[0]!)!.startsWith("\u0120"), true, "first token carries the space (Ġ)");
  });

  it("has fixed special ids 0..3 and adds <bos>/<eos> on request", () => {
    assert.deepEqual([tok.padId, tok.bosId, tok.eosId, tok.unkId], [0, 1, 2, 3]);
    assert.deepEqual(
      ["<pad>", "<bos>", "<eos>", "<unk>"].map((t) => tok.tokenToId(t)),
      [0, 1, 2, 3],
    );
    assert.deepEqual(
      [0, 1, 2, 3].map((id) => tok.idToToken(id)),
      ["<pad>", "<bos>", "<eos>", "<unk>"],
    );
    const plain = tok.encode("the whale");
    const wrapped = tok.encode("the whale", { bos: true, eos: true });
    assert.deepEqual(wrapped, [1, ...plain, 2]);
    assert.equal(tok.decode(wrapped), "<bos>the whale<eos>");
    assert.equal(tok.decode([0, 0, ...wrapped, 0], { skipSpecial: true }), "the whale");
    // no ordinary text maps onto a special id
    for (const text of ROUND_TRIP_CASES) for (const id of tok.encode(text)) assert.ok(id >= 4, `${text} -> ${id}`);
  });

  it("encodeBatch equals encode per text", () => {
    const texts = ["a b", "the sea", ""];
    assert.deepEqual(
      tok.encodeBatch(texts, { eos: true }),
      texts.map((t) => tok.encode(t, { eos: true })),
    );
  });

  it("rejects ids outside the vocabulary when decoding", () => {
    const n = tok.vocabSize;
    assert.throws(() => tok.decode([5, n]), new RegExp(`ids\\[1\\]: expected an integer in \\[0, ${n}\\), got ${n}`));
    assert.throws(() => tok.decode([-1]), /ids\[0\].*got -1/);
    assert.throws(() => tok.decode([1.5]), /got 1.5/);
    assert.equal(tok.idToToken(n), undefined);
    assert.notEqual(tok.idToToken(n - 1), undefined);
  });

  it("save/load round trip gives an identical tokenizer.json and identical encodings", () => {
    const file = path.join(tmp, "tokenizer.json");
    tok.save(file);
    const loaded = Tokenizer.fromFile(file);
    assert.deepEqual(loaded.toJSON(), tok.toJSON());
    assert.equal(loaded.vocabSize, tok.vocabSize);
    for (const text of [...ROUND_TRIP_CASES, ...TRAIN_LINES]) assert.deepEqual(loaded.encode(text), tok.encode(text));
  });

  it("toJSON returns a copy that cannot change the tokenizer", () => {
    const copy = tok.toJSON();
    copy.model.merges.length = 0;
    assert.ok(tok.toJSON().model.merges.length > 0);
  });

  describe("bad tokenizer.json", () => {
    const write = (name: string, text: string) => {
      const file = path.join(tmp, name);
      fs.writeFileSync(file, text);
      return file;
    };
    const mutated = (edit: (j: any) => void) => {
      const j: any = tok.toJSON();
      edit(j);
      return JSON.stringify(j);
    };

    it("missing file names the file", () => {
      const file = path.join(tmp, "nope.json");
      assert.throws(
        () => Tokenizer.fromFile(file),
        (e: Error) => e.message.startsWith(`${file}: cannot read tokenizer file`),
      );
    });

    it("invalid JSON names the file", () => {
      const file = write("broken.json", '{"model": ');
      assert.throws(
        () => Tokenizer.fromFile(file),
        (e: Error) => e.message.startsWith(`${file}: not valid JSON`),
      );
    });

    it("names the bad field with expected vs got", () => {
      const cases: [string, (j: any) => void, RegExp][] = [
        ["no-model.json", (j) => delete j.model, /: model: expected an object, got undefined/],
        ["wordpiece.json", (j) => (j.model.type = "WordPiece"), /: model.type: expected "BPE", got "WordPiece"/],
        [
          "bad-id.json",
          (j) => (j.model.vocab["Ġthe"] = "x"),
          /: model\.vocab\["Ġthe"\]: expected a non-negative integer id, got "x"/,
        ],
        [
          "dup-id.json",
          (j) => (j.model.vocab["Ġthe"] = 5),
          /model\.vocab\["Ġthe"\]: expected a unique id \(id 5 is also used by/,
        ],
        [
          "bad-merge.json",
          (j) => (j.model.merges[0] = "Ġ qqqq"),
          /model\.merges\[0\]: expected a right token that is in model\.vocab \("qqqq" is not\)/,
        ],
        [
          "merge-shape.json",
          (j) => (j.model.merges[1] = "a b c"),
          /model\.merges\[1\]: expected exactly two non-empty tokens, got "a b c"/,
        ],
        [
          "no-specials.json",
          (j) => (j.added_tokens = j.added_tokens.slice(1)),
          /added_tokens: expected an entry for special token <pad> with id 0/,
        ],
        [
          "swapped.json",
          (j) => (
            (j.added_tokens[1].id = 2),
            (j.added_tokens[2].id = 1),
            (j.model.vocab["<bos>"] = 2),
            (j.model.vocab["<eos>"] = 1)
          ),
          /added_tokens\(<bos>\)\.id: expected 1, got number 2/,
        ],
        [
          "pretok.json",
          (j) => (j.pre_tokenizer = { type: "Whitespace" }),
          /pre_tokenizer: expected an object with type "ByteLevel", got "Whitespace"/,
        ],
      ];
      for (const [name, edit, pattern] of cases) {
        const file = write(name, mutated(edit));
        assert.throws(
          () => Tokenizer.fromFile(file),
          (e: Error) => e.message.startsWith(file + ":") && pattern.test(e.message),
          name,
        );
      }
    });

    it("fromJSON names its source", () => {
      assert.throws(
        () => Tokenizer.fromJSON([], "my-object"),
        /^Error: my-object: \(top level\): expected a JSON object, got array\(0\)/,
      );
    });
  });
});
