import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { resolveConfig } from "../../lib/backbone/config";
import { sizeConfig } from "../../lib/backbone/sizes";
import { Transformer } from "../../lib/backbone/transformer";
import type { RunRecord } from "../../lib/experiment/record";
import { writeSafetensorsFile } from "../../lib/io/safetensors";
import {
  KI_RESULT_KIND,
  KI_RESULT_VERSION,
  KiExperimentResult,
  PtCheckRow,
  RunSummary,
  TimedCurvePoint,
  backbonePath,
  evaluationSteps,
  forwardFlopsPerToken,
  kiResultFiles,
  modelInfo,
  parseSeeds,
  planKiExperiment,
  ptCheckCells,
  ptCheckResult,
  ptCheckSummary,
  readKiResult,
  readRunSummary,
  resolveKiExperimentOptions,
  runStatus,
  secondsAtStep,
  seedSaving,
  shellQuote,
  summarizeSavings,
  teacherOverhead,
} from "../../lib/pretrain/ki-experiment";
import { kiRunRecord } from "../../lib/pretrain/ki-run";
import { kiLoss, resolveKiOptions } from "../../lib/pretrain/knowledge-inheritance";
import { PretrainOptions, pretrain } from "../../lib/pretrain/pretrainer";
import { TINY, fakeIds, setupBackend } from "../helpers";

const tempDirs: string[] = [];
function tempDir(prefix: string): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  tempDirs.push(d);
  return d;
}

/** The value of `--flag` in an argument list. */
function flag(args: readonly string[], name: string): string | undefined {
  const i = args.indexOf(`--${name}`);
  return i < 0 ? undefined : args[i + 1];
}

function curve(points: [number, number, number][]): TimedCurvePoint[] {
  return points.map(([step, valLoss, seconds]) => ({ step, valLoss, seconds }));
}

