import assert from "node:assert/strict";
import { BASE_VOCAB_SIZE, buildTokenizerJson, validateTokenizerJson } from "../../lib/tokenizer/tokenizer-json";
import { Tokenizer } from "../../lib/tokenizer/tokenizer";

describe("tokenizer/tokenizer-json", () => {
  it("lays out specials 0..3, bytes 4..259, then merges in order", () => {
    const json = buildTokenizerJson([
      ["a", "b"],
      ["Ġ", "ab"],
    ]);
    const v = json.model.vocab;
    assert.deepEqual([v["<pad>"], v["<bos>"], v["<eos>"], v["<unk>"]], [0, 1, 2, 3]);
    assert.equal(v["a"], 4 + 0x61);
    assert.equal(v["Ġ"], 4 + 0x20);
    assert.equal(v["ab"], BASE_VOCAB_SIZE);
    assert.equal(v["Ġab"], BASE_VOCAB_SIZE + 1);
    assert.equal(Object.keys(v).length, BASE_VOCAB_SIZE + 2);
    assert.deepEqual(json.model.merges, ["a b", "Ġ ab"]);
    assert.deepEqual(validateTokenizerJson(JSON.parse(JSON.stringify(json)), "x"), json);
  });

  it("gives a token spelled by two merge paths a single id, and the library encodes with both rules", () => {
    const json = buildTokenizerJson([
      ["a", "b"],
      ["b", "c"],
      ["ab", "c"],
      ["a", "bc"],
    ]);
    assert.equal(Object.keys(json.model.vocab).length, BASE_VOCAB_SIZE + 3);
    assert.equal(json.model.merges.length, 4);
    const tok = Tokenizer.fromJSON(json);
    assert.deepEqual(tok.encode("abc"), [json.model.vocab["abc"]]);
    assert.equal(tok.decode(tok.encode("abc abcbc")), "abc abcbc");
  });

  it("tokens named like Object.prototype members are ordinary tokens", () => {
    const json = buildTokenizerJson([
      ["c", "o"],
      ["co", "n"],
      ["con", "s"],
      ["cons", "t"],
      ["const", "r"],
      ["constr", "u"],
      ["constru", "c"],
      ["construc", "t"],
      ["construct", "o"],
      ["constructo", "r"],
    ]);
    assert.equal(json.model.vocab["constructor"], BASE_VOCAB_SIZE + 9);
    const tok = Tokenizer.fromJSON(JSON.parse(JSON.stringify(json)));
    assert.deepEqual(tok.encode("constructor"), [BASE_VOCAB_SIZE + 9]);
  });

  it("rejects a merge whose parts were never defined", () => {
    assert.throws(
      () => buildTokenizerJson([["ab", "c"]]),
      /merge "ab" \+ "c" uses a token not defined by earlier merges/,
    );
  });
});
