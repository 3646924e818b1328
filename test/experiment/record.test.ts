import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { makeCell } from "../../lib/experiment/grid";
import { cellFields, readRecords, recordProblems, validateRecord } from "../../lib/experiment/record";
import { fakeRecord } from "../fixtures/experiment/fake-record";

const cell = makeCell({ backbone: "tiny", task: "sst2", method: "prompt", seed: 0, options: { promptLength: 5 } });

describe("experiment/record", () => {
  it("accepts a complete record and keeps extra fields", () => {
    const r = { ...fakeRecord(cell), note: "extra" };
    assert.equal(validateRecord(r, "test"), r);
    assert.deepEqual(
      recordProblems(fakeRecord(makeCell({ backbone: "tiny", task: "t", method: "finetune", seed: 1 }))),
      [],
    );
  });

  it("cellFields copies the cell's identity", () => {
    assert.deepEqual(cellFields(cell), {
      cellId: cell.cellId,
      task: "sst2",
      method: "prompt",
      seed: 0,
      config: { ...cell.config },
    });
  });

  it("names every missing or wrong field", () => {
    const r = fakeRecord(cell) as unknown as Record<string, unknown>;
    delete r.taskBytes;
    r.seed = 1.5;
    r.metrics = { accuracy: 0.9, macroF1: "0.8", mcc: 2 };
    r.prompt = { length: 0, init: "random", position: "prefix" };
    r.backend = { name: "wasm" };
    r.curve = [{ step: 0, trainLoss: null }];
    r.finishedAt = "2024-12-31T00:00:00Z";
    r.devMetrics = null; // allowed
    const problems = recordProblems(r);
    const expected = [
      /^seed: expected an integer, got 1.5 \(number\)$/,
      /^prompt.length: expected an integer >= 1, got 0 \(number\)$/,
      /^metrics.macroF1: expected a number in \[0, 1\], got "0.8"$/,
      /^metrics.mcc: expected a number in \[-1, 1\], got 2 \(number\)$/,
      /^curve\[0\].trainLoss: expected a finite number, got null$/,
      /^taskBytes: missing \(expected a non-negative integer\)$/,
      /^backend.version: missing/,
      /^config.seed: 0 \(number\) disagrees with seed 1.5 \(number\)$/,
      /^finishedAt: 2024-12-31T00:00:00Z is before startedAt/,
    ];
    for (const re of expected)
      assert.ok(
        problems.some((p) => re.test(p)),
        `no problem matching ${re} in:\n${problems.join("\n")}`,
      );
    assert.equal(problems.length, expected.length, problems.join("\n"));
    assert.throws(
      () => validateRecord(r, "results.jsonl:7"),
      /^Error: results.jsonl:7: invalid run record \(9 problems\):\n  seed: /,
    );
  });

  it("rejects non-objects and bad timestamps", () => {
    assert.deepEqual(recordProblems([1]), ["expected a JSON object, got an array of length 1"]);
    assert.ok(
      recordProblems({ ...fakeRecord(cell), startedAt: "yesterday" }).some((p) =>
        p.startsWith("startedAt: expected an ISO 8601"),
      ),
    );
  });

  it("readRecords validates each line, naming file and line", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "record-test-"));
    try {
      const file = path.join(dir, "results.jsonl");
      fs.writeFileSync(
        file,
        JSON.stringify(fakeRecord(cell)) + "\n" + JSON.stringify({ ...fakeRecord(cell), steps: -1 }) + "\n",
      );
      assert.throws(
        () => readRecords(file),
        /results.jsonl:2: invalid run record \(1 problem\):\n  steps: expected a non-negative integer, got -1/,
      );
      assert.deepEqual(readRecords(path.join(dir, "none.jsonl"), { allowMissing: true }), []);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
