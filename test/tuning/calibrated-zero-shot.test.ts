/**
 * calibrated-zero-shot against a reference computed here in plain arrays from the zero-shot method's own class
 * scores: softmax over classes, divided by the mean content-free probability, renormalised (Zhao et al. 2021).
 */
import assert from "node:assert/strict";
import { tf } from "../../lib/backend/backend";
import { buildTask } from "../../lib/tasks/data/build-task";
import { CONTENT_FREE_TEXTS, PreparedTask } from "../../lib/tasks/prepared-task";
import type { InputSequence } from "../../lib/prompt/sequence";
import { getMethod } from "../../lib/tuning/methods";
import type { MethodContext } from "../../lib/tuning/method";
import { assertBackboneUnchanged, setupBackend, snapshot } from "../helpers";
import { loadTiny } from "./fixture";

const TEXTS = ["the film was good and the food was great", "it was bad and boring", "a good story", "not worth it"];

function softmaxRows(rows: number[][]): number[][] {
  return rows.map((r) => {
    const m = Math.max(...r);
    const e = r.map((x) => Math.exp(x - m));
    const s = e.reduce((a, b) => a + b, 0);
    return e.map((x) => x / s);
  });
}

describe("tuning: calibrated-zero-shot (contextual calibration)", function () {
  this.timeout(60000);
  before(setupBackend);

  function setup() {
    const b = loadTiny();
    const data = buildTask(
      "cal",
      ["neg", "pos"],
      TEXTS.map((text, i) => ({ id: `e${i}`, text, label: i % 2 === 0 ? "pos" : "neg" })),
      { seed: 0, devFraction: 0, testFraction: 0.5 },
      { package: "test", version: "0", licence: "none", note: "" },
    );
    const task = new PreparedTask(data, b.tokenizer, {
      template: { pattern: "<front>{text} all in all it was<back>", maxFieldTokens: 16 },
      verbalizer: { neg: [" bad", " not"], pos: [" good"] },
    });
    const ctx: MethodContext = {
      model: b.model,
      padId: b.tokenizer.padId,
      candidates: task.verbalizer.tokenIds,
      seed: 0,
      prompt: { length: 0, init: "random-uniform", position: "front", initRange: 0.5 },
      frequentIds: [],
      labelTokenIds: task.verbalizer.firstWordIds(),
      contentFree: task.contentFreeSequences(),
    };
    return { b, task, ctx };
  }

  const scoresOf = (scores: (s: readonly InputSequence[], t: boolean) => tf.Tensor2D, seqs: readonly InputSequence[]) =>
    tf.tidy(() => scores(seqs, false)).arraySync() as number[][];

  it("divides each class probability by its mean content-free probability (reference in plain arrays)", () => {
    const { b, task, ctx } = setup();
    const before = snapshot(b.model.variables());
    const seqs = TEXTS.map((text, i) => task.template.render({ id: `t${i}`, text, label: "neg" }));
    const plain = getMethod("zero-shot").build(ctx);
    const cal = getMethod("calibrated-zero-shot").build(ctx);
    assert.equal(ctx.contentFree!.length, CONTENT_FREE_TEXTS.length);
    const cfProbs = softmaxRows(scoresOf(plain.scores, ctx.contentFree!));
    const prior = cfProbs[0]!.map((_, c) => cfProbs.reduce((s, r) => s + r[c]!, 0) / cfProbs.length);
    const want = softmaxRows(scoresOf(plain.scores, seqs)).map((p) => {
      const q = p.map((x, c) => x / prior[c]!);
      const s = q.reduce((a, x) => a + x, 0);
      return q.map((x) => x / s);
    });
    const got = softmaxRows(scoresOf(cal.scores, seqs));
    for (let i = 0; i < want.length; i++)
      for (let c = 0; c < want[i]!.length; c++) assert.ok(Math.abs(got[i]![c]! - want[i]![c]!) < 1e-5, `${i},${c}`);
    assert.equal(cal.trainable.length, 0);
    assert.equal(cal.trainableParams, 0);
    plain.dispose();
    cal.dispose();
    assertBackboneUnchanged(b.model, before, "calibrated-zero-shot");
    b.model.dispose();
  });

  it("with a single content-free input, that input's calibrated class probabilities are uniform", () => {
    const { b, ctx } = setup();
    const one = [ctx.contentFree![0]!];
    const cal = getMethod("calibrated-zero-shot").build({ ...ctx, contentFree: one });
    const [p] = softmaxRows(scoresOf(cal.scores, one));
    for (const x of p!) assert.ok(Math.abs(x - 0.5) < 1e-5, `got ${p!.join(", ")}`);
    const before = tf.memory().numTensors;
    cal.dispose();
    assert.equal(tf.memory().numTensors, before - 1, "dispose frees the content-free prior");
    b.model.dispose();
  });

  it("is refused without content-free inputs, naming what it needs", () => {
    const { b, ctx } = setup();
    assert.throws(
      () => getMethod("calibrated-zero-shot").build({ ...ctx, contentFree: [] }),
      /calibrated-zero-shot: needs the task's content-free inputs/,
    );
    b.model.dispose();
  });

  it("content-free inputs are the task's template around 'N/A', '[MASK]' and nothing", () => {
    const { b, task } = setup();
    const rendered = task.contentFreeSequences();
    const expected = CONTENT_FREE_TEXTS.map((text) => task.template.render({ id: "x", text, label: "neg" }).pieces);
    assert.deepEqual(
      rendered.map((s) => s.pieces),
      expected,
    );
    b.model.dispose();
  });
});
