/**
 * Pre-training a mixture-of-experts model: the loss is the LM loss plus router_aux_loss_coef times the summed
 * load-balancing losses (checked against the two computed apart), the progress line logs the aux loss and the
 * dropped share, a run resumes bitwise like a dense one, and experts no token reached still get an (empty) update
 * rather than a crash.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { tf } from "../../lib/backend/backend";
import { resolveConfig } from "../../lib/backbone/config";
import { lmLoss } from "../../lib/backbone/lm-loss";
import { totalAuxLoss, withMoeProbe } from "../../lib/backbone/moe/moe-probe";
import { Transformer } from "../../lib/backbone/transformer";
import { trainingBatch } from "../../lib/pretrain/batches";
import { moeLoss } from "../../lib/pretrain/moe-loss";
import { PretrainOptions, pretrain } from "../../lib/pretrain/pretrainer";
import { TINY, bitwiseEqual, fakeIds, setupBackend, snapshot } from "../helpers";

const CONFIG = resolveConfig({ ...TINY, numExperts: 8, moeLayers: [1], capacityFactor: 1, routerAuxLossCoef: 0.1 });
const OPTIONS: PretrainOptions = {
  config: CONFIG,
  seed: 3,
  steps: 4,
  batch: 2,
  length: 8,
  lr: 1e-2,
  warmupSteps: 1,
  minLrRatio: 0.1,
  weightDecay: 0.01,
  clipNorm: 1,
  evalEvery: 2,
  evalTokens: 64,
  ckptSeconds: 0,
  logEvery: 1,
};

describe("pretraining a mixture-of-experts model", () => {
  before(setupBackend);
  const train = fakeIds(500, 40, 1);
  const val = fakeIds(200, 40, 2);

  it("adds coef x the load-balancing loss to the LM loss", () => {
    const model = Transformer.create(CONFIG, 1);
    const b = trainingBatch(train, 0, 0, 2, 8);
    const [combined, lm, aux] = tf.tidy(() => {
      const c = moeLoss(CONFIG)!.loss(model, b).dataSync()[0]!;
      const { value, probe } = withMoeProbe(() => lmLoss(model, b.ids, b.mask, b.batch, b.length, true));
      return [c, value.dataSync()[0]!, totalAuxLoss(probe).dataSync()[0]!];
    });
    assert.ok(aux >= 1 - 1e-6, `Switch aux loss is at least 1 (uniform routing), got ${aux}`);
    assert.ok(Math.abs(combined - (lm + 0.1 * aux)) < 1e-5, `${combined} vs ${lm} + 0.1 x ${aux}`);
    assert.equal(moeLoss(resolveConfig(TINY)), null, "a dense config has no MoE loss");
    model.dispose();
  });

  it("logs the aux loss, resumes bitwise, and refuses activation checkpointing", async () => {
    const lines: string[] = [];
    const dirA = fs.mkdtempSync(path.join(os.tmpdir(), "kit-moe-pt-a-"));
    const dirB = fs.mkdtempSync(path.join(os.tmpdir(), "kit-moe-pt-b-"));
    const a = await pretrain(dirA, train, val, OPTIONS, { log: (l) => lines.push(l) });
    assert.ok(a.finished);
    assert.ok(
      lines.some((l) => /aux \d+\.\d{3} dropped \d+\.\d%/.test(l)),
      `no aux in the progress lines:\n${lines.join("\n")}`,
    );
    let calls = 0;
    const first = await pretrain(dirB, train, val, OPTIONS, { log: () => undefined, shouldStop: () => ++calls > 2 });
    first.model.dispose();
    const second = await pretrain(dirB, train, val, OPTIONS, { log: () => undefined });
    const wa = snapshot(a.model.variables());
    const wb = snapshot(second.model.variables());
    assert.ok(
      wa.every((w, i) => bitwiseEqual(w, wb[i]!)),
      "resumed run differs from the uninterrupted one",
    );
    a.model.dispose();
    second.model.dispose();
    const dirC = fs.mkdtempSync(path.join(os.tmpdir(), "kit-moe-pt-c-"));
    await assert.rejects(
      pretrain(dirC, train, val, { ...OPTIONS, checkpoint: true }, { log: () => undefined }),
      /activation checkpointing does not carry the MoE load-balancing loss/,
    );
    for (const d of [dirA, dirB, dirC]) fs.rmSync(d, { recursive: true, force: true });
  });
});
