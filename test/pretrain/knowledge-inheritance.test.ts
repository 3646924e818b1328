import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { tf } from "../../lib/backend/backend";
import { resolveConfig } from "../../lib/backbone/config";
import { lmLoss } from "../../lib/backbone/lm-loss";
import { Transformer } from "../../lib/backbone/transformer";
import { trainingBatch } from "../../lib/pretrain/batches";
import { computeSaved, stepsToReach } from "../../lib/pretrain/compute-saved";
import { distillationDivergence } from "../../lib/pretrain/ki-divergence";
import {
  assertKiRunMatches,
  kiCardNotes,
  kiRunName,
  kiRunRecord,
  readValidationCurve,
} from "../../lib/pretrain/ki-run";
import { alphaAt, kiLoss, resolveKiOptions, teacherLogits } from "../../lib/pretrain/knowledge-inheritance";
import { LossFn, PretrainOptions, pretrain } from "../../lib/pretrain/pretrainer";
import { TINY, assertBackboneUnchanged, assertNoLeak, bitwiseEqual, fakeIds, setupBackend, snapshot } from "../helpers";

const STUDENT = resolveConfig(TINY);
const TEACHER = resolveConfig({ ...TINY, dModel: 8, nLayers: 1, nHeads: 2, dFF: 16 });

const OPTIONS: PretrainOptions = {
  config: STUDENT,
  seed: 3,
  steps: 6,
  batch: 2,
  length: 8,
  lr: 1e-2,
  warmupSteps: 2,
  minLrRatio: 0.1,
  weightDecay: 0.01,
  clipNorm: 1,
  evalEvery: 3,
  evalTokens: 64,
  ckptSeconds: 0,
  logEvery: 100,
};

const quiet = { log: () => undefined };
const tempDirs: string[] = [];
function tempDir(prefix: string): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  tempDirs.push(d);
  return d;
}
const train = fakeIds(500, 40, 1);
const val = fakeIds(200, 40, 2);
const batch = trainingBatch(train, 3, 0, 2, 8);

function copyOf(m: Transformer): Transformer {
  const values = snapshot(m.variables());
  return Transformer.fromArrays(m.config, new Map(m.names().map((n, i) => [n, values[i]!])));
}

/** The loss value and the gradient w.r.t. every student variable (arrays, by name). */
function lossAndGrads(
  fn: LossFn,
  model: Transformer,
  step: number,
): { loss: number; grads: Map<string, Float32Array> } {
  const { value, grads } = tf.variableGrads(() => fn(model, batch, step), model.variables());
  const out = new Map<string, Float32Array>();
  model
    .names()
    .forEach((name) => out.set(name, Float32Array.from(grads[model.param(name).name]!.dataSync() as Float32Array)));
  const loss = value.dataSync()[0]!;
  value.dispose();
  Object.values(grads).forEach((g) => g.dispose());
  return { loss, grads: out };
}

function lossValue(fn: LossFn, model: Transformer, step: number): number {
  return tf.tidy(() => fn(model, batch, step).dataSync()[0]!);
}

/** A random teacher with peaked next-token distributions (embedding scaled up), so KL to a fresh student is sizeable. */
function sharpTeacher(seed: number): Transformer {
  const t = Transformer.create(TEACHER, seed);
  const wte = t.param("wte.weight");
  tf.tidy(() => wte.assign(tf.mul(wte, 40)));
  return t;
}

/** Counts the teacher's forward passes. */
function spyForward(teacher: Transformer): { calls: number } {
  const counter = { calls: 0 };
  const original = teacher.forwardEmbeddings.bind(teacher);
  teacher.forwardEmbeddings = (x, mask, opts) => {
    counter.calls++;
    return original(x, mask, opts);
  };
  return counter;
}

