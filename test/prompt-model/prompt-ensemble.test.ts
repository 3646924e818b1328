import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { compareEnsemble } from "../../lib/eval/ensemble";
import { PromptLibrary } from "../../lib/prompt/library";
import { randomUniform } from "../../lib/prompt/initializers";
import { PromptSet } from "../../lib/prompt/soft-prompt";
import { ensembleCost, loadEnsemble, scoreEnsemble } from "../../lib/prompt-model/prompt-ensemble";
import { assertNoLeak, setupBackend } from "../helpers";
import { loadTiny } from "../tuning/fixture";

function taskData() {
  const rows = (n: number, off: number) =>
    Array.from({ length: n }, (_, i) => ({
      id: `mine:${off + i}`,
      text: i % 2 ? "money and business offers" : "public and general news today",
      label: i % 2 ? "spam" : "ham",
    }));
  return {
    name: "mine",
    labels: ["ham", "spam"],
    train: rows(4, 0),
    dev: rows(4, 4),
    test: rows(10, 8),
    source: { package: "file", version: "test", licence: "CC0", note: "test rows" },
  };
}

describe("prompt ensembles from a library", function () {
  this.timeout(60000);
  before(setupBackend);

  it("loads members from a library, scores them batched exactly as one pass per member, and reports cost", async () => {
    const b = loadTiny();
    const lib = new PromptLibrary(fs.mkdtempSync(path.join(os.tmpdir(), "kit-ens-")));
    const meta = (seed: number) => ({
      task: "mine",
      labels: ["ham", "spam"],
      settings: { length: 3, init: "random-uniform", position: "front" },
      backbone: { name: b.name, fingerprint: b.fingerprint },
      metrics: {},
      extra: { method: "prompt-tuning", seed },
    });
    for (const seed of [0, 1, 2]) {
      const p = PromptSet.create(
        { front: 3, middle: 0, back: 0 },
        b.config.dModel,
        randomUniform(0.5),
        "random-uniform",
        seed,
      );
      lib.add(p, meta(seed), { name: `mine-seed${seed}` });
      p.dispose();
    }
    const ens = loadEnsemble(b, lib, ["mine-seed0", "mine-seed1", "mine-seed2"]);
    const task = taskData();
    const batched = scoreEnsemble(b, ens.members, task, { batchSize: 4 });
    const separate = scoreEnsemble(b, ens.members, task, { batchSize: 4, separate: true });
    assert.equal(batched.forwardPasses, 3, "10 examples in batches of 4: 3 passes for all members");
    assert.equal(separate.forwardPasses, 9);
    assert.equal(batched.scores.length, 3);
    assert.equal(batched.scores[0]!.length, 10);
    batched.scores.forEach((m, n) =>
      m.forEach((row, i) => row.forEach((v, c) => assert.ok(Math.abs(v - separate.scores[n]![i]![c]!) < 1e-4))),
    );
    const cmp = compareEnsemble(batched.scores, batched.gold, "mean-logprob");
    assert.equal(cmp.memberAccuracy.length, 3);
    const cost = ensembleCost(b, ens.members);
    assert.equal(cost.promptBytes, 3 * b.config.dModel * 4);
    assert.equal(cost.fineTunedBytes, 3 * b.model.paramCount() * 4);
    assert.equal(cost.ensembleBytes, b.model.paramCount() * 4 + 3 * cost.promptBytes);
    await assertNoLeak("ensemble scoring", () => scoreEnsemble(b, ens.members, task, { batchSize: 4 }));
    ens.dispose();
    // members of different tasks are refused
    const p = PromptSet.create(
      { front: 3, middle: 0, back: 0 },
      b.config.dModel,
      randomUniform(0.5),
      "random-uniform",
      5,
    );
    lib.add(p, { ...meta(5), task: "other" }, { name: "other-seed5" });
    p.dispose();
    assert.throws(
      () => loadEnsemble(b, lib, ["mine-seed0", "other-seed5"]),
      /entry 'other-seed5' is for task 'other', entry 'mine-seed0' for 'mine'/,
    );
    assert.throws(() => scoreEnsemble(b, [], task), /needs at least one prompt/);
    b.model.dispose();
  });
});
