import assert from "node:assert/strict";
import { resolveBpeTrainOptions, trainBpe, trainBpeWithStats } from "../../lib/tokenizer/bpe-trainer";
import { Tokenizer } from "../../lib/tokenizer/tokenizer";
import { TRAIN_LINES } from "./fixtures";

describe("tokenizer/bpe-trainer", () => {
  it("learns the most frequent pair first and stops below minFrequency", () => {
    // words: "ab", "Ġab", "Ġab", "abc" -> (a,b) x4, then (Ġ,ab) x2, then (ab,c) x1 < minFrequency
    const { tokenizer, stats } = trainBpeWithStats(["ab ab ab", "abc"], { vocabSize: 1000, minFrequency: 2 });
    assert.deepEqual(tokenizer.model.merges, ["a b", "Ġ ab"]);
    assert.equal(stats.stoppedBy, "minFrequency");
    assert.equal(stats.vocabSize, 262);
    assert.equal(tokenizer.model.vocab["ab"], 260);
    assert.equal(tokenizer.model.vocab["Ġab"], 261);
    // tokens after merges: ab | Ġab | Ġab | ab c
    assert.equal(stats.tokens, 5);
  });

  it("breaks count ties by the smallest (left id, right id)", () => {
    // all pairs occur once; ids are 4 + byte, so "Ġ" (byte 0x20) < "a" (0x61), and new tokens come last
    const json = trainBpe(["ab cd"], { vocabSize: 1000, minFrequency: 1 });
    assert.deepEqual(json.model.merges, ["Ġ c", "a b", "Ġc d"]);
  });

  it("assigns unique, contiguous ids and round-trips its training text", () => {
    const lines = ["abc abc abc", "bcd bcd bcd bcd bcd bcd", "abcd abcd", "aaaa aaa aa a"];
    const json = trainBpe(lines, { vocabSize: 1000, minFrequency: 1 });
    const ids = Object.values(json.model.vocab);
    assert.deepEqual(
      [...ids].sort((a, b) => a - b),
      ids.map((_, i) => i),
    );
    const tok = Tokenizer.fromJSON(json);
    for (const line of lines) assert.equal(tok.decode(tok.encode(line)), line);
  });

  it("respects vocabSize exactly when there is enough text", () => {
    const { tokenizer, stats } = trainBpeWithStats(TRAIN_LINES, { vocabSize: 300 });
    assert.equal(Object.keys(tokenizer.model.vocab).length, 300);
    assert.equal(stats.stoppedBy, "vocabSize");
    const tok = Tokenizer.fromJSON(tokenizer);
    assert.equal(tok.vocabSize, 300);
    for (const line of TRAIN_LINES) for (const id of tok.encode(line)) assert.ok(id >= 0 && id < 300);
  });

  it("never exceeds vocabSize on tiny text (stops when pairs run out)", () => {
    const { tokenizer, stats } = trainBpeWithStats(["tiny text"], { vocabSize: 5000, minFrequency: 1 });
    assert.ok(Object.keys(tokenizer.model.vocab).length <= 5000);
    assert.equal(stats.stoppedBy, "noPairs");
    assert.equal(stats.tokens, 2); // "tiny", "Ġtext" fully merged
  });

  it("is deterministic", () => {
    const a = JSON.stringify(trainBpe(TRAIN_LINES, { vocabSize: 400 }));
    const b = JSON.stringify(trainBpe([...TRAIN_LINES], { vocabSize: 400 }));
    assert.equal(a, b);
  });

  it("its own segmentation matches the library's encoding of the training text", () => {
    const { tokenizer, stats } = trainBpeWithStats(TRAIN_LINES, { vocabSize: 400 });
    const tok = Tokenizer.fromJSON(tokenizer);
    const libraryTokens = TRAIN_LINES.reduce((n, line) => n + tok.encode(line).length, 0);
    assert.equal(libraryTokens, stats.tokens);
    assert.ok(stats.tokensPerCharacter > 0 && stats.tokensPerCharacter < 1);
  });

  it("validates its options", () => {
    assert.throws(
      () => resolveBpeTrainOptions({ vocabSize: 100 }),
      /vocabSize: expected an integer in \[260, 65536\], got 100/,
    );
    assert.throws(() => resolveBpeTrainOptions({ vocabSize: 1000.5 }), /vocabSize.*got 1000.5/);
    assert.throws(() => resolveBpeTrainOptions({ minFrequency: 0 }), /minFrequency: expected an integer >= 1, got 0/);
    assert.deepEqual(resolveBpeTrainOptions({}), { vocabSize: 2048, minFrequency: 2 });
  });
});
