import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { expandGrid, type Cell } from "../../lib/experiment/grid";
import { ProcessPool, WorkerTaskError } from "../../lib/experiment/process-pool";
import { readRecords, type RunRecord } from "../../lib/experiment/record";
import { runGrid } from "../../lib/experiment/runner";
import { fakeRecord, syntheticGridSpec } from "../fixtures/experiment/fake-record";

const WORKER = path.join(__dirname, "..", "fixtures", "experiment", "echo-worker.js");

describe("experiment/process-pool", function () {
  this.timeout(20000);

  it("runs each task in its own child process, at most `size` at a time", async () => {
    const pool = new ProcessPool<unknown, { y?: number; pid: number }>({ script: WORKER, size: 2, logPrefix: false });
    let maxRunning = 0;
    const tasks = [1, 2, 3, 4].map(async (x) => {
      const p = pool.run({ mode: "double", x });
      maxRunning = Math.max(maxRunning, pool.running);
      return p;
    });
    const sleeps = [pool.run({ mode: "sleep", ms: 20 })];
    const out = await Promise.all([...tasks, ...sleeps]);
    assert.deepEqual(
      out.slice(0, 4).map((o) => o.y),
      [2, 4, 6, 8],
    );
    assert.equal(new Set(out.map((o) => o.pid)).size, 5, "one process per task");
    assert.ok(!out.some((o) => o.pid === process.pid));
    assert.equal(maxRunning, 2);
    assert.equal(pool.running, 0);
    await pool.close();
  });

  it("reports a handler error and a crashed worker (exit code, stderr tail)", async () => {
    const pool = new ProcessPool<unknown, unknown>({ script: WORKER, size: 2, logPrefix: false });
    const origWrite = process.stderr.write.bind(process.stderr);
    process.stderr.write = (() => true) as typeof process.stderr.write; // keep the worker's stderr out of the test log
    try {
      await assert.rejects(
        pool.run({ mode: "throw" }),
        (e: unknown) =>
          e instanceof WorkerTaskError &&
          /deliberate failure in worker/.test(e.message) &&
          /echo-worker/.test(e.workerStack ?? ""),
      );
      await assert.rejects(
        pool.run({ mode: "exit" }),
        (e: unknown) =>
          e instanceof WorkerTaskError &&
          /exited with code 3 before returning a result; stderr ends with:\nabout to exit with code 3/.test(e.message),
      );
    } finally {
      process.stderr.write = origWrite;
    }
    // the pool still works afterwards
    assert.deepEqual(await pool.run({ mode: "double", x: 5 }).then((o) => (o as { y: number }).y), 10);
    await pool.close();
    await assert.rejects(pool.run({ mode: "double", x: 1 }), /run\(\) after close\(\)/);
  });

  it("kills a task that exceeds timeoutMs", async () => {
    const pool = new ProcessPool<unknown, unknown>({ script: WORKER, timeoutMs: 300, logPrefix: false });
    await assert.rejects(pool.run({ mode: "sleep", ms: 5000 }), /timed out after 300 ms/);
    await pool.close();
  });

  it("drives runGrid with 2 worker processes; records equal in-process ones", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pool-test-"));
    try {
      const cells = expandGrid(syntheticGridSpec(1)); // 6 cells
      const pool = new ProcessPool<{ mode: "cell"; cell: Cell }, RunRecord>({
        script: WORKER,
        size: 2,
        logPrefix: false,
      });
      const resultsPath = path.join(dir, "results.jsonl");
      const res = await runGrid(cells, {
        resultsPath,
        concurrency: 2,
        runCell: (cell) => pool.run({ mode: "cell", cell }),
      });
      await pool.close();
      assert.equal(res.records.length, 6);
      const byId = new Map(readRecords(resultsPath).map((r) => [r.cellId, r]));
      assert.equal(byId.size, 6);
      for (const c of cells) assert.deepEqual(byId.get(c.cellId), fakeRecord(c));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("validates options", () => {
    assert.throws(() => new ProcessPool({ script: "" }), /script must be a path/);
    assert.throws(() => new ProcessPool({ script: WORKER, size: 0 }), /size must be an integer >= 1, got 0/);
  });
});
