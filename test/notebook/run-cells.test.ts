import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { expandGrid, makeCell, type Cell } from "../../lib/experiment/grid";
import { readRecords, validateRecord } from "../../lib/experiment/record";
import { projectRoot } from "../../lib/experiment/run-cell";
import { cellLabels, cellUnits, recordsOf, runCells, uniqueCells, type CellRunner } from "../../lib/notebook/run-cells";
import { fakeRecord } from "../fixtures/experiment/fake-record";
import { setupBackend } from "../helpers";
import { tinyCheckpointDir } from "../tuning/fixture";
import { installCheckpoint, RecordingSink, tempDir, TextStream } from "./fixtures";

const cells = (): Cell[] =>
  expandGrid({
    name: "t",
    backbones: ["tiny"],
    tasks: ["yelp"],
    methods: ["zero-shot", "prompt-tuning"],
    seeds: [0, 1],
    methodOptions: { "prompt-tuning": { promptLength: [2, 4] } },
    fixed: { steps: 5 },
  });

/** A runner that reports every step and returns a synthetic record; counts its calls. */
function fakeRunner(): CellRunner & { calls: string[] } {
  const calls: string[] = [];
  const run = (async (cell, progress) => {
    calls.push(cell.cellId);
    if (cell.method !== "zero-shot") for (let s = 1; s <= 5; s++) progress.onStep?.(s, 5, 1 / s);
    return fakeRecord(cell);
  }) as CellRunner & { calls: string[] };
  run.calls = calls;
  return run;
}

