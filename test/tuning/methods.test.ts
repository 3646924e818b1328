import assert from "node:assert/strict";
import { tf } from "../../lib/backend/backend";
import { makeCell } from "../../lib/experiment/grid";
import { CELL_DEFAULTS, resolveCellOptions, runCell } from "../../lib/experiment/run-cell";
import { validateRecord } from "../../lib/experiment/record";
import { getMethod, METHODS } from "../../lib/tuning/methods";
import { assertBackboneExcluded } from "../../lib/tuning/method";
import { assertBackboneUnchanged, bitwiseEqual, setupBackend, snapshot } from "../helpers";
import { loadTiny, tinyCheckpointDir } from "./fixture";

const OPTIONS = { steps: 4, batchSize: 4, evalEvery: 2, maxDev: 8, maxTest: 12, promptLength: 4, warmupSteps: 1 };

function cell(method: string, extra: Record<string, unknown> = {}, task = "yelp") {
  return makeCell({ backbone: tinyCheckpointDir(), task, method, seed: 0, options: { ...OPTIONS, ...extra } });
}

describe("tuning methods", function () {
  this.timeout(120000);
  before(setupBackend);

  it("prompt tuning trains only the prompt: backbone bitwise unchanged, a valid record", async () => {
    const b = loadTiny();
    const before = snapshot(b.model.variables());
    const rec = await runCell(cell("prompt-tuning"), {}, b);
    validateRecord(rec, "prompt-tuning record");
    assertBackboneUnchanged(b.model, before);
    assert.equal(rec.trainableParams, 4 * 16);
    assert.equal(rec.taskBytes, 4 * 16 * 4);
    assert.deepEqual(rec.prompt, { length: 4, init: "sampled-vocab", position: "front" });
    assert.ok(rec.trainableParams <= 0.01 * b.model.paramCount());
    assert.equal(rec.steps, 4);
    assert.ok(rec.peakTensorBytes > 0);
    b.model.dispose();
  });

  it("prompt tuning with Adafactor: the prompt changes, the backbone does not, a valid record", async () => {
    const b = loadTiny();
    const before = snapshot(b.model.variables());
    const [adam, ada] = [
      await runCell(cell("prompt-tuning"), {}, b),
      await runCell(cell("prompt-tuning", { optimizer: "adafactor", lr: 0.3 }), {}, b),
    ];
    assertBackboneUnchanged(b.model, before);
    assert.equal(ada.config["optimizer"], "adafactor");
    assert.equal(ada.steps, 4);
    assert.notDeepEqual(ada.curve, adam.curve, "a different optimizer gives a different run");
    validateRecord(ada, "adafactor record");
    await assert.rejects(
      runCell(cell("prompt-tuning", { optimizer: "sgd" }), {}, b),
      /option optimizer must be one of adamw, adafactor, got "sgd"/,
    );
    b.model.dispose();
  });

  it("two-stage prompt tuning: stage 1 on a related task, then the cell's task from that prompt", async () => {
    const b = loadTiny();
    const before = snapshot(b.model.variables());
    const seen: [number, number][] = [];
    const one = await runCell(cell("prompt-tuning"), {}, b);
    const two = await runCell(
      cell("prompt-tuning", { stage1Task: "amazon", stage1Steps: 3 }),
      { onStep: (s, total) => seen.push([s, total]) },
      b,
    );
    validateRecord(two, "two-stage record");
    assertBackboneUnchanged(b.model, before);
    assert.equal(two.stage1?.task, "amazon");
    assert.equal(two.stage1?.steps, 3);
    assert.ok(two.stage1!.devAccuracy >= 0 && two.stage1!.devAccuracy <= 1);
    assert.equal(two.steps, 4, "stage 2 takes the cell's steps");
    assert.deepEqual(
      seen.map(([s]) => s),
      [1, 2, 3, 4, 5, 6, 7],
      "progress runs over both stages",
    );
    assert.ok(seen.every(([, t]) => t === 7));
    assert.notDeepEqual(two.curve, one.curve, "stage 2 starts from the stage-1 prompt, not the initialisation");
    assert.equal(one.stage1, undefined);
    await assert.rejects(
      runCell(cell("full-finetune", { stage1Task: "amazon" }), {}, b),
      /stage1Task \(two-stage prompt tuning\) needs a prompt method/,
    );
    await assert.rejects(
      runCell(cell("prompt-tuning", { stage1Task: "spam" }), {}, b),
      /stage1Task 'spam' must have the same labels and label words as 'yelp'/,
    );
    await assert.rejects(
      runCell(cell("prompt-tuning", { stage1Task: "nope" }), {}, b),
      /option stage1Task must be null or one of .*got "nope"/,
    );
    b.model.dispose();
  });

  it("deep prompt tuning trains per-layer prompts only, and they change the output", async () => {
    const b = loadTiny();
    const before = snapshot(b.model.variables());
    const rec = await runCell(cell("deep-prompt-tuning"), {}, b);
    assertBackboneUnchanged(b.model, before);
    assert.equal(rec.trainableParams, 2 * 4 * 16); // nLayers x P x D
    // The deeper layer's prompt must matter: zeroing it changes the scores.
    const tuned = getMethod("deep-prompt-tuning").build({
      model: b.model,
      padId: 0,
      candidates: [[[5]], [[6]]],
      seed: 2,
      prompt: { length: 3, init: "random-uniform", position: "front", initRange: 0.5 },
      frequentIds: [10],
      labelTokenIds: [[5], [6]],
    });
    const seq = {
      pieces: [
        { kind: "slot" as const, slot: "front" as const },
        { kind: "tokens" as const, ids: [2, 20, 21] },
      ],
    };
    const s1 = tf.tidy(() => tuned.scores([seq], false).arraySync());
    const deepVar = tuned.trainable[tuned.trainable.length - 1]!;
    const saved = tf.keep(deepVar.clone());
    deepVar.assign(tf.zerosLike(deepVar));
    const s2 = tf.tidy(() => tuned.scores([seq], false).arraySync());
    deepVar.assign(saved);
    saved.dispose();
    assert.notDeepEqual(s1, s2);
    const { grads } = tf.variableGrads(() => tf.sum(tuned.scores([seq], true)) as tf.Scalar, tuned.trainable);
    assert.ok(
      Object.values(grads).every((g) => g.dataSync().some((v) => v !== 0)),
      "every layer's prompt should get a gradient",
    );
    Object.values(grads).forEach((g) => g.dispose());
    tuned.dispose();
    b.model.dispose();
  });

  it("full fine-tuning changes the backbone weights", async () => {
    const b = loadTiny();
    const before = snapshot(b.model.variables());
    const rec = await runCell(cell("full-finetune"), {}, b);
    const after = snapshot(b.model.variables());
    const changed = before.filter((w, i) => !bitwiseEqual(w, after[i]!)).length;
    assert.ok(changed > before.length / 2, `only ${changed} of ${before.length} weights changed`);
    assert.equal(rec.trainableParams, b.model.paramCount());
    assert.equal(rec.prompt, null);
    b.model.dispose();
  });

  it("head-only and zero-shot leave the backbone unchanged", async () => {
    for (const m of ["head-only", "zero-shot"]) {
      const b = loadTiny();
      const before = snapshot(b.model.variables());
      const rec = await runCell(cell(m), {}, b);
      assertBackboneUnchanged(b.model, before, m);
      assert.equal(rec.trainableParams, m === "zero-shot" ? 0 : 16 * 2 + 2);
      assert.equal(rec.steps, m === "zero-shot" ? 0 : 4);
      b.model.dispose();
    }
  });

  it("only prompt variables receive gradients under prompt tuning", () => {
    const b = loadTiny();
    const t = b.tokenizer;
    const tuned = getMethod("prompt-tuning").build({
      model: b.model,
      padId: t.padId,
      candidates: [[[5]], [[6]]],
      seed: 1,
      prompt: { length: 3, init: "random-uniform", position: "front", initRange: 0.5 },
      frequentIds: [10, 11, 12],
      labelTokenIds: [[5], [6]],
    });
    const seq = {
      pieces: [
        { kind: "slot" as const, slot: "front" as const },
        { kind: "tokens" as const, ids: [t.eosId, 20, 21] },
      ],
    };
    const { grads } = tf.variableGrads(() => tf.sum(tuned.scores([seq], true)) as tf.Scalar, tuned.trainable);
    assert.deepEqual(Object.keys(grads).sort(), tuned.trainable.map((v) => v.name).sort());
    const g = grads[tuned.trainable[0]!.name]!.dataSync();
    assert.ok(
      g.some((v) => v !== 0),
      "the prompt got no gradient",
    );
    Object.values(grads).forEach((x) => x.dispose());
    assert.throws(
      () => assertBackboneExcluded(b.model, [...tuned.trainable, b.model.variables()[0]!], "test"),
      /must not train/,
    );
    tuned.dispose();
    b.model.dispose();
  });

  it("cell option checkpoint (activation checkpointing): validated, recorded in the config, same run for every method", async () => {
    assert.equal(CELL_DEFAULTS.checkpoint, false);
    assert.equal(resolveCellOptions({}, "t").checkpoint, false);
    assert.equal(resolveCellOptions({ checkpoint: true }, "t").checkpoint, true);
    for (const bad of ["yes", 1, null]) {
      assert.throws(
        () => resolveCellOptions({ checkpoint: bad }, "cell x"),
        /cell x: option checkpoint \(activation checkpointing\) must be true or false, got /,
      );
    }
    const b = loadTiny();
    await assert.rejects(
      runCell(cell("prompt-tuning", { checkpoint: "yes" }), {}, b),
      /option checkpoint \(activation checkpointing\) must be true or false, got "yes"/,
    );
    for (const method of ["prompt-tuning", "deep-prompt-tuning", "full-finetune"]) {
      const before = snapshot(b.model.variables());
      const plain = await runCell(cell(method), {}, b);
      // full fine-tuning changed the weights: run the checkpointed cell from the same starting point
      tf.tidy(() => b.model.variables().forEach((v, i) => v.assign(tf.tensor(before[i]!, v.shape))));
      const ckptCell = cell(method, { checkpoint: true });
      const ckpt = await runCell(ckptCell, {}, b);
      validateRecord(ckpt, `${method} checkpointed record`);
      assert.equal(ckpt.config["checkpoint"], true, `${method}: option not recorded in the config`);
      assert.equal(ckpt.cellId, ckptCell.cellId);
      assert.notEqual(ckpt.cellId, plain.cellId, `${method}: checkpoint is not part of the cell identity`);
      assert.equal(b.model.activationCheckpointing, false, `${method}: the preloaded backbone kept the cell's setting`);
      assert.deepEqual(ckpt.curve, plain.curve, `${method}: checkpointing changed the training curve`);
      assert.deepEqual(ckpt.metrics, plain.metrics, `${method}: checkpointing changed the test metrics`);
      assert.ok(
        ckpt.peakTensorBytes < plain.peakTensorBytes,
        `${method}: peak ${ckpt.peakTensorBytes} not below ${plain.peakTensorBytes}`,
      );
      tf.tidy(() => b.model.variables().forEach((v, i) => v.assign(tf.tensor(before[i]!, v.shape))));
    }
    b.model.dispose();
  });

  it("refuses a prompt position the task's template does not offer", async () => {
    const b = loadTiny();
    await assert.rejects(runCell(cell("prompt-tuning", { promptPosition: "middle" }), {}, b), /needs slot\(s\) middle/);
    b.model.dispose();
  });

  it("every registered method has a name matching its key", () => {
    for (const [k, m] of Object.entries(METHODS)) assert.equal(m.name, k);
    assert.throws(() => getMethod("lora"), /unknown method 'lora'/);
  });
});
