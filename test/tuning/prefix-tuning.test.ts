import assert from "node:assert/strict";
import { tf } from "../../lib/backend/backend";
import { loadCheckpoint } from "../../lib/backbone/checkpoint";
import { arch } from "../../lib/backbone/config";
import { checkOptionsForMethod } from "../../lib/experiment/cell-options";
import { makeCell } from "../../lib/experiment/grid";
import { validateRecord } from "../../lib/experiment/record";
import { resolveCellOptions, runCell } from "../../lib/experiment/run-cell";
import { prefixParamCount, tableSize } from "../../lib/prompt/prefix-encoder";
import { tokens } from "../../lib/prompt/sequence";
import type { Tuned } from "../../lib/tuning/method";
import { getMethod } from "../../lib/tuning/methods";
import { activationTable } from "../../lib/tuning/methods/prefix-tuning";
import { PrefixEncoder } from "../../lib/prompt/prefix-encoder";
import { classLoss } from "../../lib/tuning/rank-scorer";
import { tinyFamilyDir } from "../backbone/family-fixtures";
import { assertBackboneUnchanged, assertNoLeak, setupBackend, snapshot } from "../helpers";
import { loadTiny } from "./fixture";

const OPTIONS = { steps: 3, batchSize: 4, evalEvery: 3, maxDev: 8, maxTest: 12, promptLength: 3, warmupSteps: 1 };

