/**
 * A user's own task through `npm run grid` (a file task object in the grid's `tasks`, its file next to the grid
 * file), and a sweep split into shards: N local shard processes then `--collect` give the same cells as one run.
 * Child processes on kit-nano, a few steps.
 */
import { imbalanceStatement } from "../../lib/eval/class-balance";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { resolveCellTask } from "../../lib/experiment/cell-tasks";
import { cellProblems } from "../../lib/experiment/check-cells";
import { expandGrid, type GridSpec } from "../../lib/experiment/grid";
import { projectRoot } from "../../lib/experiment/project-paths";
import { readRecords } from "../../lib/experiment/record";
import { tempDir } from "../notebook/fixtures";

const root = projectRoot();
const gridJs = path.join(root, "build", "scripts", "grid.js");

function run(args: string[]): { rc: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [gridJs, ...args], { cwd: root, encoding: "utf8", timeout: 170000 });
  return { rc: r.status, out: r.stdout, err: r.stderr };
}

function runAsync(args: string[]): Promise<{ rc: number | null; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [gridJs, ...args], { cwd: root, stdio: ["ignore", "ignore", "pipe"] });
    let err = "";
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    child.on("close", (rc) => resolve({ rc, err }));
  });
}

const partyTask = { name: "party", file: "party.csv", textColumn: "text", labelColumn: "party" };
const small = { steps: 2, evalEvery: 2, maxDev: 4, maxTest: 6, batchSize: 2 };

function setUp(dir: string, spec: GridSpec): string {
  fs.copyFileSync(path.join(root, "datasets", "examples", "sotu-party.csv"), path.join(dir, "party.csv"));
  const file = path.join(dir, `${spec.name}.json`);
  fs.writeFileSync(file, JSON.stringify(spec));
  return file;
}

