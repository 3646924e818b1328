import { strict as assert } from "node:assert";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { readJsonl } from "../../lib/io/jsonl";
import { expandGrid, type Cell } from "../../lib/experiment/grid";
import type { RunRecord } from "../../lib/experiment/record";
import { describeGridEvent, GridRunError, runGrid, type GridEvent } from "../../lib/experiment/runner";
import { fakeRecord, syntheticGridSpec } from "../fixtures/experiment/fake-record";

class KilledError extends Error {}

const cellsOf = (nSeeds: number): Cell[] => expandGrid(syntheticGridSpec(nSeeds));
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const quiet = (): void => {};

function recordedIds(file: string): string[] {
  return readJsonl<RunRecord>(file, { onBadLine: "throw", onWarning: quiet }).map((e) => e.record.cellId);
}

/** Every cell recorded exactly once, nothing else. */
function assertExactlyOnce(file: string, cells: readonly Cell[]): void {
  const ids = recordedIds(file);
  assert.equal(ids.length, cells.length, `expected ${cells.length} records, got ${ids.length}`);
  assert.deepEqual([...ids].sort(), cells.map((c) => c.cellId).sort());
}

describe("experiment/runner", () => {
  let dir: string;
  let results: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "runner-test-"));
    results = path.join(dir, "sub", "results.jsonl");
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("runs every cell once, appending records in order, and reports progress", async () => {
    const cells = cellsOf(2); // 2 tasks x (2 prompt lengths + finetune) x 2 seeds = 12
    assert.equal(cells.length, 12);
    const events: GridEvent[] = [];
    const res = await runGrid(cells, {
      resultsPath: results,
      runCell: async (c) => fakeRecord(c),
      onProgress: (e) => events.push(e),
    });
    assert.equal(res.records.length, 12);
    assert.equal(res.skipped, 0);
    assert.equal(res.remaining, 0);
    assert.deepEqual(
      recordedIds(results),
      cells.map((c) => c.cellId),
    );
    assert.equal(events[0]!.type, "resume");
    assert.equal(events.filter((e) => e.type === "cell-start").length, 12);
    const finishes = events.filter((e): e is Extract<GridEvent, { type: "cell-finish" }> => e.type === "cell-finish");
    assert.deepEqual(
      finishes.map((e) => e.position),
      Array.from({ length: 12 }, (_, i) => i + 1),
    );
    assert.equal(finishes.at(-1)!.etaSeconds, 0);
    assert.equal(finishes[0]!.total, 12);
    assert.equal(events.at(-1)!.type, "done");
    for (const e of events) assert.ok(describeGridEvent(e).length > 0);
    assert.ok(!fs.existsSync(`${results}.lock`), "lock released");
  });

  it("(a) a run killed midway resumes: every cell recorded exactly once", async () => {
    const cells = cellsOf(3); // 18 cells
    let calls = 0;
    await assert.rejects(
      runGrid(cells, {
        resultsPath: results,
        runCell: async (c) => {
          if (++calls === 7) throw new KilledError("killed");
          return fakeRecord(c);
        },
      }),
      (err: unknown) =>
        err instanceof GridRunError &&
        err.cause instanceof KilledError &&
        err.index === 6 &&
        /cell 6 \(/.test(err.message),
    );
    assert.equal(recordedIds(results).length, 6);
    const ran: string[] = [];
    const events: GridEvent[] = [];
    const res = await runGrid(cells, {
      resultsPath: results,
      runCell: async (c) => (ran.push(c.cellId), fakeRecord(c)),
      onProgress: (e) => events.push(e),
    });
    assert.equal(res.skipped, 6);
    assert.equal(res.records.length, 12);
    assert.deepEqual(
      ran,
      cells.slice(6).map((c) => c.cellId),
    );
    const resume = events[0] as Extract<GridEvent, { type: "resume" }>;
    assert.deepEqual([resume.skipped, resume.pending, resume.toRun], [6, 12, 12]);
    assertExactlyOnce(results, cells);
    // a third call has nothing to do
    const again = await runGrid(cells, {
      resultsPath: results,
      runCell: async () => assert.fail("nothing should run"),
    });
    assert.equal(again.skipped, 18);
    assert.equal(again.records.length, 0);
  });

  it("(a') runs in chunks with limit and resumes with an extended grid", async () => {
    const cells = cellsOf(2);
    const r1 = await runGrid(cells, { resultsPath: results, runCell: async (c) => fakeRecord(c), limit: 5 });
    assert.deepEqual([r1.records.length, r1.remaining], [5, 7]);
    const r2 = await runGrid(cells, { resultsPath: results, runCell: async (c) => fakeRecord(c), limit: 5 });
    assert.deepEqual([r2.skipped, r2.records.length, r2.remaining], [5, 5, 2]);
    await runGrid(cells, { resultsPath: results, runCell: async (c) => fakeRecord(c) });
    assertExactlyOnce(results, cells);
    // adding a seed runs only the new cells
    const more = cellsOf(3);
    const r4 = await runGrid(more, { resultsPath: results, runCell: async (c) => fakeRecord(c) });
    assert.deepEqual([r4.skipped, r4.records.length], [12, 6]);
    assertExactlyOnce(results, more);
  });

  it("(a'') a process SIGKILLed mid-grid resumes losing and duplicating nothing", async function () {
    this.timeout(20000);
    const cells = cellsOf(4); // 24 cells, 40 ms each
    const script = path.join(__dirname, "..", "fixtures", "experiment", "grid-child.js");
    const child = spawn(process.execPath, [script, results, "4", "40"], { stdio: "ignore" });
    const exited = new Promise<string | null>((resolve) => child.on("exit", (_code, signal) => resolve(signal)));
    const deadline = Date.now() + 10000;
    while (Date.now() < deadline) {
      if (fs.existsSync(results) && fs.readFileSync(results, "utf8").split("\n").length > 5) break;
      await sleep(10);
    }
    child.kill("SIGKILL");
    assert.equal(await exited, "SIGKILL");
    const before = recordedIds(results).length;
    assert.ok(before >= 5 && before < cells.length, `killed after ${before} records`);
    assert.ok(fs.existsSync(`${results}.lock`), "the killed run left its lock behind");
    const warnings: string[] = [];
    const res = await runGrid(cells, {
      resultsPath: results,
      runCell: async (c) => fakeRecord(c),
      onWarning: (m) => warnings.push(m),
    });
    assert.equal(res.skipped, before);
    assert.ok(
      warnings.some((w) => /taking over stale lock/.test(w)),
      warnings.join("\n"),
    );
    assertExactlyOnce(results, cells);
  });

  it("(b) a torn last line is ignored and its cell re-run; completed records count", async () => {
    const cells = cellsOf(1); // 6 cells
    await runGrid(cells, { resultsPath: results, runCell: async (c) => fakeRecord(c), limit: 3 });
    const torn = JSON.stringify(fakeRecord(cells[3]!));
    fs.appendFileSync(results, torn.slice(0, Math.floor(torn.length / 2))); // killed mid-append
    const warnings: string[] = [];
    const ran: string[] = [];
    const res = await runGrid(cells, {
      resultsPath: results,
      runCell: async (c) => (ran.push(c.cellId), fakeRecord(c)),
      onWarning: (m) => warnings.push(m),
    });
    assert.equal(res.skipped, 3);
    assert.deepEqual(
      ran,
      cells.slice(3).map((c) => c.cellId),
    );
    assert.ok(
      warnings.some((w) => /torn final line/.test(w)),
      warnings.join("\n"),
    );
    assertExactlyOnce(results, cells);
    // every line parses: the fragment was cut, not glued to the next record
    for (const line of fs.readFileSync(results, "utf8").trimEnd().split("\n")) JSON.parse(line);
  });

  it("(c) concurrency 2 runs two cells at a time and records the same set", async () => {
    const cells = cellsOf(2);
    let inFlight = 0;
    let maxInFlight = 0;
    const res = await runGrid(cells, {
      resultsPath: results,
      concurrency: 2,
      runCell: async (c) => {
        maxInFlight = Math.max(maxInFlight, ++inFlight);
        await sleep(c.seed === 0 ? 15 : 2); // finish out of order
        inFlight--;
        return fakeRecord(c);
      },
    });
    assert.equal(maxInFlight, 2);
    assert.equal(res.records.length, cells.length);
    assertExactlyOnce(results, cells);
    const sequential = path.join(dir, "seq.jsonl");
    await runGrid(cells, { resultsPath: sequential, runCell: async (c) => fakeRecord(c) });
    const byId = (file: string): string[] =>
      readJsonl<RunRecord>(file, {})
        .map((e) => JSON.stringify(e.record))
        .sort();
    assert.deepEqual(byId(results), byId(sequential));
  });

  it("stop: in-flight cells still get recorded, no new ones start", async () => {
    const cells = cellsOf(2);
    const started: number[] = [];
    await assert.rejects(
      runGrid(cells, {
        resultsPath: results,
        concurrency: 2,
        runCell: async (c) => {
          const i = cells.indexOf(c);
          started.push(i);
          if (i === 2) throw new KilledError("boom");
          await sleep(i === 1 ? 30 : 1);
          return fakeRecord(c);
        },
      }),
      GridRunError,
    );
    // cell 1 was in flight when cell 2 failed: it finished and was kept
    assert.deepEqual(recordedIds(results).sort(), [cells[0]!.cellId, cells[1]!.cellId].sort());
    assert.deepEqual(started, [0, 1, 2]);
  });

  it("record-and-continue logs failures to the errors file; the next run retries them", async () => {
    const cells = cellsOf(1);
    const res = await runGrid(cells, {
      resultsPath: results,
      onError: "record-and-continue",
      runCell: async (c) => {
        if (c === cells[1]) throw new Error("out of memory");
        if (c === cells[4]) return { ...fakeRecord(c), metrics: { accuracy: 1.5, macroF1: 0.5, mcc: 0 } };
        return fakeRecord(c);
      },
    });
    assert.equal(res.records.length, 4);
    assert.deepEqual(
      res.failed.map((f) => f.index),
      [1, 4],
    );
    assert.equal(res.remaining, 2);
    const errors = readJsonl<{ cellId: string; error: string }>(path.join(dir, "sub", "results.errors.jsonl"), {}).map(
      (e) => e.record,
    );
    assert.deepEqual(
      errors.map((e) => e.cellId),
      [cells[1]!.cellId, cells[4]!.cellId],
    );
    assert.match(errors[0]!.error, /out of memory/);
    assert.match(errors[1]!.error, /metrics.accuracy: expected a number in \[0, 1\], got 1.5/);
    const retry = await runGrid(cells, { resultsPath: results, runCell: async (c) => fakeRecord(c) });
    assert.equal(retry.records.length, 2);
    assertExactlyOnce(results, cells);
  });

  it("rejects a record that belongs to another cell", async () => {
    const cells = cellsOf(1);
    await assert.rejects(
      runGrid(cells, { resultsPath: results, runCell: async () => fakeRecord(cells[5]!) }),
      /does not belong to this cell \(use cellFields\(cell\)\): cellId [0-9a-f]{16} != [0-9a-f]{16}/,
    );
    assert.ok(!fs.existsSync(results) || recordedIds(results).length === 0);
  });

  it("refuses a second concurrent runner on the same results file", async () => {
    const cells = cellsOf(1);
    const slow = runGrid(cells, { resultsPath: results, runCell: async (c) => (await sleep(5), fakeRecord(c)) });
    await assert.rejects(
      runGrid(cells, { resultsPath: results, runCell: async (c) => fakeRecord(c) }),
      /held by this same process/,
    );
    await slow;
    assertExactlyOnce(results, cells);
  });

  it("abort signal: no new cells start, finished ones are kept", async () => {
    const cells = cellsOf(2);
    const ac = new AbortController();
    const res = await runGrid(cells, {
      resultsPath: results,
      signal: ac.signal,
      runCell: async (c) => {
        if (cells.indexOf(c) === 3) ac.abort();
        return fakeRecord(c);
      },
    });
    assert.equal(res.aborted, true);
    assert.equal(res.records.length, 4);
    assert.equal(res.remaining, 8);
  });

  it("a corrupt line in the middle of results is an error naming file and line", async () => {
    const cells = cellsOf(1);
    await runGrid(cells, { resultsPath: results, runCell: async (c) => fakeRecord(c), limit: 2 });
    const lines = fs.readFileSync(results, "utf8").split("\n");
    lines.splice(1, 0, "{not json");
    fs.writeFileSync(results, lines.join("\n"));
    await assert.rejects(
      runGrid(cells, { resultsPath: results, runCell: async (c) => fakeRecord(c) }),
      /results\.jsonl:2: corrupt line/,
    );
    fs.writeFileSync(results, '{"hello":1}\n');
    await assert.rejects(
      runGrid(cells, { resultsPath: results, runCell: async (c) => fakeRecord(c) }),
      /results\.jsonl:1: cellId: expected a 16-char hex cell id, got undefined/,
    );
  });

  it("validates options", async () => {
    const cells = cellsOf(1);
    const run = async (c: Cell): Promise<RunRecord> => fakeRecord(c);
    await assert.rejects(
      runGrid(cells, { resultsPath: results, runCell: run, concurrency: 0 }),
      /concurrency must be an integer >= 1, got 0/,
    );
    await assert.rejects(
      runGrid(cells, { resultsPath: results, runCell: run, onError: "ignore" as never }),
      /onError must be "stop" or "record-and-continue", got "ignore"/,
    );
    await assert.rejects(
      runGrid([cells[0]!, cells[0]!], { resultsPath: results, runCell: run }),
      /cells\[0\] and cells\[1\] are the same cell/,
    );
  });
});
