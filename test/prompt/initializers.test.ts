import assert from "node:assert/strict";
import {
  classLabel,
  EmbeddingTable,
  frequentTokenIds,
  fromText,
  randomUniform,
  sampledVocab,
} from "../../lib/prompt/initializers";

/** An arange table: row r is [r*D, r*D+1, ..., r*D+D-1], so every expected prompt vector is exact. */
function arange(vocab: number, width: number): EmbeddingTable {
  return { data: Float32Array.from({ length: vocab * width }, (_, i) => i), vocab, width };
}

const rowOf = (t: EmbeddingTable, r: number) => Array.from(t.data.subarray(r * t.width, (r + 1) * t.width));
const slot = (out: Float32Array, p: number, width: number) => Array.from(out.subarray(p * width, (p + 1) * width));

describe("prompt initializers", () => {
  const T = arange(100, 4);

  it("class-label: one slot per label, a multi-token label is the mean of its rows (gold values)", () => {
    const fill = sampledVocab(T, [90, 91, 92]);
    const out = classLabel(T, [[23], [23, 54], [10, 20, 30]], fill)(5, 4, 7);
    assert.deepEqual(slot(out, 0, 4), rowOf(T, 23));
    // mean of rows 23 and 54 of an arange table = the row at (23 + 54) / 2 = 38.5, elementwise.
    assert.deepEqual(
      slot(out, 1, 4),
      [0, 1, 2, 3].map((d) => ((23 + 54) / 2) * 4 + d),
    );
    assert.deepEqual(slot(out, 2, 4), rowOf(T, 20));
    // the remaining slots are the fill's (sampled-vocab rows from the candidates).
    for (const p of [3, 4])
      assert.ok([90, 91, 92].some((r) => JSON.stringify(rowOf(T, r)) === JSON.stringify(slot(out, p, 4))));
    assert.deepEqual(
      Array.from(classLabel(T, [[1], [2], [3]], fill)(2, 4, 0)),
      [...rowOf(T, 1), ...rowOf(T, 2)],
      "more labels than slots: the first labels",
    );
  });

  it("sampled-vocab: rows of distinct candidates while there are enough, seeded", () => {
    const cands = [5, 6, 7, 8];
    const out = sampledVocab(T, cands)(4, 4, 3);
    const picked = [0, 1, 2, 3].map((p) => slot(out, p, 4)[0]! / 4);
    assert.deepEqual(
      [...picked].sort((a, b) => a - b),
      cands,
      "without replacement",
    );
    assert.deepEqual(sampledVocab(T, cands)(4, 4, 3), out, "same seed, same prompt");
    assert.notDeepEqual(sampledVocab(T, cands)(4, 4, 4), out, "another seed, another order");
    const long = sampledVocab(T, [9])(3, 4, 0);
    assert.deepEqual(
      Array.from(long),
      [...rowOf(T, 9), ...rowOf(T, 9), ...rowOf(T, 9)],
      "reuses candidates once exhausted",
    );
  });

  it("text: the text's rows in order, then the fill; a long text is truncated", () => {
    const fill = randomUniform(0.5);
    const out = fromText(T, [3, 1], fill)(3, 4, 0);
    assert.deepEqual(slot(out, 0, 4), rowOf(T, 3));
    assert.deepEqual(slot(out, 1, 4), rowOf(T, 1));
    assert.deepEqual(slot(out, 2, 4), Array.from(fill(3, 4, 0).subarray(8, 12)));
    assert.deepEqual(Array.from(fromText(T, [4, 5, 6], fill)(2, 4, 0)), [...rowOf(T, 4), ...rowOf(T, 5)]);
  });

  it("random-uniform stays within its range and depends on the seed", () => {
    const a = randomUniform(0.25)(10, 8, 1);
    assert.ok(a.every((v) => v >= -0.25 && v <= 0.25));
    assert.ok(
      a.some((v) => Math.abs(v) > 0.1),
      "spread over the range",
    );
    assert.notDeepEqual(a, randomUniform(0.25)(10, 8, 2));
    assert.throws(() => randomUniform(0), /range must be > 0, got 0/);
  });

  it("refuses a width mismatch, ids outside the table and empty inputs", () => {
    assert.throws(() => sampledVocab(T, [1])(2, 5, 0), /prompt width 5 differs from the embedding width 4/);
    assert.throws(() => sampledVocab(T, [100])(1, 4, 0), /token id 100 is outside the embedding table \(100 rows\)/);
    assert.throws(() => sampledVocab(T, []), /at least one candidate/);
    assert.throws(() => classLabel(T, [], randomUniform(1)), /at least one label/);
    assert.throws(() => classLabel(T, [[]], randomUniform(1))(1, 4, 0), /label 0 has no tokens/);
    assert.throws(() => fromText(T, [], randomUniform(1)), /non-empty text/);
  });

  it("frequentTokenIds: most frequent first, ties by id, special tokens skipped, capped", () => {
    assert.deepEqual(frequentTokenIds([5, 3, 3, 9, 5, 5, 0, 0, 0, 0, 7], new Set([0])), [5, 3, 7, 9]);
    assert.deepEqual(frequentTokenIds([1, 2, 2, 3, 3, 3], new Set(), 2), [3, 2]);
  });
});
