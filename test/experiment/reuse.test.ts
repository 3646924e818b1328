import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { expandGrid, type Cell } from "../../lib/experiment/grid";
import { readRecords } from "../../lib/experiment/record";
import { RecordReuse, runKeyOf } from "../../lib/experiment/reuse";
import { backboneInfo } from "../../lib/notebook/backbones";
import { earlierResultsFiles } from "../../lib/notebook/paths";
import { runCells, shippedFingerprints, type CellRunner } from "../../lib/notebook/run-cells";
import { fakeRecord } from "../fixtures/experiment/fake-record";
import { setupBackend } from "../helpers";
import { tinyCheckpointDir } from "../tuning/fixture";
import { installCheckpoint, RecordingSink, tempDir, TextStream } from "../notebook/fixtures";

const grid = (fixed: Record<string, unknown>, seeds = [0, 1]): Cell[] =>
  expandGrid({
    name: "g",
    backbones: ["tiny"],
    tasks: ["yelp"],
    methods: ["zero-shot", "prompt-tuning"],
    seeds,
    fixed,
  });

const writeJsonl = (file: string, rows: unknown[]): void => {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, rows.map((r) => JSON.stringify(r) + "\n").join(""));
};

describe("reusing finished runs across grids", function () {
  this.timeout(60000);
  let root: string;
  let fingerprint: string;
  before(async () => {
    await setupBackend();
  });
  beforeEach(() => {
    root = tempDir("kit-reuse-");
    installCheckpoint(tinyCheckpointDir(), root, "tiny");
    fingerprint = backboneInfo("tiny", root).recordedFingerprint!;
    assert.ok(fingerprint.startsWith("sha256:"));
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  it("keys a run by its resolved options: defaults spelled out or left out are the same run", () => {
    const [a] = grid({ steps: 5 });
    const [b] = grid({ steps: 5, maxTest: null, promptLength: 20, schedule: "warmup-linear" });
    const [c] = grid({ steps: 6 });
    assert.notEqual(a!.cellId, b!.cellId, "different spelling, different cellId");
    assert.equal(runKeyOf(a!.config), runKeyOf(b!.config));
    assert.notEqual(runKeyOf(a!.config), runKeyOf(c!.config));
    assert.equal(runKeyOf({ ...a!.config, noSuchOption: 1 }), null, "unknown options never match");
    assert.equal(runKeyOf({ ...a!.config, steps: -1 }), null, "invalid options never match");
  });

  it("copies identical runs into the results file instead of running them, and runs the rest", async () => {
    const source = grid({ steps: 5 });
    const sourceFile = path.join(root, "reports", "bench-x", "results.jsonl");
    const stale = fakeRecord(source[3]!, { backbone: { name: "tiny", fingerprint: "sha256:older-weights" } });
    writeJsonl(sourceFile, [
      ...source.slice(0, 3).map((c) => fakeRecord(c, { backbone: { name: "tiny", fingerprint } })),
      stale,
    ]);
    const broken = path.join(root, "reports", "notebooks", "99-broken-results.jsonl");
    writeJsonl(broken, [{ cellId: "not-a-record" }]);
    assert.deepEqual(earlierResultsFiles(root), [broken, sourceFile]);
    const shippedBench = path.join(root, "results", "bench-kit-small", "results.jsonl");
    const shippedNb = path.join(root, "results", "notebooks", "04-scale-results.jsonl");
    writeJsonl(shippedBench, []);
    writeJsonl(shippedNb, []);
    writeJsonl(path.join(root, "results", "ki", "other.jsonl"), []);
    assert.deepEqual(
      earlierResultsFiles(root),
      [broken, sourceFile, shippedNb, shippedBench],
      "shipped records under results/ come after the user's own under reports/",
    );

    // The notebook's grid: same runs spelled with explicit defaults, plus a seed the source never ran.
    const cells = grid({ steps: 5, maxTest: null, promptInit: "sampled-vocab" }, [0, 1, 2]);
    const calls: string[] = [];
    const runner: CellRunner = async (cell) => {
      calls.push(cell.cellId);
      return fakeRecord(cell, { backbone: { name: "tiny", fingerprint } });
    };
    const resultsPath = path.join(root, "reports", "notebooks", "nb-results.jsonl");
    const stream = new TextStream();
    const out = await runCells(cells, {
      resultsPath,
      runner,
      sink: new RecordingSink("console"),
      stream,
      root,
      reuseFrom: earlierResultsFiles(root),
    });

    assert.equal(out.ran, 6);
    assert.equal(out.reused, 3, "three source runs match, the stale-fingerprint one does not");
    assert.match(stream.text, /copying 3 identical finished runs from reports\/bench-x\/results\.jsonl, running 3 /);
    assert.match(stream.text, /reuse: skipping .*99-broken-results\.jsonl/);
    const ranIds = new Set(calls);
    const recorded = readRecords(resultsPath);
    assert.equal(recorded.length, 6);
    for (const r of recorded) {
      const cell = cells.find((c) => c.cellId === r.cellId)!;
      assert.deepEqual(r.config, cell.config, "a copied record takes the new cell's identity");
      const src = source.find((s) => runKeyOf(s.config) === runKeyOf(cell.config));
      if (r.reusedFrom) {
        assert.ok(!ranIds.has(r.cellId));
        assert.equal(
          r.reusedFrom.file,
          path.join("reports", "bench-x", "results.jsonl"),
          "named relative to the project root",
        );
        assert.equal(r.reusedFrom.cellId, src!.cellId);
        assert.deepEqual(r.metrics, fakeRecord(src!).metrics, "metrics come from the source run");
      } else {
        assert.ok(ranIds.has(r.cellId));
      }
    }
    // The stale source record (seed 1, prompt-tuning) was run again.
    assert.ok(calls.includes(cells.find((c) => runKeyOf(c.config) === runKeyOf(source[3]!.config))!.cellId));

    // Resuming: everything is recorded, nothing runs or is copied again; the file's own records are not "reused".
    calls.length = 0;
    const again = await runCells(cells, {
      resultsPath,
      runner,
      sink: new RecordingSink("console"),
      stream: new TextStream(),
      root,
      reuseFrom: earlierResultsFiles(root),
    });
    assert.equal(again.skipped, 6);
    assert.equal(again.reused, 0);
    assert.equal(calls.length, 0);
  });

  it("a record reused twice still names the file it was first run in", () => {
    const source = grid({ steps: 5 });
    const first = path.join(root, "a.jsonl");
    writeJsonl(first, [fakeRecord(source[0]!, { backbone: { name: "tiny", fingerprint } })]);
    const copy = new RecordReuse([first], { fingerprintOf: shippedFingerprints(root) }).find(
      grid({ steps: 5, maxDev: 200 })[0]!,
    )!;
    assert.equal(copy.reusedFrom.file, first);
    const second = path.join(root, "b.jsonl");
    writeJsonl(second, [copy]);
    const again = new RecordReuse([second], { fingerprintOf: shippedFingerprints(root) }).find(
      grid({ steps: 5, evalEvery: 50 })[0]!,
    )!;
    assert.deepEqual(again.reusedFrom, { file: first, cellId: source[0]!.cellId });
    assert.equal(
      new RecordReuse([second], { fingerprintOf: () => null }).find(grid({ steps: 5 })[0]!),
      null,
      "unknown backbone: never reused",
    );
  });
});