describe("prefix tuning (method)", function () {
  this.timeout(120000);
  before(setupBackend);

  for (const family of ["gpt2", "llama", "qwen2", "gpt_neox"]) {
    it(`${family}: a few steps train the prefixes (direct and through the MLP), the backbone stays bitwise unchanged`, async () => {
      const dir = tinyFamilyDir(family);
      const b = loadCheckpoint(dir);
      try {
        const before = snapshot(b.model.variables());
        const c = b.config;
        const shape = {
          layers: c.nLayers,
          length: 3,
          kvHeads: arch(c).nKvHeads,
          headDim: arch(c).headDim,
          dModel: c.dModel,
        };
        for (const projection of [false, true]) {
          const got: { trained?: Float32Array } = {};
          const options = { ...OPTIONS, ...(projection ? { prefixProjection: true, prefixHidden: 5 } : {}) };
          const cell = makeCell({ backbone: dir, task: "yelp", method: "prefix-tuning", seed: 0, options });
          const rec = await runCell(
            cell,
            {
              onTrained: (tuned: Tuned) => {
                got.trained = tuned.prefix!.collapse();
              },
            },
            b,
          );
          validateRecord(rec, `${family} prefix-tuning record`);
          assert.equal(rec.steps, 3);
          assert.equal(rec.trainableParams, prefixParamCount(shape, projection ? { hidden: 5 } : null));
          assert.equal(rec.taskBytes, tableSize(shape) * 4, "a task keeps only the collapsed prefix table");
          assert.equal(rec.prompt?.position, "key/value prefix (every layer)");
          // the same cell's initial prefix differs from the trained one
          const fresh = getMethod("prefix-tuning").build({
            model: b.model,
            padId: b.tokenizer.padId,
            candidates: [[[5]], [[6]]],
            seed: 0,
            prompt: { length: 3, init: "random-uniform", position: "front", initRange: 0.5 },
            frequentIds: [],
            labelTokenIds: [],
            prefix: { projection, hidden: projection ? 5 : null },
          });
          const initial = fresh.prefix!.collapse();
          fresh.dispose();
          assert.equal(got.trained?.length, tableSize(shape));
          assert.notDeepEqual(Array.from(got.trained!), Array.from(initial), "training changed the prefixes");
        }
        assertBackboneUnchanged(b.model, before, `${family} backbone`);
      } finally {
        b.model.dispose();
      }
    });
  }

  for (const family of ["gpt2", "llama", "qwen2", "gpt_neox"]) {
    it(`${family}: a prefix of real tokens' keys and values acts as those tokens (the real ones numbered after them, as a KV cache)`, () => {
      const b = loadCheckpoint(tinyFamilyDir(family));
      try {
        b.model.freeze();
        const c = b.config;
        const shape = {
          layers: c.nLayers,
          length: 3,
          kvHeads: arch(c).nKvHeads,
          headDim: arch(c).headDim,
          dModel: c.dModel,
        };
        const head = [11, 12, 13];
        const tail = [21, 22, 23, 24];
        const enc = PrefixEncoder.fromTable(shape, activationTable(b.model, head, shape));
        const logitsOf = (ids: number[], opts: Parameters<typeof b.model.forwardEmbeddings>[2]) =>
          tf.tidy(() => {
            const h = b.model.forwardEmbeddings(
              b.model.embed(Int32Array.from(ids), 1, ids.length),
              new Float32Array(ids.length).fill(1),
              opts,
            );
            return Array.from(
              b.model.logits(tf.reshape(h, [ids.length, c.dModel]) as tf.Tensor2D).dataSync() as Float32Array,
            );
          });
        const full = logitsOf([...head, ...tail], {}).slice(head.length * c.vocabSize);
        const cached = tf.tidy(() =>
          logitsOf(tail, { prefix: enc.prefix(), positions: Int32Array.from([3, 4, 5, 6]) }),
        );
        const worst = full.reduce((m, x, i) => Math.max(m, Math.abs(x - cached[i]!)), 0);
        assert.ok(worst < 1e-4, `max difference ${worst}`);
        // by default the real tokens are numbered from 0: a different computation (tiny random weights attend almost
        // uniformly, so under rotary the change is small)
        const from0 = tf.tidy(() => logitsOf(tail, { prefix: enc.prefix() }));
        const moved = from0.reduce((m, x, i) => Math.max(m, Math.abs(x - full[i]!)), 0);
        assert.ok(moved > 1e-6, `positions from 0 changed the logits by only ${moved}`);
        enc.dispose();
      } finally {
        b.model.dispose();
      }
    });
  }

  it("trains only prefix variables; a scoring step and its gradient leak nothing", async () => {
    const b = loadTiny();
    const tuned = getMethod("prefix-tuning").build({
      model: b.model,
      padId: b.tokenizer.padId,
      candidates: [[[5]], [[6, 7]]],
      seed: 1,
      prompt: { length: 2, init: "random-uniform", position: "front", initRange: 0.5 },
      frequentIds: [],
      labelTokenIds: [],
      prefix: { projection: true, hidden: null },
    });
    const backbone = new Set(b.model.variables().map((v) => v.id));
    assert.ok(tuned.trainable.every((v) => !backbone.has(v.id)));
    assert.equal(tuned.trainable.length, 5, "embedding, w1, b1, w2, b2");
    const seqs = [{ pieces: [tokens([3, 4, 5])] }, { pieces: [tokens([8])] }];
    tf.tidy(() => tuned.scores(seqs, false)); // the frozen backbone caches its output matrix on first use
    await assertNoLeak("prefix scores + gradient", () => {
      const { value, grads } = tf.variableGrads(() => classLoss(tuned.scores(seqs, true), [0, 1]), tuned.trainable);
      const norms = tf.tidy(() => Object.values(grads).map((g) => g.abs().max().dataSync()[0]!));
      assert.ok(
        norms.every((n) => n > 0),
        "every prefix variable gets a gradient",
      );
      value.dispose();
      Object.values(grads).forEach((g) => g.dispose());
    });
    tuned.dispose();
    b.model.dispose();
  });

  it("cell options: the prefix form applies only to prefix-tuning, and is checked with the option's name", () => {
    const where = "grid.json: cell 0";
    const check = (method: string, options: Record<string, unknown>) =>
      checkOptionsForMethod(resolveCellOptions(options, where), getMethod(method), where);
    check("prefix-tuning", { prefixProjection: true, prefixHidden: 64 });
    assert.throws(
      () => check("prompt-tuning", { prefixProjection: true }),
      /cell 0: option prefixProjection applies only to method prefix-tuning, got 'prompt-tuning'/,
    );
    assert.throws(
      () => resolveCellOptions({ prefixHidden: 64 }, where),
      /option prefixHidden must be null unless prefixProjection is true .*got 64/,
    );
    assert.throws(
      () => resolveCellOptions({ prefixProjection: "yes" }, where),
      /option prefixProjection must be true or false/,
    );
    assert.throws(
      () => resolveCellOptions({ prefixProjection: true, prefixHidden: 0 }, where),
      /option prefixHidden must be/,
    );
    assert.throws(
      () => check("prefix-tuning", { promptInit: "class-label" }),
      /option promptInit 'class-label' does not apply to prefix-tuning/,
    );
    assert.throws(
      () => check("prefix-tuning", { promptPosition: "back" }),
      /option promptPosition 'back' does not apply to prefix-tuning/,
    );
  });
});
