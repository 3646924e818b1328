import assert from "node:assert/strict";
import { tf } from "../../lib/backend/backend";
import { randomUniform } from "../../lib/prompt/initializers";
import { slot, tokens, type InputSequence } from "../../lib/prompt/sequence";
import { PromptSet } from "../../lib/prompt/soft-prompt";
import { ensembleClassScores } from "../../lib/tuning/ensemble-scorer";
import { classScores, type Candidates } from "../../lib/tuning/rank-scorer";
import { assertNoLeak, setupBackend } from "../helpers";
import { loadTiny } from "./fixture";

describe("prompt ensemble scoring", () => {
  let b: ReturnType<typeof loadTiny>;
  let t: ReturnType<typeof loadTiny>["tokenizer"];
  let seqs: InputSequence[];
  let members: PromptSet[];
  before(async () => {
    await setupBackend();
    b = loadTiny();
    t = b.tokenizer;
    seqs = [
      { pieces: [slot("front"), tokens([t.eosId, ...t.encode("the film was good")]), slot("back")] },
      { pieces: [slot("front"), tokens(t.encode("bad")), slot("back")] },
      { pieces: [slot("front"), tokens(t.encode("all in all it was a good story")), slot("back")] },
    ];
    members = [1, 2, 3, 4].map((s) =>
      PromptSet.create({ front: 3, middle: 0, back: 2 }, b.config.dModel, randomUniform(0.5), "random-uniform", s),
    );
  });

  /** The batched [N, B, C] scores against N separate forward passes, one per prompt. */
  function compare(cands: Candidates): void {
    const batched = tf.tidy(() => ensembleClassScores(b.model, members, seqs, cands, t.padId).arraySync());
    assert.equal(batched.length, members.length);
    members.forEach((m, n) => {
      const single = tf.tidy(() =>
        classScores(b.model, m, seqs, cands, { padId: t.padId, training: false }).arraySync(),
      );
      single.forEach((row, i) =>
        row.forEach((v, c) =>
          assert.ok(
            Math.abs(v - batched[n]![i]![c]!) < 1e-4,
            `member ${n} item ${i} label ${c}: ${v} vs ${batched[n]![i]![c]}`,
          ),
        ),
      );
    });
    // members really differ, so a mix-up of members would fail above
    assert.notDeepEqual(batched[0], batched[1]);
  }

  it("single-token label words: one batched pass equals N separate passes", () => compare([[[57]], [[123]], [[299]]]));

  it("multi-token label words: one batched pass equals N separate passes", () =>
    compare([[[57, 60], [61]], [[123, 124, 125]]]));

  it("leaks no tensors and refuses members with different layouts", async () => {
    await assertNoLeak("ensemble scores", () =>
      tf.tidy(() => ensembleClassScores(b.model, members, seqs, [[[57]], [[123]]], t.padId)).dispose(),
    );
    const other = PromptSet.create(
      { front: 5, middle: 0, back: 0 },
      b.config.dModel,
      randomUniform(0.5),
      "random-uniform",
      9,
    );
    assert.throws(
      () => tf.tidy(() => ensembleClassScores(b.model, [members[0]!, other], seqs, [[[57]], [[123]]], t.padId)),
      /member 1 has slots .* \(an ensemble's prompts share one layout/,
    );
    other.dispose();
  });
});