describe("scripts: npm run grid with a file task, and shards", function () {
  this.timeout(600000);
  let dir: string;
  before(function () {
    if (!fs.existsSync(path.join(root, "models", "kit-nano", "model.safetensors"))) this.skip();
    assert.ok(fs.existsSync(gridJs), "build first (npx tsc -p .)");
  });
  beforeEach(() => {
    dir = tempDir("kit-wire-");
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("expandGrid: a file task's cell id follows the file's content; built-in cell ids do not change", () => {
    const spec: GridSpec = {
      name: "ids",
      backbones: ["kit-nano"],
      tasks: ["yelp", partyTask],
      methods: ["zero-shot"],
      seeds: [0],
    };
    setUp(dir, spec);
    const builtin = expandGrid({ ...spec, tasks: ["yelp"] });
    const a = expandGrid(spec, { baseDir: dir });
    assert.equal(a[0]!.cellId, builtin[0]!.cellId, "built-in cells keep their ids");
    assert.equal(a[0]!.tasks, undefined);
    assert.match(a[1]!.task, /^party@[0-9a-f]{12}$/);
    assert.equal(a[1]!.config.task, a[1]!.task);
    assert.equal(a[1]!.tasks![a[1]!.task]!.ref.constructor, Object);
    assert.equal((a[1]!.tasks![a[1]!.task]!.ref as { file: string }).file, path.join(dir, "party.csv"));
    fs.appendFileSync(
      path.join(dir, "party.csv"),
      `"One more speech about tariffs and the mails.",whig,1841,John Tyler\n`,
    );
    const b = expandGrid(spec, { baseDir: dir });
    assert.equal(b[0]!.cellId, a[0]!.cellId);
    assert.notEqual(b[1]!.cellId, a[1]!.cellId, "changed data gives a new cell id");
  });

  it("expandGrid: fixed.stage1Task as a file task object is bound; the cells pass the up-front check", () => {
    const spec: GridSpec = {
      name: "two",
      backbones: ["kit-nano"],
      tasks: [{ ...partyTask, name: "party2" }],
      methods: ["prompt-tuning"],
      seeds: [0],
      fixed: { stage1Task: partyTask },
    };
    setUp(dir, spec);
    const [cell] = expandGrid(spec, { baseDir: dir });
    const s1 = cell!.options.stage1Task as string;
    assert.match(s1, /^party@[0-9a-f]{12}$/);
    assert.deepEqual(Object.keys(cell!.tasks!).sort(), [cell!.task, s1].sort());
    assert.deepEqual(cellProblems([cell!], { source: "two.json", backbones: false }), []);
    const unbound = { ...cell!, tasks: undefined };
    assert.match(
      cellProblems([unbound], { source: "two.json", backbones: false })[0]!,
      /task 'party2@[0-9a-f]{12}' is not one of/,
    );
  });

  it("a cell whose file changed after the grid was set up is refused, naming both hashes", async () => {
    const spec: GridSpec = {
      name: "changed",
      backbones: ["kit-nano"],
      tasks: [partyTask],
      methods: ["zero-shot"],
      seeds: [0],
    };
    setUp(dir, spec);
    const [cell] = expandGrid(spec, { baseDir: dir });
    const ok = await resolveCellTask(cell!, cell!.task, 0, "task");
    assert.equal(ok.name, "party");
    fs.appendFileSync(path.join(dir, "party.csv"), `"One more speech.",whig,1841,John Tyler\n`);
    await assert.rejects(
      resolveCellTask(cell!, cell!.task, 0, "task"),
      /party\.csv changed since the grid was set up \(sha256 [0-9a-f]{16}… then, [0-9a-f]{16}… now\)/,
    );
  });

  it("grid: bad file task objects are refused naming the grid file and the field", () => {
    const file = setUp(dir, {
      name: "bad",
      backbones: ["kit-nano"],
      tasks: [{ ...partyTask, file: "nope.csv" }],
      methods: ["zero-shot"],
      seeds: [0],
    });
    const r = run([file, "--out", path.join(dir, "out")]);
    assert.equal(r.rc, 1);
    assert.ok(
      r.err.includes(`${file}: tasks[0].file: task "party": no such file ${path.join(dir, "nope.csv")}`),
      r.err,
    );
  });

  it("grid: a file task runs zero-shot and prompt-tuning cells and records them, truncation counted", () => {
    const spec: GridSpec = {
      name: "party",
      backbones: ["kit-nano"],
      tasks: [partyTask],
      methods: ["zero-shot", "prompt-tuning"],
      seeds: [0],
      fixed: small,
    };
    const file = setUp(dir, spec);
    const out = path.join(dir, "out");
    const r = run([file, "--out", out, "--concurrency", "2"]);
    assert.equal(r.rc, 0, r.err);
    const records = readRecords(path.join(out, "results.jsonl"));
    const cells = expandGrid(spec, { baseDir: dir });
    assert.deepEqual(records.map((x) => x.cellId).sort(), cells.map((c) => c.cellId).sort());
    for (const rec of records) {
      assert.match(rec.task, /^party@[0-9a-f]{12}$/);
      assert.ok(rec.truncation && rec.truncation.examples.test > 0, JSON.stringify(rec.truncation));
      const counted = Object.values(rec.testLabels ?? {}).reduce((a, b) => a + b, 0);
      assert.equal(counted, Math.min(small.maxTest, rec.truncation!.examples.test), JSON.stringify(rec.testLabels));
    }
    assert.equal(records.find((x) => x.method === "prompt-tuning")!.steps, 2);
    assert.ok(fs.existsSync(path.join(out, "report.html")) && fs.existsSync(path.join(out, "summary.csv")));
    // The report states class imbalance exactly when the evaluated test labels are imbalanced.
    const note = imbalanceStatement(records[0]!.testLabels!, `The test split of "${records[0]!.task}"`);
    const html = fs.readFileSync(path.join(out, "report.html"), "utf8");
    assert.equal(/is imbalanced/.test(html), note !== null, String(note));
    // Resume: nothing runs again.
    const again = run([file, "--out", out, "--concurrency", "1"]);
    assert.equal(again.rc, 0, again.err);
    assert.match(again.err, /2 already recorded/);
  });

  it("bench --task TASK.json runs the file task alone; bad --task values are refused by name", () => {
    fs.mkdirSync(path.join(dir, "data"));
    fs.copyFileSync(path.join(root, "datasets", "examples", "sotu-party.csv"), path.join(dir, "data", "party.csv"));
    const taskFile = path.join(dir, "party-task.json");
    fs.writeFileSync(taskFile, JSON.stringify({ ...partyTask, file: "data/party.csv" }));
    const bench = (args: string[]) =>
      spawnSync(process.execPath, [path.join(root, "build", "scripts", "bench.js"), ...args], {
        cwd: root,
        encoding: "utf8",
        timeout: 170000,
      });
    const out = path.join(dir, "bench");
    const r = bench(["--quick", "--methods", "zero-shot", "--task", taskFile, "--out", out, "--concurrency", "1"]);
    assert.equal(r.status, 0, r.stderr);
    const records = readRecords(path.join(out, "results.jsonl"));
    assert.equal(records.length, 1);
    assert.match(records[0]!.task, /^party@[0-9a-f]{12}$/);
    const missing = bench([
      "--quick",
      "--methods",
      "zero-shot",
      "--task",
      JSON.stringify({ ...partyTask, file: path.join(dir, "nope.csv") }),
      "--out",
      out,
    ]);
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /--task \(JSON text\): task\.file: task "party": no such file/);
    const csv = bench(["--quick", "--task", path.join(dir, "data", "party.csv"), "--out", out]);
    assert.equal(csv.status, 1);
    assert.match(csv.stderr, /a data file needs its columns named/);
  });

  it("grid --shard I/N x2 then --collect equals a single run, cell for cell; missing cells exit 1", async () => {
    const spec: GridSpec = {
      name: "shards",
      backbones: ["kit-nano"],
      tasks: ["yelp", partyTask],
      methods: ["zero-shot"],
      seeds: [0, 1, 2],
      fixed: { maxTest: 6 },
    };
    const file = setUp(dir, spec);
    const out = path.join(dir, "sharded");
    const bad = run([file, "--out", out, "--shard", "2/2"]);
    assert.equal(bad.rc, 1);
    assert.match(bad.err, /--shard "2\/2": shard index 2 is out of range for 2 shards/);

    const s0 = await runAsync([file, "--out", out, "--shard", "0/2", "--concurrency", "1"]);
    assert.equal(s0.rc, 0, s0.err);
    assert.ok(fs.existsSync(path.join(out, "shards", "0-of-2", "results.jsonl")));
    const early = run([file, "--out", out, "--collect"]);
    const cells = expandGrid(spec, { baseDir: dir });
    const shard0 = readRecords(path.join(out, "shards", "0-of-2", "results.jsonl")).length;
    assert.ok(shard0 > 0 && shard0 < cells.length, `shard 0 holds ${shard0} of ${cells.length} cells`);
    assert.equal(early.rc, 1, "cells missing");
    assert.match(early.err, new RegExp(`${cells.length - shard0} cells? missing`));
    const s1 = await runAsync([file, "--out", out, "--shard", "1/2", "--concurrency", "1"]);
    assert.equal(s1.rc, 0, s1.err);
    const collected = run([file, "--out", out, "--collect"]);
    assert.equal(collected.rc, 0, collected.err);
    assert.ok(fs.existsSync(path.join(out, "report.html")) && fs.existsSync(path.join(out, "summary.csv")));

    const single = path.join(dir, "single");
    const one = run([file, "--out", single, "--concurrency", "2"]);
    assert.equal(one.rc, 0, one.err);
    const byId = (p: string) => new Map(readRecords(p).map((x) => [x.cellId, x.metrics]));
    const a = byId(path.join(out, "results.jsonl"));
    const b = byId(path.join(single, "results.jsonl"));
    assert.deepEqual([...a.keys()].sort(), cells.map((c) => c.cellId).sort());
    assert.deepEqual([...a.keys()].sort(), [...b.keys()].sort());
    for (const [id, m] of a) assert.deepEqual(m, b.get(id), `cell ${id}: same metrics`);
  });
});
