import assert from "node:assert/strict";
import { ByteLevelPreTokenizer } from "@huggingface/tokenizers";
import { BYTE_TO_CHAR, byteLevelPreTokenize, byteLevelPreTokenizerConfig } from "../../lib/tokenizer/byte-level";
import { ROUND_TRIP_CASES, TRAIN_LINES } from "./fixtures";

describe("tokenizer/byte-level", () => {
  it("the byte table is a bijection onto 256 single characters with space -> Ġ", () => {
    assert.equal(BYTE_TO_CHAR.length, 256);
    assert.equal(new Set(BYTE_TO_CHAR).size, 256);
    for (const c of BYTE_TO_CHAR) assert.equal(c.length, 1);
    assert.equal(BYTE_TO_CHAR[0x20], "\u0120");
    assert.equal(BYTE_TO_CHAR[0x41], "A");
  });

  it("pre-tokenises exactly like the library's ByteLevel pre-tokenizer (trainer/run-time agreement)", () => {
    const lib = new ByteLevelPreTokenizer(byteLevelPreTokenizerConfig());
    // every byte value reachable from valid UTF-8 appears in these strings
    const allChars =
      Array.from({ length: 0x800 }, (_, i) => String.fromCodePoint(i)).join("") + "\u4e2d\uffff\u{1F642}\u{10FFFF}";
    for (const text of [...ROUND_TRIP_CASES, ...TRAIN_LINES, allChars, "x  \n\t y  "]) {
      assert.deepEqual(byteLevelPreTokenize(text), lib.pre_tokenize_text(text), JSON.stringify(text.slice(0, 40)));
    }
  });
});
