import assert from "node:assert/strict";
import type { Example } from "../../../lib/tasks/data/example";
import { splitExamples } from "../../../lib/tasks/data/example";
import { capPerLabel, dedupeExamples, dedupeKey, resolveSplitOptions } from "../../../lib/tasks/data/split";

/** 300 "pos" and 100 "neg" distinct examples. */
function makeExamples(): Example[] {
  const out: Example[] = [];
  for (let i = 0; i < 400; i++)
    out.push({ id: `e${i}`, text: `sentence number ${i}`, label: i % 4 === 0 ? "neg" : "pos" });
  return out;
}

const ids = (xs: readonly Example[]): string[] => xs.map((x) => x.id);

describe("tasks/data/split", () => {
  const opts = { seed: 7, devFraction: 0.1, testFraction: 0.2 };

  it("is deterministic for a seed and changes with the seed", () => {
    const a = splitExamples(makeExamples(), opts);
    const b = splitExamples(makeExamples(), opts);
    assert.deepEqual(ids(a.train), ids(b.train));
    assert.deepEqual(ids(a.dev), ids(b.dev));
    assert.deepEqual(ids(a.test), ids(b.test));
    const c = splitExamples(makeExamples(), { ...opts, seed: 8 });
    assert.notDeepEqual(new Set(ids(c.test)), new Set(ids(a.test)));
  });

  it("does not depend on input order", () => {
    const a = splitExamples(makeExamples(), opts);
    const b = splitExamples(makeExamples().reverse(), opts);
    assert.deepEqual(new Set(ids(a.test)), new Set(ids(b.test)));
    assert.deepEqual(new Set(ids(a.dev)), new Set(ids(b.dev)));
  });

  it("puts every example in exactly one split", () => {
    const s = splitExamples(makeExamples(), opts);
    const all = [...ids(s.train), ...ids(s.dev), ...ids(s.test)];
    assert.equal(all.length, 400);
    assert.equal(new Set(all).size, 400);
  });

  it("stratifies: each split keeps the 3:1 label ratio exactly per label", () => {
    const s = splitExamples(makeExamples(), opts);
    const count = (xs: readonly Example[], l: string): number => xs.filter((x) => x.label === l).length;
    assert.deepEqual([count(s.test, "pos"), count(s.test, "neg")], [60, 20]);
    assert.deepEqual([count(s.dev, "pos"), count(s.dev, "neg")], [30, 10]);
    assert.deepEqual([count(s.train, "pos"), count(s.train, "neg")], [210, 70]);
  });

  it("without stratify, split sizes follow the fractions of the whole set", () => {
    const s = splitExamples(makeExamples(), { ...opts, stratify: false });
    assert.deepEqual([s.train.length, s.dev.length, s.test.length], [280, 40, 80]);
  });

  it("drops duplicates before splitting so a sentence never sits in two splits", () => {
    const xs = makeExamples();
    xs.push({ id: "dup1", text: "  Sentence   NUMBER 5 ", label: "pos" }); // same as e5 after normalisation
    xs.push({ id: "dup2", text: "sentence number 4", label: "pos" }); // e4 is "neg": conflict, both dropped
    const s = splitExamples(xs, opts);
    assert.equal(s.duplicatesDropped, 1);
    assert.equal(s.conflictsDropped, 2);
    const all = [...s.train, ...s.dev, ...s.test];
    assert.equal(all.length, 399); // 402 - 1 duplicate (dup1) - 2 conflicting copies (e4, dup2)
    const keys = all.map((x) => dedupeKey(x));
    assert.equal(new Set(keys).size, keys.length);
    assert.ok(!all.some((x) => x.id === "e4" || x.id === "dup2" || x.id === "dup1"));
  });

  it("treats reversed pairs as duplicates only when unorderedPairs is set", () => {
    const xs: Example[] = [
      { id: "a", text: "hot", textB: "cold", label: "opposite" },
      { id: "b", text: "cold", textB: "hot", label: "opposite" },
    ];
    assert.equal(dedupeExamples(xs, false).kept.length, 2);
    assert.equal(dedupeExamples(xs, true).kept.length, 1);
  });

  it("rejects duplicate ids and bad options with the bad value in the message", () => {
    assert.throws(
      () =>
        dedupeExamples([
          { id: "x", text: "a", label: "p" },
          { id: "x", text: "b", label: "p" },
        ]),
      /duplicate example id "x"/,
    );
    assert.throws(() => resolveSplitOptions({ devFraction: 1.5 }), /devFraction.*1\.5/);
    assert.throws(() => resolveSplitOptions({ devFraction: 0.5, testFraction: 0.5 }), /< 1.*0\.5 \+ 0\.5/);
    assert.throws(() => resolveSplitOptions({ seed: 0.5 }), /seed.*0\.5/);
    assert.equal(resolveSplitOptions({ seed: 0 }).seed, 0);
  });

  it("capPerLabel samples deterministically, at most n per label", () => {
    const a = capPerLabel(makeExamples(), 50, 3);
    const b = capPerLabel(makeExamples().reverse(), 50, 3);
    assert.deepEqual(ids(a), ids(b));
    assert.equal(a.filter((x) => x.label === "pos").length, 50);
    assert.equal(a.filter((x) => x.label === "neg").length, 50);
    assert.notDeepEqual(ids(capPerLabel(makeExamples(), 50, 4)), ids(a));
  });
});
