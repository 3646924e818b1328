import assert from "node:assert/strict";
import { describeTask } from "../../../lib/tasks/data/example";
import { dedupeKey } from "../../../lib/tasks/data/split";
import { parseDataLine } from "../../../lib/tasks/data/wordnet";
import {
  loadWordNetPairs,
  negationPrefix,
  pairStratum,
  resolveWordNetPairOptions,
  surfaceRelation,
} from "../../../lib/tasks/data/wordnet-pairs";

describe("tasks/data/wordnet-pairs", () => {
  it("parses a WordNet data line (words, pointers with word numbers, definition)", () => {
    const s = parseDataLine(
      '00001740 00 a 01 able 0 005 = 05207437 n 0000 = 05624029 n 0000 + 05624029 n 0101 + 05207437 n 0101 ! 00002098 a 0101 | (usually followed by `to\') having the necessary means; "able to swim"',
      "data.adj",
      30,
    );
    assert.deepEqual(s.lemmas, ["able"]);
    assert.equal(s.pointers.length, 5);
    assert.deepEqual(s.pointers[4], { symbol: "!", target: "adj:00002098", sourceWord: 1, targetWord: 1 });
    assert.equal(s.definition, "(usually followed by `to') having the necessary means");
    assert.throws(() => parseDataLine("00001740 00 q 01 able 0 000 | x", "data.adj", 31), /data\.adj:31/);
  });

  it("surface relations", () => {
    assert.equal(negationPrefix("able", "unable"), "un");
    assert.equal(negationPrefix("legal", "illegal"), "il");
    assert.equal(surfaceRelation("careful", "careless"), "ful-less");
    assert.equal(surfaceRelation("sexual", "unisexual"), "containment");
    assert.equal(surfaceRelation("hot", "cold"), null);
    assert.equal(pairStratum({ a: "increase", b: "decrease", pos: "verb" }), "verb/s5/p0");
  });

  it("default task: balanced, non-empty, no surface shortcuts, matched stem statistics, no pair in two splits", () => {
    const task = loadWordNetPairs({ seed: 0 });
    const d = describeTask(task);
    assert.deepEqual(task.labels, ["same", "opposite"]);
    assert.ok(d.total >= 2000, `total ${d.total}`);
    assert.equal(d.perLabel.same, d.perLabel.opposite);
    for (const split of ["train", "dev", "test"] as const) assert.equal(d.splits[split].same, d.splits[split].opposite);
    const all = [...task.train, ...task.dev, ...task.test];
    assert.ok(all.every((e) => /^[a-z]+$/.test(e.text) && /^[a-z]+$/.test(e.textB ?? "") && e.text !== e.textB));
    assert.ok(all.every((e) => surfaceRelation(e.text, e.textB!) === null));
    // the synonym sample mirrors the antonyms' strata, so shared word endings carry no label signal
    const strata = (label: string): string[] =>
      all
        .filter((e) => e.label === label)
        .map((e) => pairStratum({ a: e.text, b: e.textB!, pos: "noun" }))
        .sort();
    assert.deepEqual(
      strata("same").map((s) => s.slice(s.indexOf("/"))),
      strata("opposite").map((s) => s.slice(s.indexOf("/"))),
    );
    const seen = new Map<string, string>();
    for (const [name, split] of [
      ["train", task.train],
      ["dev", task.dev],
      ["test", task.test],
    ] as const) {
      for (const e of split) {
        const k = dedupeKey(e, true);
        assert.ok(!seen.has(k), `pair ${e.text}/${e.textB} in ${seen.get(k)} and ${name}`);
        seen.set(k, name);
      }
    }
    assert.ok(all.some((e) => e.text === "guilty" || e.textB === "guilty")); // a known antonym pair survives
  });

  it("morphology include keeps negation antonyms and honours maxPairs; gloss option adds definitions", () => {
    const inc = loadWordNetPairs({ morphology: "include", maxPairs: 600 });
    const all = [...inc.train, ...inc.dev, ...inc.test];
    assert.equal(all.length, 600);
    const neg = all.filter((e) => e.label === "opposite" && negationPrefix(e.text, e.textB!) !== null).length;
    assert.ok(neg > 100, `negation antonyms ${neg}`);
    const gl = loadWordNetPairs({ withGloss: true, maxPairs: 100 });
    assert.ok([...gl.train, ...gl.test].every((e) => /^[a-z]+: \S/.test(e.text)));
  });

  it("is deterministic by seed", () => {
    const a = loadWordNetPairs({ seed: 5, maxPairs: 200 });
    const b = loadWordNetPairs({ seed: 5, maxPairs: 200 });
    assert.deepEqual(a.test, b.test);
    const c = loadWordNetPairs({ seed: 6, maxPairs: 200 });
    assert.notDeepEqual(
      a.test.map((e) => e.id),
      c.test.map((e) => e.id),
    );
  });

  it("validates options", () => {
    assert.throws(() => resolveWordNetPairOptions({ maxPairs: 1 }), /maxPairs.*got 1/);
    assert.throws(() => resolveWordNetPairOptions({ morphology: "drop" as never }), /morphology.*"drop"/);
  });
});
