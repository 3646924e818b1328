import assert from "node:assert/strict";
import { slot, tokens } from "../../lib/prompt/sequence";
import { sequenceText, tokenTable } from "../../lib/notebook/sequence-text";
import { Tokenizer } from "../../lib/tokenizer/tokenizer";
import { trainBpe } from "../../lib/tokenizer/bpe-trainer";

const tok = Tokenizer.fromJSON(
  trainBpe(["the food was good", "the film was great"], { vocabSize: 280, minFrequency: 1 }),
);

describe("notebook sequenceText / tokenTable", () => {
  it("decodes token pieces and marks prompt slots, with lengths when given", () => {
    const seq = {
      pieces: [
        slot("front"),
        tokens(tok.encode("the food")),
        slot("middle"),
        tokens(tok.encode(" was good")),
        slot("back"),
      ],
    };
    assert.equal(sequenceText(seq, tok), "⟨front⟩the food⟨middle⟩ was good⟨back⟩");
    assert.equal(sequenceText(seq, tok, { front: 3, middle: 0, back: 2 }), "⟨front×3⟩the food was good⟨back×2⟩");
  });

  it("lists tokens with ids and decoded text that joins back to the input", () => {
    const rows = tokenTable("the food was good", tok);
    assert.ok(rows.length >= 1);
    rows.forEach((r, i) => assert.equal(r.position, i));
    assert.equal(rows.map((r) => JSON.parse(r.text) as string).join(""), "the food was good");
    assert.equal(rows[0]!.id, tok.encode("the food was good")[0]);
  });
});