/** Float64 reference: T^2 * sum_i s_i KL(p_i || q_i), teacher cut to top k (renormalised) when k is given. */
function referenceDivergence(z: number[][], u: number[][], w: number[], temp: number, k: number | null): number {
  const total = w.reduce((a, b) => a + b, 0);
  let sum = 0;
  z.forEach((zr, i) => {
    const logSoftmax = (xs: number[]) => {
      const m = Math.max(...xs);
      const lse = m + Math.log(xs.reduce((a, x) => a + Math.exp(x - m), 0));
      return xs.map((x) => x - lse);
    };
    const logQ = logSoftmax(zr.map((x) => x / temp));
    const order = u[i]!.map((x, j) => [x / temp, j] as const).sort((a, b) => b[0] - a[0]);
    const support = k === null ? order : order.slice(0, k);
    const logP = logSoftmax(support.map(([x]) => x));
    let kl = 0;
    support.forEach(([, j], s) => (kl += Math.exp(logP[s]!) * (logP[s]! - logQ[j]!)));
    sum += (w[i]! / total) * kl;
  });
  return temp * temp * sum;
}

function randomMatrix(rows: number, cols: number, seed: number, scale: number): number[][] {
  const ids = fakeIds(rows * cols, 10007, seed);
  return Array.from({ length: rows }, (_, r) =>
    Array.from({ length: cols }, (_, c) => ((ids[r * cols + c]! / 10007) * 2 - 1) * scale),
  );
}

