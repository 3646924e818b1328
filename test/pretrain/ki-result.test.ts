import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { sizeConfig } from "../../lib/backbone/sizes";
import { resolveKiExperimentOptions } from "../../lib/pretrain/ki-experiment-options";
import {
  KI_RESULT_KIND,
  KI_RESULT_VERSION,
  KiExperimentResult,
  kiResultFiles,
  modelInfo,
  readKiResult,
} from "../../lib/pretrain/ki-result";
import { RunSummary, TimedCurvePoint } from "../../lib/pretrain/ki-run-summary";
import { seedSaving, summarizeSavings } from "../../lib/pretrain/ki-savings";
import { setupBackend } from "../helpers";
import { tempDir, curve, removeTempDirs } from "./ki-fixtures";

describe("pretrain/ki-result", () => {
  before(setupBackend);
  after(removeTempDirs);

  function result(): KiExperimentResult {
    const o = resolveKiExperimentOptions({ steps: 400 });
    const scratchCurve = curve([
      [100, 5, 10],
      [200, 4, 20],
      [300, 3.5, 30],
      [400, 3.2, 40],
    ]);
    const kiCurve = curve([
      [100, 4.5, 12],
      [200, 3.4, 24],
      [300, 3.0, 33],
      [400, 2.9, 44],
    ]);
    const run = (kind: "scratch" | "ki", c: TimedCurvePoint[]): RunSummary => ({
      kind,
      runDir: `runs/${kind}`,
      checkpoint: `runs/${kind}/model`,
      command: `node build/scripts/pretrain.js --${kind}`,
      steps: 400,
      tokensSeen: 409600,
      trainSeconds: c[c.length - 1]!.seconds,
      curve: c,
      finalValLoss: c[c.length - 1]!.valLoss,
      finalValPerplexity: Math.exp(c[c.length - 1]!.valLoss),
      fingerprint: `sha256:${kind}`,
      backends: ["wasm 4.22.0"],
    });
    const seeds = [
      {
        seed: 0,
        scratch: run("scratch", scratchCurve),
        ki: run("ki", kiCurve),
        saving: seedSaving(scratchCurve, kiCurve, 0.12, 200),
      },
    ];
    return {
      kind: KI_RESULT_KIND,
      version: KI_RESULT_VERSION,
      createdAt: "2024-01-01T00:00:00.000Z",
      command: "node build/scripts/ki-experiment.js --steps 400",
      options: o,
      experimentDir: "runs/pretrain/ki-exp/x",
      student: modelInfo("kit-small", sizeConfig("kit-small")),
      teacher: { ...modelInfo("kit-nano", sizeConfig("kit-nano")), dir: "models/kit-nano", fingerprint: "sha256:t" },
      teacherOverhead: 0.12,
      backend: "wasm 4.22.0",
      seeds,
      summary: summarizeSavings(seeds),
      ptCheck: null,
    };
  }

  it("round-trips through JSON and is listed from a folder or a file", () => {
    const dir = tempDir("kit-kiexp-r-");
    const r = result();
    fs.writeFileSync(path.join(dir, "b.json"), JSON.stringify(r));
    fs.writeFileSync(path.join(dir, "a.json"), JSON.stringify(r));
    fs.writeFileSync(path.join(dir, "notes.txt"), "not a result");
    assert.deepEqual(kiResultFiles(dir), [path.join(dir, "a.json"), path.join(dir, "b.json")]);
    assert.deepEqual(kiResultFiles(path.join(dir, "b.json")), [path.join(dir, "b.json")]);
    assert.deepEqual(kiResultFiles(path.join(dir, "missing")), []);
    const back = readKiResult(path.join(dir, "a.json"));
    assert.deepEqual(back, JSON.parse(JSON.stringify(r)));
    assert.ok(Math.abs(back.seeds[0]!.saving.saved! - 0.375) < 1e-12);
  });

  it("rejects a malformed file naming the file and the field", () => {
    const dir = tempDir("kit-kiexp-s-");
    const write = (name: string, mutate: (r: Record<string, any>) => void): string => {
      const r = JSON.parse(JSON.stringify(result())) as Record<string, any>;
      mutate(r);
      const file = path.join(dir, name);
      fs.writeFileSync(file, JSON.stringify(r));
      return file;
    };
    const bad = (f: string, re: RegExp) =>
      assert.throws(
        () => readKiResult(f),
        (e: Error) => re.test(e.message) && e.message.startsWith(f),
      );
    bad(
      write("kind.json", (r) => (r.kind = "other")),
      /: not a valid KI result \(1 problem\):\n  kind must be "softprompt-kit\/ki-experiment", got "other"$/,
    );
    bad(
      write("version.json", (r) => (r.version = 2)),
      /version must be 1, got 2/,
    );
    bad(
      write("curve.json", (r) => (r.seeds[0].ki.curve[2].valLoss = "3.0")),
      /seeds\[0\]\.ki\.curve\[2\]\.valLoss must be a finite number, got "3.0"/,
    );
    bad(
      write("saved.json", (r) => delete r.seeds[0].saving.saved),
      /seeds\[0\]\.saving\.saved must be null or a finite number, got undefined/,
    );
    bad(
      write("teacher.json", (r) => delete r.teacher.fingerprint),
      /teacher\.fingerprint must be a string, got undefined/,
    );
    bad(
      write("pt.json", (r) => (r.ptCheck = { rows: [{ method: "prompt-tuning", student: "ki" }], summary: [] })),
      /ptCheck\.rows\[0\]\.testAccuracy must be a finite number/,
    );
    bad(
      write("pt-missing.json", (r) => delete r.ptCheck),
      /ptCheck must be a JSON object, got undefined/,
    );
    bad(
      write("seeds.json", (r) => (r.seeds = [])),
      /seeds must be a non-empty array, got \[\]/,
    );
    bad(
      write("array.json", (r) => (r.seeds = "all")),
      /seeds must be a non-empty array, got "all"/,
    );
    // Every problem is listed at once, each naming its field.
    const many = write("many.json", (r) => {
      r.kind = "other";
      r.teacherOverhead = null;
      r.seeds[0].scratch.fingerprint = 7;
      r.summary.meanSaved = "n/a";
    });
    bad(
      many,
      /\(4 problems\):\n  kind must be .*\n  teacherOverhead must be a finite number, got null\n  seeds\[0\]\.scratch\.fingerprint must be a string, got 7\n  summary\.meanSaved must be null or a finite number, got "n\/a"$/,
    );
    assert.throws(
      () => readKiResult(write("list.json", (r) => Object.keys(r).forEach((k) => delete r[k]))),
      (e: Error) =>
        /\(\d+ problems\)/.test(e.message) &&
        /kind must be/.test(e.message) &&
        /seeds must be a non-empty array, got undefined/.test(e.message),
    );
    const notObject = path.join(dir, "array-file.json");
    fs.writeFileSync(notObject, "[1]");
    bad(notObject, /the result must be a JSON object, got \[1\]/);
    const broken = path.join(dir, "broken.json");
    fs.writeFileSync(broken, "{");
    bad(broken, /broken\.json: not valid JSON/);
  });
});