describe("notebook runCells", function () {
  this.timeout(60000);
  let dir: string;
  beforeEach(() => {
    dir = tempDir("kit-nb-run-");
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("labels cells by what differs among them, and counts progress units", () => {
    const cs = cells();
    const labels = cellLabels(cs);
    assert.equal(labels.get(cs[0]!.cellId), "zero-shot s0");
    assert.equal(labels.get(cs[2]!.cellId), "prompt-tuning promptLength=2 s0");
    const sizes = [16, null].map((trainPerClass) =>
      makeCell({ backbone: "b", task: "yelp", method: "head-only", seed: 2, options: { trainPerClass } }),
    );
    assert.deepEqual([...cellLabels(sizes).values()], ["trainPerClass=16 s2", "trainPerClass=all s2"]);
    const stages = ["amazon", null].map((stage1Task) =>
      makeCell({ backbone: "b", task: "yelp", method: "prompt-tuning", seed: 0, options: { stage1Task } }),
    );
    assert.deepEqual([...cellLabels(stages).values()], ["stage1Task=amazon s0", "stage1Task=none s0"]);
    assert.equal(cellUnits(cs[0]!), 1);
    assert.equal(cellUnits(cs[2]!), 5);
    assert.equal(
      cellUnits(makeCell({ backbone: "b", task: "yelp", method: "full-finetune", seed: 0 })),
      200,
      "default steps",
    );
    assert.throws(
      () => cellUnits(makeCell({ backbone: "b", task: "yelp", method: "nope", seed: 0 })),
      /unknown method 'nope'/,
    );
  });

  it("runs, records and resumes: a second call skips finished cells; fresh runs them again", async () => {
    const resultsPath = path.join(dir, "sub", "r.jsonl");
    const sink = new RecordingSink();
    const runner = fakeRunner();
    const cs = cells();
    const first = await runCells(cs, {
      resultsPath,
      runner,
      sink,
      stream: new TextStream(),
      checkFingerprints: false,
      label: "demo",
    });
    assert.equal(first.ran, 6);
    assert.equal(first.skipped, 0);
    assert.deepEqual(
      first.records.map((r) => r.cellId),
      cs.map((c) => c.cellId),
      "records come back in cell order",
    );
    assert.equal(readRecords(resultsPath).length, 6);
    const html = sink.html();
    assert.match(html, /demo/, "a progress bar with the label");
    assert.match(html, /finished 6 of 6/, "the live table of finished cells");
    assert.match(html, /prompt-tuning promptLength=4 s1/);
    assert.ok(
      sink.shown.some((o) => "application/vnd.plotly.v1+json" in o.bundle) ||
        sink.updates.some((o) => "application/vnd.plotly.v1+json" in o.bundle),
      "a live loss curve",
    );

    const again = fakeRunner();
    const second = await runCells(cs, {
      resultsPath,
      runner: again,
      sink: new RecordingSink(),
      stream: new TextStream(),
      checkFingerprints: false,
    });
    assert.equal(second.ran, 0);
    assert.equal(second.skipped, 6);
    assert.equal(again.calls.length, 0);
    assert.equal(second.records.length, 6);

    const fresh = fakeRunner();
    const third = await runCells(cs.slice(0, 2), {
      resultsPath,
      runner: fresh,
      sink: new RecordingSink(),
      stream: new TextStream(),
      checkFingerprints: false,
      fresh: true,
    });
    assert.equal(third.ran, 2);
    assert.equal(readRecords(resultsPath).length, 2, "fresh removed the old file");
  });

  it("prints one line per finished cell on the console", async () => {
    const stream = new TextStream();
    await runCells(cells().slice(0, 2), {
      resultsPath: path.join(dir, "r.jsonl"),
      runner: fakeRunner(),
      sink: new RecordingSink("console"),
      stream,
      checkFingerprints: false,
      label: "con",
    });
    assert.match(stream.text, /con: 2 cells, 0 already in .*, running 2 in this process/);
    assert.equal((stream.text.match(/\[con\] \[\d\/2\] done /g) ?? []).length, 2);
  });

  it("a failing cell stops the call with the cell named", async () => {
    const runner: CellRunner = async (cell) => {
      if (cell.seed === 1) throw new Error("boom");
      return fakeRecord(cell);
    };
    await assert.rejects(
      runCells(cells(), {
        resultsPath: path.join(dir, "r.jsonl"),
        runner,
        sink: new RecordingSink(),
        stream: new TextStream(),
        checkFingerprints: false,
      }),
      /zero-shot seed=1 .*failed: boom/,
    );
  });

  it("refuses to resume records made with another version of a shipped backbone", async () => {
    await setupBackend();
    const root = tempDir("kit-nb-root-");
    installCheckpoint(tinyCheckpointDir(), root, "tiny");
    const resultsPath = path.join(dir, "r.jsonl");
    const cs = cells();
    // fakeRecord's fingerprint is "sha256:tiny-weights", not the installed checkpoint's.
    await runCells(cs.slice(0, 1), {
      resultsPath,
      runner: fakeRunner(),
      sink: new RecordingSink(),
      stream: new TextStream(),
      root,
    });
    await assert.rejects(
      runCells(cs, { resultsPath, runner: fakeRunner(), sink: new RecordingSink(), stream: new TextStream(), root }),
      /r\.jsonl: 1 recorded run\(s\) of these cells used another version of backbone 'tiny' .*move that file away/,
    );
    const ok = await runCells(cs, {
      resultsPath,
      runner: fakeRunner(),
      sink: new RecordingSink(),
      stream: new TextStream(),
      root,
      checkFingerprints: false,
    });
    assert.equal(ok.skipped, 1);
    fs.rmSync(root, { recursive: true, force: true });
  });

  it("validates every cell before the first runs, naming the label, the cell and the option", async () => {
    const runner = fakeRunner();
    const cs = [
      ...cells(),
      makeCell({
        backbone: "tiny",
        task: "yelp",
        method: "prompt-tuning",
        seed: 0,
        options: { steps: 5, clipNorm: -1 },
      }),
    ];
    const resultsPath = path.join(dir, "r.jsonl");
    await assert.rejects(
      runCells(cs, {
        resultsPath,
        runner,
        sink: new RecordingSink(),
        stream: new TextStream(),
        checkFingerprints: false,
        label: "study",
      }),
      /runCells \(study\): 1 of 7 cells are invalid; nothing was run:\n {2}runCells \(study\): cell 6 \(tiny\/yelp\/prompt-tuning seed=0 clipNorm=-1 steps=5\): option clipNorm \(0 disables clipping\) must be a number >= 0, got -1/,
    );
    assert.equal(runner.calls.length, 0, "no cell ran");
    assert.equal(fs.existsSync(resultsPath), false);
  });

  it("merges cell lists without duplicates and picks a study's records", () => {
    const cs = cells();
    const merged = uniqueCells(cs.slice(0, 3), cs.slice(2), cs.slice(0, 1));
    assert.deepEqual(
      merged.map((c) => c.cellId),
      cs.map((c) => c.cellId),
    );
    const recs = cs.map((c) => fakeRecord(c)).reverse();
    assert.deepEqual(
      recordsOf(recs, cs.slice(1, 3)).map((r) => r.cellId),
      [cs[1]!.cellId, cs[2]!.cellId],
    );
  });

  it("validates options", async () => {
    const base = { resultsPath: path.join(dir, "r.jsonl"), sink: new RecordingSink(), stream: new TextStream() };
    await assert.rejects(runCells(cells(), { ...base, workers: -1 }), /workers must be an integer >= 0, got -1/);
    await assert.rejects(runCells(cells(), { ...base, resultsPath: "" }), /resultsPath must be a non-empty string/);
    await assert.rejects(runCells([], base), /no cells given/);
  });

  it("a diverged run is a failed cell with its cause, never a record", async () => {
    await setupBackend();
    const options = {
      steps: 6,
      batchSize: 4,
      evalEvery: 6,
      maxDev: 8,
      maxTest: 8,
      lr: 10,
      schedule: "constant",
      clipNorm: 0,
    };
    const cell = makeCell({ backbone: tinyCheckpointDir(), task: "yelp", method: "full-finetune", seed: 0, options });
    const resultsPath = path.join(dir, "div.jsonl");
    const r = await runCells([cell], {
      resultsPath,
      sink: new RecordingSink(),
      stream: new TextStream(),
      onError: "record-and-continue",
    });
    assert.equal(r.records.length, 0);
    assert.equal(r.failed.length, 1);
    assert.match(
      r.failed[0]!.error.message,
      /\(yelp\/full-finetune seed=0\) with lr 10: training (diverged at step \d+ of 6|stopped at step \d+ of 6: loss .* \(not finite\))/,
    );
    assert.equal(readRecords(resultsPath, { allowMissing: true }).length, 0);
  });

  it("runs real cells in this process and in a worker process", async function () {
    await setupBackend();
    const options = { steps: 2, batchSize: 4, evalEvery: 2, maxDev: 8, maxTest: 8, promptLength: 2, warmupSteps: 1 };
    const real = ["zero-shot", "prompt-tuning"].map((method) =>
      makeCell({ backbone: tinyCheckpointDir(), task: "yelp", method, seed: 0, options }),
    );
    const sink = new RecordingSink();
    const here = await runCells(real, { resultsPath: path.join(dir, "here.jsonl"), sink, stream: new TextStream() });
    here.records.forEach((r) => validateRecord(r, "in-process record"));
    assert.equal(here.records[1]!.steps, 2);
    assert.ok(
      fs.existsSync(path.join(projectRoot(), "build", "lib", "experiment", "cell-worker.js")),
      "build first (npx tsc -p .)",
    );
    const pooled = await runCells(real, {
      resultsPath: path.join(dir, "pool.jsonl"),
      workers: 1,
      sink: new RecordingSink(),
      stream: new TextStream(),
    });
    assert.equal(pooled.ran, 2);
    // Same seed and data in both: the same test accuracy.
    assert.deepEqual(
      pooled.records.map((r) => r.metrics.accuracy),
      here.records.map((r) => r.metrics.accuracy),
    );
  });
});