describe("knowledge inheritance", () => {
  before(setupBackend);
  after(() => tempDirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

  describe("schedule and options", () => {
    it("a_t starts at alphaStart, decays linearly, is 0 at and after alphaEndStep", () => {
      const o = { alphaStart: 0.8, alphaEndStep: 10 };
      assert.equal(alphaAt(0, o), 0.8);
      assert.ok(Math.abs(alphaAt(5, o) - 0.4) < 1e-12);
      assert.ok(Math.abs(alphaAt(9, o) - 0.08) < 1e-12);
      assert.ok(alphaAt(3, o) > alphaAt(4, o));
      assert.equal(alphaAt(10, o), 0);
      assert.equal(alphaAt(11, o), 0);
      assert.equal(alphaAt(1000, o), 0);
      assert.equal(alphaAt(0, { alphaStart: 0.5, alphaEndStep: 0 }), 0);
    });

    it("rejects bad settings, naming the field and the value", () => {
      assert.throws(() => resolveKiOptions({ alphaStart: 1.5 }), /alphaStart must be a number in \[0, 1\], got 1.5/);
      assert.throws(() => resolveKiOptions({ alphaEndStep: 2.5 }), /alphaEndStep .* got 2.5/);
      assert.throws(
        () => resolveKiOptions({ temperature: 0 }),
        /knowledge inheritance: temperature must be a number > 0, got 0/,
      );
      assert.throws(
        () => resolveKiOptions({ topK: 0 }),
        /knowledge inheritance: topK must be null or a positive integer, got 0/,
      );
      assert.throws(() => resolveKiOptions({ alpha: 1 } as never), /unknown option 'alpha'/);
    });
  });

  describe("distillation divergence op", () => {
    const n = 5;
    const v = 7;
    const z = randomMatrix(n, v, 11, 3);
    const u = randomMatrix(n, v, 12, 3);
    const w = [1, 0, 2, 1, 0.5];

    function opValueAndGrad(temp: number, k: number | null): { value: number; grad: Float32Array } {
      return tf.tidy(() => {
        const ut = tf.tensor2d(u);
        const { value, grad } = tf.valueAndGrad((zt: tf.Tensor) =>
          distillationDivergence(zt as tf.Tensor2D, () => ut, Float32Array.from(w), { temperature: temp, topK: k }),
        )(tf.tensor2d(z));
        return { value: value.dataSync()[0]!, grad: Float32Array.from(grad.dataSync() as Float32Array) };
      });
    }

    for (const [temp, k] of [
      [1, null],
      [2, null],
      [0.7, 3],
      [2, 1],
    ] as const) {
      it(`value and gradient match a float64 reference and its finite differences (T=${temp}, topK=${k})`, () => {
        const { value, grad } = opValueAndGrad(temp, k);
        const ref = referenceDivergence(z, u, w, temp, k);
        assert.ok(Math.abs(value - ref) < 1e-5 * Math.max(1, ref), `value ${value} vs reference ${ref}`);
        const h = 1e-5;
        for (let i = 0; i < n; i++) {
          for (let j = 0; j < v; j++) {
            const plus = z.map((r) => [...r]);
            const minus = z.map((r) => [...r]);
            plus[i]![j]! += h;
            minus[i]![j]! -= h;
            const fd = (referenceDivergence(plus, u, w, temp, k) - referenceDivergence(minus, u, w, temp, k)) / (2 * h);
            assert.ok(
              Math.abs(grad[i * v + j]! - fd) < 1e-5,
              `d/dz[${i},${j}]: op ${grad[i * v + j]} vs finite difference ${fd}`,
            );
          }
        }
        // Rows with weight 0 get no gradient.
        for (let j = 0; j < v; j++)
          assert.ok(grad[1 * v + j] === 0, `row 1 has weight 0 but gradient ${grad[1 * v + j]}`);
      });
    }

    it("top-k with k = V (sparse path) equals the full-vocabulary divergence", () => {
      for (const temp of [1, 1.5]) {
        const full = opValueAndGrad(temp, null);
        const topV = opValueAndGrad(temp, v);
        assert.ok(Math.abs(full.value - topV.value) < 1e-6, `T=${temp}: ${full.value} vs ${topV.value}`);
        full.grad.forEach((g, i) =>
          assert.ok(Math.abs(g - topV.grad[i]!) < 1e-6, `T=${temp} grad ${i}: ${g} vs ${topV.grad[i]}`),
        );
      }
    });

    it("is zero, with zero gradient, when student and teacher logits are equal", () => {
      const r = tf.tidy(() => {
        const zt = tf.tensor2d(z);
        const { value, grad } = tf.valueAndGrad((x: tf.Tensor) =>
          distillationDivergence(x as tf.Tensor2D, () => zt, Float32Array.from(w), { temperature: 2, topK: null }),
        )(zt);
        return { value: value.dataSync()[0]!, grad: grad.dataSync() as Float32Array };
      });
      assert.ok(Math.abs(r.value) < 1e-6, String(r.value));
      r.grad.forEach((g, i) => assert.ok(Math.abs(g) < 1e-6, `grad ${i}: ${g}`));
    });

    it("rejects a bad top-k and mismatched teacher logits", () => {
      tf.tidy(() => {
        const zt = tf.tensor2d(z);
        assert.throws(
          () => distillationDivergence(zt, () => zt, Float32Array.from(w), { temperature: 1, topK: v + 1 }),
          /topK must be an integer in \[1, 7\]/,
        );
        assert.throws(
          () =>
            distillationDivergence(zt, () => tf.zeros([n, v + 1]) as tf.Tensor2D, Float32Array.from(w), {
              temperature: 1,
              topK: null,
            }),
          /teacher logits are \[5, 8\], student logits \[5, 7\]/,
        );
      });
    });
  });

  describe("kiLoss", () => {
    it("the distillation term is zero with zero gradient when the student equals the teacher", () => {
      const teacher = Transformer.create(STUDENT, 5);
      const student = copyOf(teacher);
      const fn = kiLoss(teacher, { alphaStart: 1, alphaEndStep: 10, temperature: 1.5 }); // a_0 = 1: distillation only
      const { loss, grads } = lossAndGrads(fn, student, 0);
      assert.ok(Math.abs(loss) < 1e-6, `KL(teacher || identical student) = ${loss}`);
      for (const [name, g] of grads) {
        let max = 0;
        for (const x of g) max = Math.max(max, Math.abs(x));
        assert.ok(max < 1e-6, `${name}: |grad| up to ${max}`);
      }
      teacher.dispose();
      student.dispose();
    });

    it("with alphaStart 0 equals the LM loss bitwise and never runs the teacher", () => {
      const teacher = Transformer.create(TEACHER, 5);
      const student = Transformer.create(STUDENT, 6);
      const spy = spyForward(teacher);
      const fn = kiLoss(teacher, { alphaStart: 0, alphaEndStep: 10 });
      const ki = lossAndGrads(fn, student, 0);
      const lm = lossAndGrads((m, b) => lmLoss(m, b.ids, b.mask, b.batch, b.length, true), student, 0);
      assert.ok(bitwiseEqual(Float32Array.of(ki.loss), Float32Array.of(lm.loss)), `${ki.loss} vs ${lm.loss}`);
      for (const [name, g] of lm.grads) assert.ok(bitwiseEqual(g, ki.grads.get(name)!), `gradient of ${name} differs`);
      assert.equal(spy.calls, 0);
      teacher.dispose();
      student.dispose();
    });

    it("runs the teacher while a_t > 0 and skips it from alphaEndStep on", () => {
      const teacher = Transformer.create(TEACHER, 5);
      const student = Transformer.create(STUDENT, 6);
      const spy = spyForward(teacher);
      const fn = kiLoss(teacher, { alphaStart: 0.5, alphaEndStep: 2 });
      lossValue(fn, student, 1);
      assert.equal(spy.calls, 1);
      lossValue(fn, student, 2);
      lossValue(fn, student, 50);
      assert.equal(spy.calls, 1);
      const lm = tf.tidy(() => lmLoss(student, batch.ids, batch.mask, batch.batch, batch.length, true).dataSync()[0]!);
      assert.equal(lossValue(fn, student, 2), lm);
      teacher.dispose();
      student.dispose();
    });

    it("mixes (1 - a) LM + a T^2 KL", () => {
      const teacher = sharpTeacher(5);
      const student = Transformer.create(STUDENT, 6);
      const opts = { alphaStart: 0.8, alphaEndStep: 4, temperature: 2, topK: null };
      const fn = kiLoss(teacher, opts);
      const a = alphaAt(1, opts); // 0.6
      const lm = tf.tidy(() => lmLoss(student, batch.ids, batch.mask, batch.batch, batch.length, true).dataSync()[0]!);
      const kd = lossValue(kiLoss(teacher, { ...opts, alphaStart: 1 }), student, 0);
      const mixed = lossValue(fn, student, 1);
      assert.ok(Math.abs(mixed - ((1 - a) * lm + a * kd)) < 1e-5, `${mixed} vs ${(1 - a) * lm + a * kd}`);
      assert.ok(kd > 0.1, `teacher and student differ, so the divergence ${kd} should be clearly positive`);
      teacher.dispose();
      student.dispose();
    });

    for (const [label, step] of [
      ["(1 - a) LM + a KL, a = 0.6", 1],
      ["KL only, a = 1", 0],
    ] as const) {
      it(`student gradient matches finite differences of the KI loss: ${label}`, () => {
        const teacher = sharpTeacher(5);
        const student = Transformer.create(STUDENT, 6);
        const alphaStart = step === 0 ? 1 : 0.8;
        const fn = kiLoss(teacher, { alphaStart, alphaEndStep: 4, temperature: 2, topK: 5 });
        const { grads } = lossAndGrads(fn, student, step);
        const eps = 1e-2;
        for (const name of ["wte.weight", "h.0.mlp.c_fc.weight", "h.1.attn.c_attn.weight", "ln_f.bias"]) {
          const g = grads.get(name)!;
          let at = 0;
          g.forEach((x, i) => {
            if (Math.abs(x) > Math.abs(g[at]!)) at = i;
          });
          const variable = student.param(name);
          const original = Float32Array.from(variable.dataSync() as Float32Array);
          const lossWith = (delta: number) => {
            const moved = Float32Array.from(original);
            moved[at]! += delta;
            tf.tidy(() => variable.assign(tf.tensor(moved, variable.shape)));
            return lossValue(fn, student, step);
          };
          const fd = (lossWith(eps) - lossWith(-eps)) / (2 * eps);
          tf.tidy(() => variable.assign(tf.tensor(original, variable.shape)));
          assert.ok(Math.abs(g[at]!) > 1e-3, `${name}: gradient too small to check (${g[at]})`);
          if (process.env["KI_TEST_VERBOSE"])
            console.log(`${label} ${name}[${at}]: analytic ${g[at]} vs finite difference ${fd}`);
          assert.ok(
            Math.abs(fd - g[at]!) < 0.02 * Math.abs(g[at]!) + 2e-4,
            `${name}[${at}]: analytic ${g[at]} vs finite difference ${fd}`,
          );
        }
        teacher.dispose();
        student.dispose();
      });
    }

    it("runs the teacher off the gradient tape (no tape nodes, no saved activations)", () => {
      const teacher = Transformer.create(STUDENT, 5);
      const student = Transformer.create(STUDENT, 6);
      // tfjs internals, read only: the tape being recorded inside variableGrads.
      const tapeLength = () =>
        (tf.engine() as unknown as { state: { activeTape: unknown[] | null } }).state.activeTape?.length ?? -1;
      const nodes = (fn: LossFn) => {
        let n = -1;
        const { value, grads } = tf.variableGrads(() => {
          const l = fn(student, batch, 0);
          n = tapeLength();
          return l;
        }, student.variables());
        value.dispose();
        Object.values(grads).forEach((g) => g.dispose());
        return n;
      };
      const lm = nodes(kiLoss(teacher, { alphaStart: 0, alphaEndStep: 5 }));
      const kd = nodes(kiLoss(teacher, { alphaStart: 1, alphaEndStep: 5 })); // distillation term only
      const mixed = nodes(kiLoss(teacher, { alphaStart: 0.5, alphaEndStep: 5 }));
      const taped = nodes((m, b, s) =>
        tf.add(
          kiLoss(teacher, { alphaStart: 0, alphaEndStep: 5 })(m, b, s),
          tf.mul(tf.sum(teacherLogits(teacher, b)), 0),
        ),
      );
      assert.ok(lm > 50, `the student's own forward should record many nodes, got ${lm}`);
      assert.ok(taped - lm > 50, `a taped teacher forward should add many nodes (${lm} -> ${taped})`);
      // The fused divergence replaces the fused cross-entropy: one node for one; mixing adds a few scalar nodes.
      assert.ok(kd - lm <= 2, `the distillation term added ${kd - lm} tape nodes; the teacher must run off the tape`);
      assert.ok(mixed - lm <= 15, `KI added ${mixed - lm} tape nodes; the teacher must run off the tape`);
      teacher.dispose();
      student.dispose();
    });

    it("fails clearly when teacher and student vocabularies differ", () => {
      const teacher = Transformer.create({ ...TEACHER, vocabSize: 48 }, 5);
      const student = Transformer.create(STUDENT, 6);
      const fn = kiLoss(teacher, { alphaStart: 0.5, alphaEndStep: 10 });
      assert.throws(() => lossValue(fn, student, 0), /vocabulary mismatch: the teacher has 48 tokens, the student 40/);
      assert.throws(
        () => lossValue(kiLoss(teacher, { topK: 49 }), Transformer.create({ ...STUDENT, vocabSize: 48 }, 1), 0),
        /topK 49 exceeds/,
      );
      teacher.dispose();
      student.dispose();
    });

    it("freezes the teacher, refuses the student as its own teacher, and leaks no tensors", async () => {
      const teacher = Transformer.create(TEACHER, 5);
      const student = Transformer.create(STUDENT, 6);
      const fn = kiLoss(teacher, { alphaStart: 0.5, alphaEndStep: 10, topK: 4 });
      assert.ok(teacher.frozen);
      assert.ok(teacher.variables().every((v) => !v.trainable));
      lossAndGrads(fn, student, 0); // warm-up: the frozen teacher caches its output matrix once
      await assertNoLeak("KI loss + gradients", () => lossAndGrads(fn, student, 1));
      await assertNoLeak("KI loss value", () => lossValue(fn, student, 1));
      assert.throws(() => lossValue(kiLoss(student, {}), student, 0), /same model object/);
      const logits = tf.tidy(() => teacherLogits(teacher, batch).shape);
      assert.deepEqual(logits, [16, 40]);
      teacher.dispose();
      student.dispose();
    });
  });

  describe("pre-training with KI", () => {
    const ki = { alphaStart: 0.6, alphaEndStep: 4, temperature: 1.5, topK: null };

    it("leaves the teacher's weights bitwise unchanged and moves the student differently from scratch", async () => {
      const teacher = Transformer.create(TEACHER, 5);
      const before = snapshot(teacher.variables());
      const dirKi = tempDir("kit-ki-a-");
      const dirScratch = tempDir("kit-ki-b-");
      const r = await pretrain(dirKi, train, val, OPTIONS, { ...quiet, loss: kiLoss(teacher, ki) });
      assertBackboneUnchanged(teacher, before, "teacher");
      const s = await pretrain(dirScratch, train, val, OPTIONS, quiet);
      const wk = snapshot(r.model.variables());
      const ws = snapshot(s.model.variables());
      assert.ok(
        wk.some((w, i) => !bitwiseEqual(w, ws[i]!)),
        "KI run ended with the scratch run's weights",
      );
      teacher.dispose();
      r.model.dispose();
      s.model.dispose();
    });

    it("a KI run stopped midway and resumed ends bitwise identical to an uninterrupted one", async () => {
      const teacher = Transformer.create(TEACHER, 5);
      const dirA = tempDir("kit-ki-c-");
      const dirB = tempDir("kit-ki-d-");
      const a = await pretrain(dirA, train, val, OPTIONS, { ...quiet, loss: kiLoss(teacher, ki) });
      let calls = 0;
      const first = await pretrain(dirB, train, val, OPTIONS, {
        ...quiet,
        loss: kiLoss(teacher, ki),
        shouldStop: () => ++calls > 2,
      });
      assert.equal(first.finished, false);
      assert.equal(first.state.step, 2); // stopped while a_t > 0
      first.model.dispose();
      const second = await pretrain(dirB, train, val, OPTIONS, { ...quiet, loss: kiLoss(teacher, ki) });
      assert.ok(second.finished);
      const wa = snapshot(a.model.variables());
      const wb = snapshot(second.model.variables());
      wa.forEach((w, i) => assert.ok(bitwiseEqual(w, wb[i]!), `weight ${a.model.names()[i]} differs after resume`));
      assert.deepEqual(
        second.state.history.map((h) => h.valLoss),
        a.state.history.map((h) => h.valLoss),
      );
      assert.deepEqual(
        readValidationCurve(dirB),
        a.state.history.map((h) => ({ step: h.step, valLoss: h.valLoss })),
      );
      teacher.dispose();
      a.model.dispose();
      second.model.dispose();
    });

    it("a KI run and a scratch run refuse to resume as each other, or with another teacher or settings", async () => {
      const teacher = Transformer.create(TEACHER, 5);
      const record = kiRunRecord({ name: "kit-tiny", fingerprint: "sha256:aaaa" }, resolveKiOptions(ki));
      const dirKi = tempDir("kit-ki-e-");
      const dirScratch = tempDir("kit-ki-f-");
      assertKiRunMatches(dirKi, record); // nothing to resume yet
      let calls = 0;
      const r = await pretrain(dirKi, train, val, { ...OPTIONS, ki: record } as PretrainOptions, {
        ...quiet,
        loss: kiLoss(teacher, ki),
        shouldStop: () => ++calls > 1,
      });
      r.model.dispose();
      calls = 0;
      const s = await pretrain(dirScratch, train, val, OPTIONS, { ...quiet, shouldStop: () => ++calls > 1 });
      s.model.dispose();
      assertKiRunMatches(dirKi, { ...record }); // same record: resumable
      assertKiRunMatches(dirScratch, null);
      assert.throws(
        () => assertKiRunMatches(dirKi, null),
        /started with knowledge inheritance .*\n.*resumed from scratch/,
      );
      assert.throws(
        () => assertKiRunMatches(dirScratch, record),
        /started from scratch \(no teacher\)\n.*resumed with knowledge inheritance/,
      );
      assert.throws(
        () => assertKiRunMatches(dirKi, { ...record, teacher: { name: "kit-tiny", fingerprint: "sha256:bbbb" } }),
        /started with .*sha256:aaaa.*\n.*resumed with .*sha256:bbbb/,
      );
      assert.throws(() => assertKiRunMatches(dirKi, { ...record, alphaEndStep: 5 }), /use another --run-dir/);
      teacher.dispose();
    });

    it("names KI runs and writes the teacher and settings into the card notes", () => {
      assert.equal(kiRunName("kit-base", "kit-small"), "kit-base-ki-kit-small");
      assert.equal(kiRunName("kit-base", "my teacher/v2"), "kit-base-ki-my_teacher_v2");
      const notes = kiCardNotes(
        kiRunRecord(
          { name: "kit-small", fingerprint: "sha256:abc" },
          resolveKiOptions({ alphaStart: 0.5, alphaEndStep: 900, topK: 64 }),
        ),
        "models/kit-small",
      ).join("\n");
      for (const part of ["kit-small", "models/kit-small", "sha256:abc", "0.5", "step 900", "T = 1", "top 64"])
        assert.ok(notes.includes(part), `${part} missing from ${notes}`);
    });
  });

  describe("computeSaved", () => {
    const scratch = [
      { step: 100, valLoss: 5 },
      { step: 200, valLoss: 4 },
      { step: 300, valLoss: 3.5 },
      { step: 400, valLoss: 3.2 },
    ];

    it("interpolates the KI step count between the evaluations that bracket the target", () => {
      const ki = [
        { step: 100, valLoss: 4.5 },
        { step: 200, valLoss: 3.4 },
        { step: 300, valLoss: 3.0 },
      ];
      const r = computeSaved(scratch, ki);
      assert.equal(r.target, 3.2);
      assert.equal(r.scratchSteps, 400);
      assert.ok(Math.abs(r.kiSteps! - 250) < 1e-9, String(r.kiSteps)); // 3.2 halfway from 3.4 to 3.0
      assert.ok(Math.abs(r.saved! - 0.375) < 1e-12, String(r.saved));
    });

    it("uses an exact hit, the first crossing, and the first point when it is already below", () => {
      assert.equal(
        stepsToReach(
          [
            { step: 10, valLoss: 4 },
            { step: 20, valLoss: 3.2 },
            { step: 30, valLoss: 3.1 },
          ],
          3.2,
        ),
        20,
      );
      assert.equal(
        stepsToReach(
          [
            { step: 10, valLoss: 4 },
            { step: 20, valLoss: 3 },
            { step: 30, valLoss: 3.5 },
            { step: 40, valLoss: 2 },
          ],
          3.5,
        ),
        15,
      );
      assert.equal(computeSaved(scratch, [{ step: 50, valLoss: 3 }]).kiSteps, 50);
      assert.equal(computeSaved(scratch, [{ step: 50, valLoss: 3 }]).saved, 1 - 50 / 400);
    });

    it("reports null when the KI run never reaches the scratch run's final loss, and negative savings when later", () => {
      const never = computeSaved(scratch, [
        { step: 100, valLoss: 4 },
        { step: 400, valLoss: 3.3 },
      ]);
      assert.equal(never.kiSteps, null);
      assert.equal(never.saved, null);
      const later = computeSaved(scratch, [
        { step: 400, valLoss: 3.4 },
        { step: 600, valLoss: 3.0 },
      ]);
      assert.ok(Math.abs(later.kiSteps! - 500) < 1e-9);
      assert.ok(Math.abs(later.saved! + 0.25) < 1e-12);
    });

    it("rejects malformed curves naming the curve, point and field", () => {
      assert.throws(() => computeSaved([], scratch), /the scratch curve is empty/);
      assert.throws(
        () =>
          computeSaved(scratch, [
            { step: 10, valLoss: 3 },
            { step: 10, valLoss: 2 },
          ]),
        /ki curve point 1: step 10 is not after the previous step 10/,
      );
      assert.throws(
        () => computeSaved(scratch, [{ step: 10, valLoss: NaN }]),
        /ki curve point 0: valLoss must be a finite number/,
      );
      assert.throws(() => computeSaved([{ step: 0, valLoss: 3 }], scratch), /ends at step 0/);
    });
  });
});
