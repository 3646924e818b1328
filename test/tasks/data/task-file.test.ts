import assert from "node:assert/strict";
import * as path from "node:path";
import { describeTask } from "../../../lib/tasks/data/example";
import { loadTaskFile, TaskFileError, type TaskFileOptions } from "../../../lib/tasks/data/task-file";

const FIXTURES = path.resolve(__dirname, "../../../../test/fixtures/tasks");
const fx = (name: string): string => path.join(FIXTURES, name);
const basic: TaskFileOptions = { textColumn: "text", labelColumn: "label", seed: 0, devFraction: 0, testFraction: 0.5 };

/** Expect loadTaskFile to reject with a TaskFileError whose message matches every pattern. */
async function rejects(file: string, opts: TaskFileOptions, ...patterns: RegExp[]): Promise<TaskFileError> {
  try {
    await loadTaskFile(fx(file), opts);
  } catch (err) {
    assert.ok(err instanceof TaskFileError, `expected TaskFileError, got ${(err as Error).message}`);
    assert.ok(err.message.includes(fx(file)), `message names the file: ${err.message}`);
    for (const p of patterns) assert.match(err.message, p);
    return err;
  }
  assert.fail(`${file} was accepted`);
}

describe("tasks/data/task-file", () => {
  it("CSV via danfojs: quoted commas, escaped quotes, multi-line fields, blank lines; cells stay exact strings", async () => {
    const task = await loadTaskFile(fx("good.csv"), {
      textColumn: "review",
      labelColumn: "sentiment",
      seed: 1,
      devFraction: 0,
      testFraction: 0.5,
    });
    const all = [...task.train, ...task.dev, ...task.test].sort((a, b) =>
      a.id.localeCompare(b.id, "en", { numeric: true }),
    );
    assert.deepEqual(
      all.map((e) => [e.id, e.text, e.label]),
      [
        ["good.csv:2", "Great food, friendly staff", "pos"],
        ["good.csv:3", "Terrible service", "neg"],
        ["good.csv:4", 'He said "wow"\nand left', "pos"],
        ["good.csv:7", "Cold fries", "neg"],
        ["good.csv:8", "1.50", "neg"], // not the number 1.5
      ],
    );
    assert.deepEqual(task.labels, ["neg", "pos"]);
    assert.equal(task.name, "good");
    assert.match(task.source.version, /^sha256:[0-9a-f]{16}$/);
  });

  it("numeric CSV labels become the strings '0'/'1' in numeric order", async () => {
    const task = await loadTaskFile(fx("numeric-labels.csv"), basic);
    assert.deepEqual(task.labels, ["0", "1"]);
    assert.deepEqual(describeTask(task).perLabel, { "0": 2, "1": 2 });
  });

  it("pair tasks read textB", async () => {
    const task = await loadTaskFile(fx("pair.csv"), {
      ...basic,
      testFraction: 0,
      textColumn: "premise",
      textBColumn: "hypothesis",
      labels: ["yes", "no"],
    });
    const all = [...task.train, ...task.test];
    assert.ok(all.some((e) => e.text === "A dog runs" && e.textB === "An animal moves" && e.label === "yes"));
    assert.deepEqual(task.labels, ["yes", "no"]);
  });

  it("JSON Lines: blank lines skipped, numeric labels stringified, extra keys ignored", async () => {
    const task = await loadTaskFile(fx("good.jsonl"), { ...basic, testFraction: 0 }); // one example per label: train only
    const all = [...task.train, ...task.test];
    assert.deepEqual(all.map((e) => e.id).sort(), ["good.jsonl:1", "good.jsonl:3", "good.jsonl:4"]);
    assert.deepEqual(task.labels, ["0", "neg", "pos"]);
  });

  describe("bad files name the file, line (and CSV data row), field, expected vs got", () => {
    it("missing column lists the available columns", () =>
      rejects(
        "missing-column.csv",
        basic,
        /line 1: field "text": expected a column named "text", got none; available columns: \[review, sentiment\]/,
        /field "label"/,
      ));

    it("unknown label lists the allowed ones, with lines that account for multi-line fields and blank lines", async () => {
      const err = await rejects(
        "good.csv",
        { textColumn: "review", labelColumn: "sentiment", labels: ["pos", "neutral"] },
        /line 3 \(data row 2\): field "sentiment": expected one of \[pos, neutral\], got "neg"/,
        /line 7 \(data row 4\)/,
        /line 8 \(data row 5\)/,
      );
      assert.deepEqual(
        err.issues.map((i) => i.line),
        [3, 7, 8],
      );
    });

    it("unknown label in a plain file", () =>
      rejects(
        "unknown-label.csv",
        { ...basic, labels: ["pos", "neg"] },
        /line 4 \(data row 3\): field "label": expected one of \[pos, neg\], got "neutral"/,
      ));

    it("whitespace-only text", () =>
      rejects(
        "empty-text.csv",
        basic,
        /line 3 \(data row 2\): field "text": expected non-empty text, got whitespace only "   "/,
      ));

    it("wrong field count and unterminated quotes (caught before danfojs)", async () => {
      await rejects(
        "field-count.csv",
        basic,
        /line 3 \(data row 2\): field "\(line\)": expected 2 fields like the header, got 3/,
      );
      await rejects(
        "unterminated.csv",
        basic,
        /line 3: field "\(line\)": expected well-formed CSV, got unterminated quoted field/,
      );
    });

    it("wrong JSON types: number, object, null", () =>
      rejects(
        "wrong-type.jsonl",
        basic,
        /line 2: field "text": expected a string, got number 42/,
        /line 3: field "text": expected a string, got object \{"a":1\}/,
        /line 4: field "label": expected a string or number label, got null/,
      ));

    it("malformed JSON line", () =>
      rejects("malformed.jsonl", basic, /line 2: field "\(line\)": expected a JSON object, got malformed JSON/));

    it("a JSON line that is not an object", () =>
      rejects("not-object.jsonl", basic, /line 2: field "\(line\)": expected a JSON object, got array \[1,2\]/));

    it("missing key in a JSON line lists the keys present", () =>
      rejects(
        "missing-key.jsonl",
        basic,
        /line 2: field "text": expected a text value, got no such key; keys present: \[txt, label\]/,
      ));

    it("fewer than 2 distinct labels", () =>
      rejects("one-label.csv", basic, /field "label": expected at least 2 distinct labels, got 1 \("pos"\) in 2 rows/));
  });

  it("bad options and unsupported files are plain errors naming the file", async () => {
    await assert.rejects(loadTaskFile(fx("good.csv"), { ...basic, labels: ["only"] }), /good\.csv.*at least 2 labels/);
    await assert.rejects(loadTaskFile(fx("mail-reply.eml"), basic), /mail-reply\.eml: unsupported extension ".eml"/);
    await assert.rejects(loadTaskFile(fx("nope.csv"), basic), /cannot read .*nope\.csv/);
  });
});
