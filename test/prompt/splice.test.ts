import assert from "node:assert/strict";
import { tf } from "../../lib/backend/backend";
import { Transformer } from "../../lib/backbone/transformer";
import { randomUniform } from "../../lib/prompt/initializers";
import { slot, tokens, type InputSequence } from "../../lib/prompt/sequence";
import { PromptSet } from "../../lib/prompt/soft-prompt";
import { spliceBatch, spliceRows, type SplicedBatch } from "../../lib/prompt/splice";
import { TINY, assertNoLeak, fakeIds, setupBackend } from "../helpers";

const PAD = 0;
const D = TINY.dModel!;

// s0: <front> 5 6 <back>      -> P0 P1 5 6 P2 (pad)
// s1: 7 <front> 8 9 10        -> 7 P0 P1 8 9 10       (prompt rows: front 0..1, back 2)
const SEQS: InputSequence[] = [
  { pieces: [slot("front"), tokens([5, 6]), slot("back")] },
  { pieces: [tokens([7]), slot("front"), tokens([8, 9, 10])] },
];
const B = 2;
const L = 6;
const BL = B * L;

describe("splicing prompts into the input", function () {
  this.timeout(30000);
  let model: Transformer;
  let prompts: PromptSet;
  before(async () => {
    await setupBackend();
    model = Transformer.create(TINY, 3);
    model.freeze();
    prompts = PromptSet.create({ front: 2, middle: 0, back: 1 }, D, randomUniform(0.5), "random-uniform", 1);
  });
  after(() => {
    prompts.dispose();
    model.dispose();
  });

  /** The splice of SEQS without its embeddings (released inside tidy). */
  const layoutOf = (p: PromptSet | null): SplicedBatch => {
    let sp: SplicedBatch | null = null;
    tf.tidy(() => {
      sp = spliceBatch(model, SEQS, p, PAD);
    });
    return sp!;
  };

  it("lays out tokens, prompt rows and padding: index, mask, ids, last positions", () => {
    const sp = layoutOf(prompts);
    assert.equal(sp.batch, B);
    assert.equal(sp.length, L);
    assert.deepEqual(Array.from(sp.index), [BL + 0, BL + 1, 2, 3, BL + 2, 5, 6, BL + 0, BL + 1, 9, 10, 11]);
    assert.deepEqual(Array.from(sp.mask), [1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1]);
    assert.deepEqual(Array.from(sp.ids), [PAD, PAD, 5, 6, PAD, PAD, 7, PAD, PAD, 8, 9, 10]);
    assert.deepEqual(Array.from(sp.lastIndex), [4, 5]);
    assert.equal(sp.hasPrompt, true);
  });

  it("puts the prompt vectors and the token embeddings where the layout says", () => {
    const x = tf.tidy(() => spliceBatch(model, SEQS, prompts, PAD).x.arraySync());
    const wte = model.param("wte.weight").arraySync() as number[][];
    const front = prompts.slot("front")!.arraySync() as number[][];
    const back = prompts.slot("back")!.arraySync() as number[][];
    const close = (a: number[], b: number[]) => a.every((v, i) => Math.abs(v - b[i]!) < 1e-6);
    assert.ok(close(x[0]![0]!, front[0]!) && close(x[0]![1]!, front[1]!) && close(x[0]![4]!, back[0]!));
    assert.ok(close(x[1]![1]!, front[0]!) && close(x[1]![2]!, front[1]!));
    assert.ok(close(x[0]![2]!, wte[5]!) && close(x[1]![0]!, wte[7]!) && close(x[1]![5]!, wte[10]!));
  });

  it("without prompts the slots vanish", () => {
    const sp = layoutOf(null);
    assert.equal(sp.length, 4);
    assert.deepEqual(Array.from(sp.ids), [5, 6, PAD, PAD, 7, 8, 9, 10]);
    assert.equal(sp.hasPrompt, false);
  });

  it("the gradient of a prompt vector is the sum over the positions it fills (hand-derived, exact)", () => {
    const r = tf.tensor3d(
      Float32Array.from(fakeIds(BL * D, 1000, 5), (v) => v / 1000 - 0.5),
      [B, L, D],
    );
    const { grads } = tf.variableGrads(
      () => tf.sum(tf.mul(spliceBatch(model, SEQS, prompts, PAD).x, r)) as tf.Scalar,
      prompts.variables(),
    );
    const rr = r.arraySync();
    const at = (b: number, t: number) => rr[b]![t]!;
    const sum = (...rows: number[][]) => rows[0]!.map((_, d) => rows.reduce((s, row) => s + row[d]!, 0));
    const gFront = grads[prompts.slot("front")!.name]!.arraySync() as number[][];
    const gBack = grads[prompts.slot("back")!.name]!.arraySync() as number[][];
    const close = (a: number[], b: number[]) => a.every((v, i) => Math.abs(v - b[i]!) < 1e-6);
    assert.ok(close(gFront[0]!, sum(at(0, 0), at(1, 1))), "front[0] fills (0,0) and (1,1)");
    assert.ok(close(gFront[1]!, sum(at(0, 1), at(1, 2))), "front[1] fills (0,1) and (1,2)");
    assert.ok(close(gBack[0]!, at(0, 4)), "back[0] fills (0,4) only");
    Object.values(grads).forEach((g) => g.dispose());
    r.dispose();
  });

  it("the gradient through the frozen backbone matches central finite differences", () => {
    const r = tf.tensor3d(
      Float32Array.from(fakeIds(BL * D, 1000, 9), (v) => v / 1000 - 0.5),
      [B, L, D],
    );
    const f = () =>
      tf.tidy(() => {
        const sp = spliceBatch(model, SEQS, prompts, PAD);
        return tf.sum(tf.mul(model.forwardEmbeddings(sp.x, sp.mask), r)) as tf.Scalar;
      });
    const front = prompts.slot("front")!;
    const { grads, value } = tf.variableGrads(f, [front]);
    const g = grads[front.name]!.dataSync();
    const base = Float32Array.from(front.dataSync() as Float32Array);
    const eps = 1e-2;
    for (const k of [0, 5, D + 3, 2 * D - 1]) {
      const shifted = (delta: number) => {
        const v = Float32Array.from(base);
        v[k]! += delta;
        tf.tidy(() => front.assign(tf.tensor2d(v, front.shape as [number, number])));
        const s = f();
        const out = s.dataSync()[0]!;
        s.dispose();
        return out;
      };
      const fd = (shifted(eps) - shifted(-eps)) / (2 * eps);
      assert.ok(
        Math.abs(fd - g[k]!) <= 2e-2 * Math.max(1, Math.abs(fd)),
        `coordinate ${k}: autodiff ${g[k]}, finite differences ${fd}`,
      );
    }
    tf.tidy(() => front.assign(tf.tensor2d(base, front.shape as [number, number])));
    value.dispose();
    Object.values(grads).forEach((gr) => gr.dispose());
    r.dispose();
  });

  it("spliceRows overwrites only the prompt positions (the per-layer step of deep prompts)", () => {
    const deep = PromptSet.create({ front: 2, middle: 0, back: 1 }, D, randomUniform(0.5), "random-uniform", 9);
    const { out, rows } = tf.tidy(() => {
      const sp = spliceBatch(model, SEQS, prompts, PAD);
      const h = tf.reshape(sp.x, [BL, D]) as tf.Tensor2D;
      const hidden = tf.add(h, 1) as tf.Tensor2D; // stand-in for a block's output
      return { out: spliceRows(hidden, sp, deep).arraySync(), rows: hidden.arraySync() };
    });
    const dv = [...(deep.slot("front")!.arraySync() as number[][]), ...(deep.slot("back")!.arraySync() as number[][])];
    const promptAt: Record<number, number> = { 0: 0, 1: 1, 4: 2, 7: 0, 8: 1 };
    out.forEach((row, i) => {
      const want = promptAt[i] !== undefined ? dv[promptAt[i]!]! : rows[i]!;
      assert.ok(
        row.every((v, d) => Math.abs(v - want[d]!) < 1e-6),
        `row ${i}`,
      );
    });
    deep.dispose();
  });

  it("leaks nothing and refuses sequences longer than the backbone's maxLen", async () => {
    await assertNoLeak("spliceBatch", () => layoutOf(prompts));
    const long = [{ pieces: [slot("front"), tokens(Array.from({ length: TINY.maxLen! }, () => 5))] }];
    assert.throws(
      () => tf.tidy(() => spliceBatch(model, long, prompts, PAD).x),
      /a sequence of 26 positions exceeds the backbone's maxLen 24/,
    );
  });
});
