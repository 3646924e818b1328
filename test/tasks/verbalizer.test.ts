import assert from "node:assert/strict";
import { Verbalizer } from "../../lib/tasks/verbalizer";
import type { Tokenizer } from "../../lib/tokenizer/tokenizer";
import { setupBackend } from "../helpers";
import { loadTiny } from "../tuning/fixture";

describe("verbalizer", () => {
  let tok: Tokenizer;
  before(async () => {
    await setupBackend();
    const b = loadTiny();
    tok = b.tokenizer;
    b.model.dispose();
  });

  it("verbalizer: label words as token ids per label, first words for class-label initialisation", () => {
    const v = new Verbalizer(["negative", "positive"], { negative: [" not", " no"], positive: [" good"] }, tok);
    assert.deepEqual(v.tokenIds, [[tok.encode(" not"), tok.encode(" no")], [tok.encode(" good")]]);
    assert.deepEqual(v.firstWordIds(), [tok.encode(" not"), tok.encode(" good")]);
    assert.throws(
      () => new Verbalizer(["a", "b"], { a: [" x"], b: [" y"], c: [" z"] }, tok),
      /verbalizer names unknown label\(s\) c; task labels are a, b/,
    );
    assert.throws(() => new Verbalizer(["a", "b"], { a: [" x"] }, tok), /verbalizer has no words for label 'b'/);
    assert.throws(
      () => new Verbalizer(["a", "b"], { a: [" x"], b: [""] }, tok),
      /label word "" of 'b' encodes to no tokens/,
    );
  });
});
