import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { expandGrid, type Cell } from "../../lib/experiment/grid";
import { appendJsonl, readJsonl } from "../../lib/io/jsonl";
import type { RunRecord } from "../../lib/experiment/record";
import { runGrid } from "../../lib/experiment/runner";
import {
  appendCollected,
  cellsOfShard,
  collectShards,
  describeMissing,
  listShardDirs,
  parseShardSpec,
  ShardConflictError,
  shardErrorsPath,
  shardOf,
  shardResultsPath,
  type ShardSpec,
} from "../../lib/experiment/shards";
import { fakeRecord, syntheticGridSpec } from "../fixtures/experiment/fake-record";

const quiet = (): void => {};
const cellsOf = (nSeeds: number): Cell[] => expandGrid(syntheticGridSpec(nSeeds));

/** Runs every shard of N with runGrid (as N separate processes would), each into its own file. */
async function runShards(dir: string, cells: readonly Cell[], n: number, fail?: (c: Cell) => boolean): Promise<void> {
  for (let i = 0; i < n; i++) {
    const shard: ShardSpec = { index: i, count: n };
    const mine = cellsOfShard(cells, shard);
    const resultsPath = shardResultsPath(dir, shard);
    fs.mkdirSync(path.dirname(resultsPath), { recursive: true });
    await runGrid(mine, {
      resultsPath,
      errorsPath: shardErrorsPath(dir, shard),
      onError: "record-and-continue",
      onWarning: quiet,
      runCell: async (c) => {
        if (fail?.(c)) throw new Error(`boom in ${c.cellId}`);
        return fakeRecord(c);
      },
    });
  }
}

