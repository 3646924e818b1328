import assert from "node:assert/strict";
import * as path from "node:path";
import { buildTask } from "../../lib/tasks/data/build-task";
import type { Example } from "../../lib/tasks/data/example";
import { countTruncated, PreparedTask } from "../../lib/tasks/prepared-task";
import { parsePattern, Template, truncationPolicy } from "../../lib/tasks/template";
import { Tokenizer } from "../../lib/tokenizer/tokenizer";

const tok = Tokenizer.fromFile(path.resolve(__dirname, "../../../models/kit-nano/tokenizer.json"));
const ex = (text: string, id = "x"): Example => ({ id, text, label: "a" });
const ids = (seq: ReturnType<Template["render"]>): number[] =>
  seq.pieces.flatMap((p) => (p.kind === "tokens" ? [...p.ids] : []));

describe("tasks/template", () => {
  it("refuses a template without {text}, or without an answer position", () => {
    assert.throws(() => parsePattern("<front>Nothing here:<back>"), /has no \{text\} field/);
    assert.throws(
      () => parsePattern("{text}"),
      /template "\{text\}" has no answer position: .* ends with the field \{text\}, so the answer would just continue the text/,
    );
    assert.throws(() => parsePattern("<front>{text}<back>"), /no answer position/);
    assert.throws(() => parsePattern("<front>{text}<middle> and {textB}  <back>"), /ends with the field \{textB\}/);
    assert.doesNotThrow(() => parsePattern("<front>{text} It was<back>"));
    assert.doesNotThrow(() => parsePattern("{text} Label:{answer}"));
  });

  it("{answer} marks the end; unknown placeholders are refused", () => {
    assert.throws(
      () => parsePattern("{text} Label:{answer} ok"),
      /nothing may follow \{answer\}.*got " ok"; put <back> before \{answer\}/,
    );
    assert.throws(() => parsePattern("{text} Label:{answer}<back>"), /nothing may follow \{answer\}/);
    assert.throws(() => parsePattern("{text} is {answer}{answer}"), /\{answer\} more than once/);
    assert.throws(
      () => parsePattern("{txt} Label:"),
      /unknown placeholder \{txt\}; the known ones are \{text\}, \{textB\} and \{answer\}/,
    );
    // {answer} adds no tokens: the same ids as without it
    const a = new Template({ pattern: "<front>{text} Label:<back>{answer}", maxFieldTokens: 8 }, tok).render(
      ex("good"),
    );
    const b = new Template({ pattern: "<front>{text} Label:<back>", maxFieldTokens: 8 }, tok).render(ex("good"));
    assert.deepEqual(a, b);
  });

  it("truncation keeps the first (end) or last (start) maxFieldTokens tokens and says so", () => {
    const text = "one two three four five six seven eight nine ten";
    const all = tok.encode(text);
    assert.ok(all.length > 4);
    const cue = tok.encode(" Label:");
    const end = new Template({ pattern: "{text} Label:", maxFieldTokens: 4 }, tok);
    const start = new Template({ pattern: "{text} Label:", maxFieldTokens: 4, truncate: "start" }, tok);
    assert.deepEqual(ids(end.render(ex(text))), [tok.eosId, ...all.slice(0, 4), ...cue]);
    assert.deepEqual(ids(start.render(ex(text))), [tok.eosId, ...all.slice(-4), ...cue]);
    assert.equal(end.renderInfo(ex(text)).truncated, true);
    assert.equal(end.renderInfo(ex("one")).truncated, false);
    assert.equal(
      new Template({ pattern: "{text} Label:", maxFieldTokens: all.length }, tok).renderInfo(ex(text)).truncated,
      false,
      "exactly the limit is not cut",
    );
    assert.equal(
      end.truncationPolicy,
      "each field longer than 4 tokens is cut at the end (its first 4 tokens are kept)",
    );
    assert.equal(
      truncationPolicy({ maxFieldTokens: 9, truncate: "start" }),
      "each field longer than 9 tokens is cut at the start (its last 9 tokens are kept)",
    );
    assert.throws(
      () => new Template({ pattern: "{text} L:", maxFieldTokens: 4, truncate: "middle" as "end" }, tok),
      /truncate must be one of end, start, got "middle"/,
    );
  });

  it("PreparedTask counts truncated examples per split", () => {
    const long = "the whale and the sea and the ship and the crew and the captain";
    const examples: Example[] = [
      ...Array.from({ length: 6 }, (_, i) => ({ id: `s${i}`, text: `short ${i}`, label: "a" })),
      ...Array.from({ length: 6 }, (_, i) => ({ id: `l${i}`, text: `${long} ${i}`, label: "b" })),
    ];
    const data = buildTask(
      "t",
      ["a", "b"],
      examples,
      { seed: 0, devFraction: 0, testFraction: 0.5 },
      { package: "test", version: "0", licence: "none", note: "" },
    );
    const task = new PreparedTask(data, tok, {
      template: { pattern: "{text} Label:", maxFieldTokens: 5 },
      verbalizer: { a: [" a"], b: [" b"] },
    });
    const t = task.truncation();
    assert.deepEqual(t.examples, { train: 6, dev: 0, test: 6 });
    assert.deepEqual(t.truncated, { train: 3, dev: 0, test: 3 }, "only the long texts are cut");
    assert.equal(
      countTruncated(task.items("test").slice(0, 2)),
      task
        .items("test")
        .slice(0, 2)
        .filter((x) => x.example.label === "b").length,
    );
    assert.match(t.policy, /longer than 5 tokens/);
    const lengths = task.fieldTokenLengths("test");
    assert.equal(lengths.length, 6);
    assert.deepEqual(
      lengths.map((l) => l.text > 5),
      task.items("test").map((x) => x.truncated),
      "a field is cut exactly when it is longer than maxFieldTokens",
    );
    assert.ok(lengths.every((l) => l.textB === 0));
  });
});
