/**
 * `npm run grid` and `npm run bench` as a user runs them (child processes on kit-nano, a few steps): bad grids are
 * refused before anything runs, failed cells make the command fail with their cause, a resume never mixes backbone
 * weights, and the bench writes its summary in a fresh clone.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { expandGrid, type GridSpec } from "../../lib/experiment/grid";
import { projectRoot } from "../../lib/experiment/project-paths";
import { readRecords } from "../../lib/experiment/record";
import { fakeRecord } from "../fixtures/experiment/fake-record";
import { tempDir } from "../notebook/fixtures";

const root = projectRoot();

function run(script: "grid" | "bench", args: string[]): { rc: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [path.join(root, "build", "scripts", `${script}.js`), ...args], {
    cwd: root,
    encoding: "utf8",
    timeout: 120000,
  });
  return { rc: r.status, out: r.stdout, err: r.stderr };
}

function writeGrid(dir: string, spec: GridSpec): string {
  const file = path.join(dir, `${spec.name}.json`);
  fs.writeFileSync(file, JSON.stringify(spec));
  return file;
}

const small = { steps: 4, evalEvery: 4, maxDev: 8, maxTest: 8, batchSize: 4 };

describe("scripts: npm run grid / npm run bench", function () {
  this.timeout(180000);
  let dir: string;
  before(function () {
    if (!fs.existsSync(path.join(root, "models", "kit-nano", "model.safetensors"))) this.skip();
    assert.ok(fs.existsSync(path.join(root, "build", "scripts", "grid.js")), "build first (npx tsc -p .)");
  });
  beforeEach(() => {
    dir = tempDir("kit-cli-");
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("grid: a bad option value stops the run before any cell starts, naming file, cell and grid field", () => {
    const file = writeGrid(dir, {
      name: "bad",
      backbones: ["kit-nano"],
      tasks: ["yelp"],
      methods: ["zero-shot", "prompt-tuning"],
      seeds: [0],
      fixed: small,
      methodOptions: { "prompt-tuning": { lr: [0.03, 1e30] } },
    });
    const out = path.join(dir, "out");
    const r = run("grid", [file, "--out", out, "--concurrency", "1"]);
    assert.equal(r.rc, 1);
    assert.ok(r.err.includes(`${file}: 1 of 3 cells are invalid; nothing was run`), r.err);
    assert.match(
      r.err,
      /cell 2 \(kit-nano\/yelp\/prompt-tuning seed=0 .*\): option lr must be null or a number in \(0, 10\], got 1e\+30 \(set by methodOptions\.prompt-tuning\.lr\)/,
    );
    assert.doesNotMatch(r.err, /\n\s+at /, "no stack trace");
    assert.equal(fs.existsSync(path.join(out, "results.jsonl")), false, "nothing ran");
  });

  it("grid: failed cells (a diverged run) exit 1 with the count and first cause; only good runs are recorded", () => {
    // Full fine-tuning at lr 10 diverges within a few steps on kit-nano: a failed cell, never a record.
    const diverging = {
      name: "div",
      backbones: ["kit-nano"],
      tasks: ["yelp"],
      methods: ["full-finetune"],
      seeds: [0],
      fixed: { ...small, lr: 10, schedule: "constant", clipNorm: 0 },
    };
    const out = path.join(dir, "out");
    const all = run("grid", [writeGrid(dir, diverging), "--out", out, "--concurrency", "1"]);
    assert.equal(all.rc, 1, all.err);
    assert.doesNotMatch(all.err + all.out, /ENOENT|cannot read/, "every cell failed: no unrelated missing-file error");
    assert.match(
      all.err,
      /1 of 1 cells run failed \(details in .*results\.errors\.jsonl\); first: cell 0 \(kit-nano\/yelp\/full-finetune seed=0 .*\): .*with lr 10: training diverged at step \d+ of 4/,
    );
    assert.match(all.out, /0\/1 cells recorded/);

    const mixed = run("grid", [
      writeGrid(dir, { ...diverging, name: "mixed", methods: ["zero-shot", "full-finetune"] }),
      "--out",
      out,
      "--concurrency",
      "1",
    ]);
    assert.equal(mixed.rc, 1, "one cell failed: the command fails");
    assert.match(mixed.out, /1\/2 cells recorded/);
    assert.match(mixed.err, /1 of 2 cells run failed/);
    assert.deepEqual(
      readRecords(path.join(out, "results.jsonl")).map((r) => r.method),
      ["zero-shot"],
    );
  });

  it("grid: a resume refuses records made with other weights of the backbone, naming both fingerprints", () => {
    const spec: GridSpec = {
      name: "resume",
      backbones: ["kit-nano"],
      tasks: ["yelp"],
      methods: ["zero-shot"],
      seeds: [0, 1],
      fixed: small,
    };
    const out = path.join(dir, "out");
    fs.mkdirSync(out);
    const results = path.join(out, "results.jsonl");
    fs.writeFileSync(results, JSON.stringify(fakeRecord(expandGrid(spec)[0]!)) + "\n"); // fingerprint "sha256:kit-nano-weights"
    const before = fs.readFileSync(results, "utf8");
    const r = run("grid", [writeGrid(dir, spec), "--out", out, "--concurrency", "1"]);
    assert.equal(r.rc, 1);
    assert.match(
      r.err,
      /results\.jsonl: 1 recorded run\(s\) of these cells used another version of backbone 'kit-nano' \(recorded weights fingerprint sha256:kit-nano-weights, the backbone now has sha256:[0-9a-f]{64}\); .*another --out DIR/,
    );
    assert.equal(fs.readFileSync(results, "utf8"), before, "the results file is left as it was");
  });

  it("bench: bad flags are refused by name, without a stack trace", () => {
    for (const [flags, message] of [
      [["--steps", "0"], /--steps must be a positive integer, got 0/],
      [["--seeds", "0,x"], /--seeds must be a comma-separated list of distinct integers, got "0,x"/],
      [["--concurrency", "0"], /--concurrency must be a positive integer, got 0/],
      [
        ["--quick", "--methods", "prompt"],
        /npm run bench: 2 of 2 cells are invalid; nothing was run:\n {2}npm run bench: cells 0, 1 \(first: kit-nano\/yelp\/prompt .*\): method 'prompt' is not one of/,
      ],
      [["--tasks", ","], /--tasks must be a comma-separated list of distinct names, got ","/],
    ] as const) {
      const r = run("bench", [...flags, "--out", path.join(dir, "never")]);
      assert.equal(r.rc, 1, flags.join(" "));
      assert.match(r.err, message);
      assert.doesNotMatch(r.err, /\n\s+at /, "no stack trace");
      assert.equal(fs.existsSync(path.join(dir, "never")), false);
    }
  });

  it("bench --out DIR works without a reports/ folder (fresh clone) and writes its summary", () => {
    const reports = path.join(root, "reports");
    const latest = path.join(reports, "latest");
    const hadReports = fs.existsSync(reports);
    const oldLink = fs.lstatSync(latest, { throwIfNoEntry: false })?.isSymbolicLink() ? fs.readlinkSync(latest) : null;
    if (!hadReports) assert.equal(fs.existsSync(reports), false);
    const out = path.join(dir, "bench");
    try {
      const r = run("bench", [
        "--quick",
        "--methods",
        "zero-shot",
        "--tasks",
        "yelp",
        "--concurrency",
        "1",
        "--out",
        out,
      ]);
      assert.equal(r.rc, 0, r.err);
      assert.ok(fs.existsSync(path.join(out, "summary.csv")), "summary written");
      assert.ok(fs.existsSync(path.join(out, "report.html")), "report written");
      assert.match(r.out, /1\/1 cells recorded/);
      assert.equal(path.resolve(reports, fs.readlinkSync(latest)), out, "reports/latest points at the run");
    } finally {
      // Leave the checkout as it was.
      if (!hadReports) fs.rmSync(reports, { recursive: true, force: true });
      else {
        fs.rmSync(latest, { force: true });
        if (oldLink !== null) fs.symlinkSync(oldLink, latest);
      }
    }
  });
});