describe("experiment/shards", () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "shards-test-"))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  describe("parseShardSpec", () => {
    it("reads 0-based I/N", () => {
      assert.deepEqual(parseShardSpec("0/1"), { index: 0, count: 1 });
      assert.deepEqual(parseShardSpec("3/4"), { index: 3, count: 4 });
      assert.deepEqual(parseShardSpec(" 2 / 8 "), { index: 2, count: 8 });
    });

    it("refuses out-of-range and malformed specs, naming the flag and what is expected", () => {
      assert.throws(
        () => parseShardSpec("3/2"),
        /--shard "3\/2": shard index 3 is out of range for 2 shards \(indices are 0-based: 0 \.\. 1; a Slurm array for 2 shards is --array=0-1\)/,
      );
      assert.throws(() => parseShardSpec("2/2"), /shard index 2 is out of range for 2 shards/);
      assert.throws(() => parseShardSpec("0/0"), /--shard "0\/0": the number of shards N must be at least 1, got 0/);
      for (const bad of ["-1/4", "1.5/4", "1/", "/4", "a/b", "1-4", "", "1/4/2"]) {
        assert.throws(() => parseShardSpec(bad), /--shard must be I\/N with 0 <= I < N/, bad);
      }
      assert.throws(() => parseShardSpec(3 as unknown), /--shard must be I\/N .* got 3/);
      assert.throws(() => parseShardSpec("0/1000000"), /at most 100000 shards/);
      assert.throws(() => parseShardSpec("5/2", "grid option shard"), /^Error: grid option shard "5\/2"/);
    });
  });

  describe("assignment", () => {
    it("every cell lands in exactly one shard, and the shards are roughly even", () => {
      const cells = cellsOf(20); // 120 cells
      const n = 4;
      const parts = Array.from({ length: n }, (_, i) => cellsOfShard(cells, { index: i, count: n }));
      assert.deepEqual(
        parts
          .flat()
          .map((c) => c.cellId)
          .sort(),
        cells.map((c) => c.cellId).sort(),
      );
      for (const p of parts) assert.ok(p.length > 15 && p.length < 45, `shard size ${p.length} of 120`);
    });

    it("extending the grid never moves a cell that was already assigned", () => {
      const small = cellsOf(2);
      const big = expandGrid({ ...syntheticGridSpec(5), tasks: ["sst2", "spam", "yelp"] });
      assert.ok(big.length > small.length * 3);
      const bigShard = new Map(big.map((c) => [c.cellId, shardOf(c.cellId, 7)]));
      for (const c of small) assert.equal(bigShard.get(c.cellId), shardOf(c.cellId, 7));
    });

    it("depends only on the cell id and N (a fixed value pins the hash)", () => {
      assert.equal(shardOf("0123456789abcdef", 1), 0);
      const a = shardOf("0123456789abcdef", 1000);
      assert.equal(shardOf("0123456789abcdef", 1000), a);
      assert.ok(Number.isInteger(a) && a >= 0 && a < 1000);
      assert.throws(() => shardOf("0123456789abcdef", 0), /count must be a positive integer/);
    });
  });

  it("paths: DIR/shards/I-of-N/results.jsonl", () => {
    assert.equal(
      shardResultsPath("out", { index: 2, count: 5 }),
      path.join("out", "shards", "2-of-5", "results.jsonl"),
    );
    fs.mkdirSync(path.join(dir, "shards", "1-of-3"), { recursive: true });
    fs.mkdirSync(path.join(dir, "shards", "0-of-3"), { recursive: true });
    fs.mkdirSync(path.join(dir, "shards", "notes"), { recursive: true });
    fs.mkdirSync(path.join(dir, "shards", "4-of-3"), { recursive: true });
    assert.deepEqual(
      listShardDirs(dir).map((d) => `${d.shard.index}/${d.shard.count}`),
      ["0/3", "1/3"],
    );
    assert.deepEqual(listShardDirs(path.join(dir, "nowhere")), []);
  });

  it("N shards collected equal a single-process run of the same grid, cell for cell", async () => {
    const cells = cellsOf(3); // 18 cells
    const single = path.join(dir, "single", "results.jsonl");
    await runGrid(cells, { resultsPath: single, runCell: async (c) => fakeRecord(c), onWarning: quiet });
    await runShards(dir, cells, 4);
    const got = collectShards(dir, { cells, onWarning: quiet });
    const want = readJsonl<RunRecord>(single, { onWarning: quiet }).map((e) => e.record);
    assert.deepEqual(
      got.records.map((r) => r.cellId),
      cells.map((c) => c.cellId),
    );
    assert.deepEqual(got.records, want);
    assert.equal(got.files.length, 4);
    assert.deepEqual(got.missing, []);
    assert.deepEqual(got.unexpected, []);
    assert.equal(got.duplicates, 0);

    const out = path.join(dir, "results.jsonl");
    assert.deepEqual(appendCollected(out, got, quiet), { appended: 18, alreadyPresent: 0 });
    assert.deepEqual(
      appendCollected(out, got, quiet),
      { appended: 0, alreadyPresent: 18 },
      "collecting twice appends nothing",
    );
    assert.deepEqual(
      readJsonl<RunRecord>(out, { onWarning: quiet }).map((e) => e.record),
      want,
    );
  });

  it("a cell recorded twice with the same result is kept once; timings may differ", async () => {
    const cells = cellsOf(1);
    await runShards(dir, cells, 2);
    // The same grid run again with 3 shards (e.g. after a resize): every cell now appears twice.
    for (let i = 0; i < 3; i++) {
      const s = { index: i, count: 3 };
      fs.mkdirSync(path.dirname(shardResultsPath(dir, s)), { recursive: true });
      for (const c of cellsOfShard(cells, s))
        appendJsonl(
          shardResultsPath(dir, s),
          fakeRecord(c, {
            wallSeconds: 9,
            msPerStep: 7,
            startedAt: "2026-01-01T00:00:00.000Z",
            finishedAt: "2026-01-01T00:00:09.000Z",
          }),
        );
    }
    const got = collectShards(dir, { cells, onWarning: quiet });
    assert.equal(got.records.length, cells.length);
    assert.equal(got.duplicates, cells.length);
    assert.ok(
      got.records.every((r) => r.wallSeconds === 0.01),
      "the first source (N=2, read first) is kept",
    );
  });

  it("conflicting duplicates are refused, naming both files and lines and the differing fields", async () => {
    const cells = cellsOf(1);
    await runShards(dir, cells, 2);
    const victim = cells[0]!;
    const other: ShardSpec = { index: 0, count: 5 };
    fs.mkdirSync(path.dirname(shardResultsPath(dir, other)), { recursive: true });
    appendJsonl(shardResultsPath(dir, other), fakeRecord(cells[1]!));
    appendJsonl(shardResultsPath(dir, other), fakeRecord(victim, { metrics: { accuracy: 0.1, macroF1: 0.1, mcc: 0 } }));
    const first = shardResultsPath(dir, { index: shardOf(victim.cellId, 2), count: 2 });
    const line = cellsOfShard(cells, { index: shardOf(victim.cellId, 2), count: 2 }).indexOf(victim) + 1;
    assert.throws(
      () => collectShards(dir, { cells, onWarning: quiet }),
      (err: unknown) => {
        assert.ok(err instanceof ShardConflictError);
        assert.equal(
          err.message,
          `cell ${victim.cellId} is recorded twice with different results: ${first}:${line} and ${shardResultsPath(dir, other)}:2 differ in metrics. Delete the record that is wrong (or the whole shard file) and collect again.`,
        );
        return true;
      },
    );
  });

  it("a conflict with a record already in DIR/results.jsonl is refused before anything is written", async () => {
    const cells = cellsOf(1);
    await runShards(dir, cells, 2);
    const out = path.join(dir, "results.jsonl");
    appendJsonl(out, fakeRecord(cells[2]!, { steps: 99 }));
    const before = fs.readFileSync(out, "utf8");
    const got = collectShards(dir, { cells, onWarning: quiet });
    assert.throws(
      () => appendCollected(out, got, quiet),
      new RegExp(`cell ${cells[2]!.cellId} .*${out.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}:1 and .* differ in steps`),
    );
    assert.equal(fs.readFileSync(out, "utf8"), before);
    assert.ok(!fs.existsSync(`${out}.lock`));
  });

  it("missing cells are listed with their last logged failure; cells outside the grid are reported", async () => {
    const cells = cellsOf(2);
    const failing = new Set([cells[1]!.cellId, cells[4]!.cellId]);
    await runShards(dir, cells, 3, (c) => failing.has(c.cellId));
    const notRun = cells[7]!;
    // shard files do not hold notRun (as if its shard was killed before reaching it)
    for (const { dir: d } of listShardDirs(dir)) {
      const f = path.join(d, "results.jsonl");
      const kept = fs
        .readFileSync(f, "utf8")
        .split("\n")
        .filter((l) => l && !l.includes(notRun.cellId));
      fs.writeFileSync(f, kept.map((l) => l + "\n").join(""));
    }
    const foreign = expandGrid({ ...syntheticGridSpec(1), tasks: ["yelp"] })[0]!;
    appendJsonl(shardResultsPath(dir, { index: 0, count: 3 }), fakeRecord(foreign));
    const got = collectShards(dir, { cells, onWarning: quiet });
    assert.equal(got.records.length, cells.length - 3 + 1);
    assert.deepEqual(got.unexpected, [foreign.cellId]);
    assert.deepEqual(
      got.missing.map((m) => [m.cellId, m.lastError?.message ?? null]),
      cells
        .filter((c) => failing.has(c.cellId) || c === notRun)
        .map((c) => [c.cellId, c === notRun ? null : `boom in ${c.cellId}`]),
    );
    const text = describeMissing(got.missing);
    assert.match(text, /^3 cells missing:/);
    assert.match(text, new RegExp(`${notRun.cellId}: no record and no logged failure`));
    assert.match(
      text,
      new RegExp(`${cells[1]!.cellId}: failed: boom in ${cells[1]!.cellId} \\(.*results\\.errors\\.jsonl:1\\)`),
    );
  });

  it("a record that is not a valid run record is an error naming file and line", async () => {
    const cells = cellsOf(1);
    await runShards(dir, cells, 1);
    const f = shardResultsPath(dir, { index: 0, count: 1 });
    appendJsonl(f, { cellId: "0123456789abcdef", task: "x" });
    const n = cells.length + 1;
    assert.throws(
      () => collectShards(dir, { onWarning: quiet }),
      new RegExp(`${f.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}:${n}: invalid run record`),
    );
  });

  it("no shard folders: nothing collected, every cell missing", () => {
    const cells = cellsOf(1);
    const got = collectShards(dir, { cells, onWarning: quiet });
    assert.deepEqual(got.records, []);
    assert.equal(got.missing.length, cells.length);
  });
});