describe("knowledge-inheritance experiment", () => {
  before(setupBackend);
  after(() => tempDirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

  describe("options", () => {
    it("fills the defaults and resolves the KI end step to half the steps", () => {
      const o = resolveKiExperimentOptions({ steps: 1501 });
      assert.equal(o.student, "kit-small");
      assert.equal(o.teacher, "models/kit-nano");
      assert.deepEqual(o.seeds, [0]);
      assert.equal(o.kiEndStep, 750);
      assert.equal(o.kiTopK, null);
      assert.equal(resolveKiExperimentOptions({ steps: 100, kiEndStep: 30 }).kiEndStep, 30);
      assert.ok(Object.isFrozen(o));
    });

    it("rejects bad values naming the field and the value", () => {
      assert.throws(() => resolveKiExperimentOptions({ stepz: 3 } as never), /unknown option 'stepz'/);
      assert.throws(() => resolveKiExperimentOptions({ student: "kit-huge" }), /unknown backbone size 'kit-huge': expected one of kit-nano/);
      assert.throws(() => resolveKiExperimentOptions({ steps: 0 }), /steps must be a positive integer, got 0/);
      assert.throws(() => resolveKiExperimentOptions({ seeds: [] }), /seeds must be a non-empty array/);
      assert.throws(() => resolveKiExperimentOptions({ seeds: [0, 2, 0] }), /seed 0 is listed twice/);
      assert.throws(() => resolveKiExperimentOptions({ seeds: [-1] }), /seeds\[0\] must be a non-negative integer, got -1/);
      assert.throws(() => resolveKiExperimentOptions({ length: 129 }), /length 129 exceeds the student's maxLen 128/);
      assert.throws(() => resolveKiExperimentOptions({ evalTokens: 1000 }), /evalTokens 1000 is less than one batch \(batch 8 x length 128 = 1024 tokens\)/);
      assert.throws(() => resolveKiExperimentOptions({ lr: -1 }), /ki-experiment: lr must be a number > 0, got -1/);
      assert.throws(() => resolveKiExperimentOptions({ kiAlpha: 1.5 }), /alphaStart must be a number in \[0, 1\], got 1.5 \(from kiAlpha/);
      assert.throws(() => resolveKiExperimentOptions({ kiTopK: 5000 }), /kiTopK 5000 exceeds the vocabulary \(2048 tokens\)/);
      assert.throws(() => resolveKiExperimentOptions({ ptMethods: [] }), /ptMethods must be a non-empty array/);
    });

    it("parses --seeds lists", () => {
      assert.deepEqual(parseSeeds("0"), [0]);
      assert.deepEqual(parseSeeds("0, 1,2"), [0, 1, 2]);
      assert.throws(() => parseSeeds("0,x"), /--seeds: expected comma-separated non-negative integers, got '0,x'/);
      assert.throws(() => parseSeeds("1.5"), /got '1.5'/);
      assert.throws(() => parseSeeds(""), /got ''/);
    });
  });

  describe("plan", () => {
    const o = resolveKiExperimentOptions({ steps: 1500, seeds: [0, 4], runRoot: "runs/x", kiAlpha: 0.7, kiTopK: 64 });
    const plan = planKiExperiment(o, "kit-nano");

    it("gives both arms of a seed identical training settings; only the KI run has a teacher", () => {
      assert.equal(plan.seeds.length, 2);
      for (const s of plan.seeds) {
        for (const name of ["size", "steps", "batch", "length", "lr", "seed", "warmup", "weight-decay", "eval-every", "eval-tokens"]) {
          assert.equal(flag(s.scratch.args, name), flag(s.ki.args, name), `--${name} differs between the scratch and KI runs of seed ${s.seed}`);
        }
        assert.equal(flag(s.ki.args, "seed"), String(s.seed));
        assert.equal(flag(s.scratch.args, "teacher"), undefined);
        assert.equal(flag(s.ki.args, "teacher"), "models/kit-nano");
        assert.equal(flag(s.ki.args, "ki-alpha"), "0.7");
        assert.equal(flag(s.ki.args, "ki-end-step"), "750");
        assert.equal(flag(s.ki.args, "ki-top-k"), "64");
        assert.equal(flag(s.ki.args, "run-dir"), s.ki.runDir);
        assert.equal(flag(s.ki.args, "out"), s.ki.checkpointDir);
        assert.notEqual(s.scratch.runDir, s.ki.runDir);
      }
      assert.notEqual(plan.seeds[0]!.scratch.runDir, plan.seeds[1]!.scratch.runDir);
      assert.equal(flag(planKiExperiment(resolveKiExperimentOptions({}), "t").seeds[0]!.ki.args, "ki-top-k"), "0"); // 0 = full vocabulary
    });

    it("names folders from every setting: other KI settings share the scratch run, other training settings do not", () => {
      assert.equal(plan.experimentDir, path.join("runs/x", "kit-small-1500steps-b8x128-lr0.002-wu100-wd0.01-eval100x32768"));
      assert.equal(plan.seeds[1]!.ki.runDir, path.join(plan.experimentDir, "seed4", "ki-kit-nano-a0.7-end750-T1-top64"));
      assert.equal(plan.seeds[1]!.ki.checkpointDir, path.join(plan.seeds[1]!.ki.runDir, "model"));
      const otherKi = planKiExperiment({ ...o, kiAlpha: 0.3 }, "kit-nano");
      assert.equal(otherKi.seeds[0]!.scratch.runDir, plan.seeds[0]!.scratch.runDir);
      assert.notEqual(otherKi.seeds[0]!.ki.runDir, plan.seeds[0]!.ki.runDir);
      const otherLr = planKiExperiment(resolveKiExperimentOptions({ ...o, lr: 1e-3, kiEndStep: o.kiEndStep }), "kit-nano");
      assert.notEqual(otherLr.seeds[0]!.scratch.runDir, plan.seeds[0]!.scratch.runDir);
      assert.equal(planKiExperiment(o, "my teacher/v2").seeds[0]!.ki.runDir.split(path.sep).pop(), "ki-my_teacher_v2-a0.7-end750-T1-top64");
    });

    it("records runnable commands, quoting what the shell would split", () => {
      assert.ok(plan.seeds[0]!.scratch.command.startsWith(`node ${path.join("build", "scripts", "pretrain.js")} --size kit-small --steps 1500 `));
      assert.equal(shellQuote("runs/a-b_c.d"), "runs/a-b_c.d");
      assert.equal(shellQuote("my dir"), "'my dir'");
      assert.equal(shellQuote("it's"), `'it'\\''s'`);
      const spaced = planKiExperiment(resolveKiExperimentOptions({ runRoot: "/tmp/my runs" }), "kit-nano");
      assert.ok(spaced.seeds[0]!.scratch.command.includes("--run-dir '/tmp/my runs/"));
    });

    it("lists the evaluation steps of a run", () => {
      assert.deepEqual(evaluationSteps(1500, 500), [500, 1000, 1500]);
      assert.deepEqual(evaluationSteps(20, 7), [7, 14, 20]);
      assert.deepEqual(evaluationSteps(5, 100), [5]);
    });
  });

  describe("reading runs", () => {
    const STUDENT = resolveConfig(TINY);
    const TEACHER = resolveConfig({ ...TINY, dModel: 8, nLayers: 1, nHeads: 2, dFF: 16 });
    const train = fakeIds(500, 40, 1);
    const val = fakeIds(200, 40, 2);
    const quiet = { log: () => undefined };

    function trainingOptions(o: { steps: number; evalEvery: number }, seed: number): PretrainOptions {
      return {
        config: STUDENT, seed, steps: o.steps, batch: 2, length: 8, lr: 1e-2, warmupSteps: 1, minLrRatio: 0.1, weightDecay: 0.01,
        clipNorm: 1, evalEvery: o.evalEvery, evalTokens: 64, ckptSeconds: 3600, logEvery: 100,
      };
    }

    function writeCheckpoint(dir: string, valLoss: string): void {
      fs.mkdirSync(dir, { recursive: true });
      writeSafetensorsFile(path.join(dir, "model.safetensors"), { w: { dtype: "F32", shape: [1], data: Float32Array.of(1) } }, { val_loss: valLoss });
    }

    it("follows a run from new to partial to done and reads its curve and final loss back", async () => {
      const o = resolveKiExperimentOptions({ steps: 6, evalEvery: 3, seeds: [3], runRoot: tempDir("kit-kiexp-a-") });
      const plan = planKiExperiment(o, "tiny-teacher");
      const { scratch, ki } = plan.seeds[0]!;
      assert.equal(runStatus(scratch, o.steps), "new");
      assert.throws(() => readRunSummary(scratch, o, "sha256:x"), /state.json: missing: the scratch run of seed 3 has not started/);
      let calls = 0;
      const first = await pretrain(scratch.runDir, train, val, trainingOptions(o, 3), { ...quiet, shouldStop: () => ++calls > 4 });
      first.model.dispose();
      assert.equal(runStatus(scratch, o.steps), "partial");
      assert.throws(() => readRunSummary(scratch, o, "sha256:x"), /stopped at step 4 of 6; run the same command to resume/);
      const done = await pretrain(scratch.runDir, train, val, trainingOptions(o, 3), quiet);
      assert.equal(runStatus(scratch, o.steps), "partial"); // finished, but no checkpoint folder yet
      assert.throws(() => readRunSummary(scratch, o, "sha256:x"), /model.safetensors: missing: the scratch run of seed 3 finished but wrote no checkpoint/);
      writeCheckpoint(scratch.checkpointDir, "3.25");
      assert.equal(runStatus(scratch, o.steps), "done");
      const summary = readRunSummary(scratch, o, "sha256:abc");
      assert.deepEqual(summary.curve, done.state.history.map((h) => ({ step: h.step, valLoss: h.valLoss, seconds: h.seconds })));
      assert.deepEqual(summary.curve.map((p) => p.step), [3, 6]);
      assert.equal(summary.finalValLoss, 3.25);
      assert.equal(summary.finalValPerplexity, Math.exp(3.25));
      assert.equal(summary.fingerprint, "sha256:abc");
      assert.equal(summary.steps, 6);
      assert.equal(summary.tokensSeen, 6 * 2 * 8);
      assert.equal(summary.trainSeconds, done.state.wallSeconds);
      assert.equal(summary.command, scratch.command);
      assert.equal(summary.checkpoint, scratch.checkpointDir);
      done.model.dispose();

      // The scratch folder read as the KI run of the plan (and vice versa) is refused.
      assert.throws(() => readRunSummary({ ...ki, runDir: scratch.runDir, checkpointDir: scratch.checkpointDir }, o, "x"), /expected a knowledge-inheritance run, found one without a teacher/);
      const teacher = Transformer.create(TEACHER, 5);
      const kiOpts = resolveKiOptions({ alphaStart: 0.5, alphaEndStep: 3 });
      const record = kiRunRecord({ name: "tiny-teacher", fingerprint: "sha256:t" }, kiOpts);
      const r = await pretrain(ki.runDir, train, val, { ...trainingOptions(o, 3), ki: record } as PretrainOptions, { ...quiet, loss: kiLoss(teacher, kiOpts) });
      r.model.dispose();
      teacher.dispose();
      writeCheckpoint(ki.checkpointDir, "3.0");
      assert.equal(readRunSummary(ki, o, "sha256:k").finalValLoss, 3);
      assert.throws(() => readRunSummary({ ...scratch, runDir: ki.runDir, checkpointDir: ki.checkpointDir }, o, "x"), /expected a from-scratch run, found one with a teacher/);
      // Evaluated on another grid than the one asked for: the folder belongs to other settings.
      assert.throws(() => readRunSummary(scratch, { steps: 6, evalEvery: 2 }, "x"), /evaluated at steps \[3, 6\], expected \[2, 4, 6\]/);
      writeCheckpoint(scratch.checkpointDir, "n/a");
      assert.throws(() => readRunSummary(scratch, o, "x"), /metadata 'val_loss' must be a number, got "n\/a"/);
    });
  });

  describe("compute saved", () => {
    const scratch = curve([[100, 5, 10], [200, 4, 20], [300, 3.5, 30], [400, 3.2, 40]]);
    const ki = curve([[100, 4.5, 12], [200, 3.4, 24], [300, 3.0, 33]]);

    it("estimates forward FLOPs per token and the teacher's share of a KI step", () => {
      const c = resolveConfig({ vocabSize: 10, maxLen: 8, dModel: 4, nLayers: 1, nHeads: 2, dFF: 8 });
      // blocks: 2*2*4 + (4*12+12) + (16+4) + (32+8) + (32+4) = 16 + 60 + 20 + 40 + 36 = 172, plus final LN 8 -> 180.
      assert.equal(forwardFlopsPerToken(c, 8), 2 * (180 + 10 * 4) + 2 * 1 * 8 * 4);
      assert.equal(teacherOverhead(c, c, 8), 1 / 3);
      const nanoOnSmall = teacherOverhead(sizeConfig("kit-nano"), sizeConfig("kit-small"), 128);
      assert.ok(nanoOnSmall > 0.1 && nanoOnSmall < 0.15, String(nanoOnSmall));
    });

    it("interpolates training seconds along a curve", () => {
      assert.equal(secondsAtStep(ki, 250), 28.5);
      assert.equal(secondsAtStep(ki, 50), 6); // before the first evaluation: proportional
      assert.equal(secondsAtStep(ki, 300), 33);
      assert.equal(secondsAtStep(ki, 999), 33);
    });

    it("saves steps, FLOP-equivalent steps with the teacher paid for, and seconds", () => {
      const s = seedSaving(scratch, ki, 0.2, 100);
      assert.equal(s.target, 3.2);
      assert.ok(Math.abs(s.kiSteps! - 250) < 1e-9);
      assert.ok(Math.abs(s.saved! - 0.375) < 1e-12);
      assert.ok(Math.abs(s.kiCostSteps! - (250 + 0.2 * 100)) < 1e-9); // the teacher ran for the first 100 steps only
      assert.ok(Math.abs(s.savedWithTeacher! - (1 - 270 / 400)) < 1e-12);
      assert.ok(Math.abs(s.kiSecondsToTarget! - 28.5) < 1e-9);
      assert.equal(s.scratchSeconds, 40);
      assert.ok(Math.abs(s.savedWallClock! - (1 - 28.5 / 40)) < 1e-12);
      const long = seedSaving(scratch, ki, 0.2, 1000);
      assert.ok(Math.abs(long.kiCostSteps! - 250 * 1.2) < 1e-9); // teacher still on when the target is reached
    });

    it("reports nulls when the KI run never reaches the target, and no mean then", () => {
      const never = seedSaving(scratch, curve([[100, 4, 10], [400, 3.3, 40]]), 0.1, 200);
      for (const k of ["kiSteps", "saved", "kiCostSteps", "savedWithTeacher", "kiSecondsToTarget", "savedWallClock"] as const) assert.equal(never[k], null, k);
      const run = (finalValLoss: number) => ({ finalValLoss }) as RunSummary;
      const reached = seedSaving(scratch, ki, 0.2, 100);
      const both = summarizeSavings([
        { scratch: run(3.3), ki: run(3.1), saving: reached },
        { scratch: run(3.5), ki: run(3.3), saving: { ...reached, saved: 0.125, savedWithTeacher: 0.1, savedWallClock: 0.05 } },
      ]);
      assert.equal(both.reached, 2);
      assert.ok(Math.abs(both.meanSaved! - (0.375 + 0.125) / 2) < 1e-12);
      assert.ok(Math.abs(both.meanFinalValLoss.scratch - 3.4) < 1e-12);
      assert.ok(Math.abs(both.meanFinalValLoss.ki - 3.2) < 1e-12);
      const partly = summarizeSavings([{ scratch: run(3.3), ki: run(3.1), saving: reached }, { scratch: run(3.3), ki: run(3.4), saving: never }]);
      assert.equal(partly.seeds, 2);
      assert.equal(partly.reached, 1);
      assert.equal(partly.meanSaved, null);
      assert.equal(partly.meanSavedWithTeacher, null);
    });
  });

  describe("prompt-tuning check", () => {
    const o = resolveKiExperimentOptions({ seeds: [0, 1], runRoot: "runs/pretrain/ki-exp", ptSteps: 50 });
    const plan = planKiExperiment(o, "kit-nano");
    const root = process.cwd(); // relative run folders are relative to the working directory

    it("runs each method on both students per seed, with the checkpoint folder as the backbone", () => {
      const cells = ptCheckCells(plan, path.resolve(root));
      assert.equal(cells.length, 2 * 2 * 2);
      const c = cells[0]!;
      assert.equal(c.student, "scratch");
      assert.equal(c.cell.backbone, "runs/pretrain/ki-exp/kit-small-1500steps-b8x128-lr0.002-wu100-wd0.01-eval100x32768/seed0/scratch/model");
      assert.equal(c.cell.task, "yelp");
      assert.equal(c.cell.method, "prompt-tuning");
      assert.equal(c.cell.seed, 0);
      assert.deepEqual(c.cell.options, { steps: 50 });
      assert.equal(new Set(cells.map((x) => x.cell.cellId)).size, cells.length);
      assert.ok(cells.every((x) => x.cell.backbone.includes("/")));
      assert.equal(backbonePath("/elsewhere/m", "/work/proj"), "/elsewhere/m");
      assert.equal(backbonePath("/work/proj/runs/m", "/work/proj"), "runs/m");
    });

    it("turns records into rows and paired means, and refuses records made on other weights", () => {
      const cells = ptCheckCells(plan, path.resolve(root));
      const acc = (i: number) => 0.5 + i / 100;
      const records = cells.map((c, i) => ({
        cellId: c.cell.cellId, backbone: { name: c.cell.backbone, fingerprint: `fp-${c.student}-${c.seed}` }, metrics: { accuracy: acc(i), macroF1: 0, mcc: 0 },
        devMetrics: null, steps: 50, wallSeconds: 1,
      })) as unknown as RunRecord[];
      const fps = new Map(cells.map((c) => [c.cell.backbone, `fp-${c.student}-${c.seed}`]));
      const check = ptCheckResult(cells, records, fps, o);
      assert.equal(check.rows.length, 8);
      assert.equal(check.rows[1]!.method, "full-finetune");
      assert.equal(check.rows[1]!.testAccuracy, acc(1));
      // order per seed: scratch PT, scratch FT, KI PT, KI FT -> KI - scratch = 2/100 for each method and seed.
      const pt = check.summary.find((r) => r.method === "prompt-tuning")!;
      assert.equal(pt.seeds, 2);
      assert.ok(Math.abs(pt.kiMinusScratch - 0.02) < 1e-12);
      assert.ok(Math.abs(pt.scratchAccuracy - (acc(0) + acc(4)) / 2) < 1e-12);
      assert.throws(() => ptCheckResult(cells, records.slice(1), fps, o), /no record for cell .* \(prompt-tuning on runs\/.*seed0\/scratch\/model, seed 0\)/);
      const moved = new Map(fps);
      moved.set(cells[0]!.cell.backbone, "fp-new");
      assert.throws(() => ptCheckResult(cells, records, moved, o), /was made on weights fp-scratch-0, the checkpoint now has fp-new/);
      assert.throws(() => ptCheckSummary(check.rows.filter((r: PtCheckRow) => !(r.student === "ki" && r.seed === 1))), /prompt-tuning, seed 1: KI row missing/);
    });
  });

  describe("result file", () => {
    function result(): KiExperimentResult {
      const o = resolveKiExperimentOptions({ steps: 400 });
      const scratchCurve = curve([[100, 5, 10], [200, 4, 20], [300, 3.5, 30], [400, 3.2, 40]]);
      const kiCurve = curve([[100, 4.5, 12], [200, 3.4, 24], [300, 3.0, 33], [400, 2.9, 44]]);
      const run = (kind: "scratch" | "ki", c: TimedCurvePoint[]): RunSummary => ({
        kind, runDir: `runs/${kind}`, checkpoint: `runs/${kind}/model`, command: `node build/scripts/pretrain.js --${kind}`, steps: 400, tokensSeen: 409600,
        trainSeconds: c[c.length - 1]!.seconds, curve: c, finalValLoss: c[c.length - 1]!.valLoss, finalValPerplexity: Math.exp(c[c.length - 1]!.valLoss),
        fingerprint: `sha256:${kind}`, backends: ["wasm 4.22.0"],
      });
      const seeds = [{ seed: 0, scratch: run("scratch", scratchCurve), ki: run("ki", kiCurve), saving: seedSaving(scratchCurve, kiCurve, 0.12, 200) }];
      return {
        kind: KI_RESULT_KIND, version: KI_RESULT_VERSION, createdAt: "2024-01-01T00:00:00.000Z", command: "node build/scripts/ki-experiment.js --steps 400",
        options: o, experimentDir: "runs/pretrain/ki-exp/x", student: modelInfo("kit-small", sizeConfig("kit-small")),
        teacher: { ...modelInfo("kit-nano", sizeConfig("kit-nano")), dir: "models/kit-nano", fingerprint: "sha256:t" },
        teacherOverhead: 0.12, backend: "wasm 4.22.0", seeds, summary: summarizeSavings(seeds), ptCheck: null,
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
      const bad = (f: string, re: RegExp) => assert.throws(() => readKiResult(f), (e: Error) => re.test(e.message) && e.message.startsWith(f));
      bad(write("kind.json", (r) => (r.kind = "other")), /: not a valid KI result \(1 problem\):\n  kind must be "softprompt-kit\/ki-experiment", got "other"$/);
      bad(write("version.json", (r) => (r.version = 2)), /version must be 1, got 2/);
      bad(write("curve.json", (r) => (r.seeds[0].ki.curve[2].valLoss = "3.0")), /seeds\[0\]\.ki\.curve\[2\]\.valLoss must be a finite number, got "3.0"/);
      bad(write("saved.json", (r) => delete r.seeds[0].saving.saved), /seeds\[0\]\.saving\.saved must be null or a finite number, got undefined/);
      bad(write("teacher.json", (r) => delete r.teacher.fingerprint), /teacher\.fingerprint must be a string, got undefined/);
      bad(write("pt.json", (r) => (r.ptCheck = { rows: [{ method: "prompt-tuning", student: "ki" }], summary: [] })), /ptCheck\.rows\[0\]\.testAccuracy must be a finite number/);
      bad(write("pt-missing.json", (r) => delete r.ptCheck), /ptCheck must be a JSON object, got undefined/);
      bad(write("seeds.json", (r) => (r.seeds = [])), /seeds must be a non-empty array, got \[\]/);
      bad(write("array.json", (r) => (r.seeds = "all")), /seeds must be a non-empty array, got "all"/);
      // Every problem is listed at once, each naming its field.
      const many = write("many.json", (r) => {
        r.kind = "other";
        r.teacherOverhead = null;
        r.seeds[0].scratch.fingerprint = 7;
        r.summary.meanSaved = "n/a";
      });
      bad(many, /\(4 problems\):\n  kind must be .*\n  teacherOverhead must be a finite number, got null\n  seeds\[0\]\.scratch\.fingerprint must be a string, got 7\n  summary\.meanSaved must be null or a finite number, got "n\/a"$/);
      assert.throws(() => readKiResult(write("list.json", (r) => Object.keys(r).forEach((k) => delete r[k]))), (e: Error) => /\(\d+ problems\)/.test(e.message) && /kind must be/.test(e.message) && /seeds must be a non-empty array, got undefined/.test(e.message));
      const notObject = path.join(dir, "array-file.json");
      fs.writeFileSync(notObject, "[1]");
      bad(notObject, /the result must be a JSON object, got \[1\]/);
      const broken = path.join(dir, "broken.json");
      fs.writeFileSync(broken, "{");
      bad(broken, /broken\.json: not valid JSON/);
    });
  });
});
