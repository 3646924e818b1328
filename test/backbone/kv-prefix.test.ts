/**
 * Key/value prefixes (prefix tuning) on every family against the independent PyTorch reference
 * (test/backbone/hf_reference.py prefix_case: keys/values concatenated before each layer's own, unrotated, real
 * tokens at positions 0..): logits of a right-padded batch within 1e-4, the gradient of a last-token loss with
 * respect to the prefix table, and the same through the reparameterisation MLP; on every kernel set this backend
 * offers, with and without activation checkpointing.
 */
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { tf } from "../../lib/backend/backend";
import { embeddingLookup } from "../../lib/backend/embedding";
import { kernelSetInfo, resetKernelSet, type KernelSetName } from "../../lib/backend/kernels/kernel-set";
import { arch } from "../../lib/backbone/config";
import { loadCheckpoint, type LoadedBackbone } from "../../lib/backbone/checkpoint";
import { PrefixEncoder, type PrefixShape } from "../../lib/prompt/prefix-encoder";
import { tokens } from "../../lib/prompt/sequence";
import { spliceBatch } from "../../lib/prompt/splice";
import { setupBackend } from "../helpers";
import { hfReferenceCheckpoints } from "./hf-fixtures";

const TOL = 1e-4;

interface PrefixCase {
  length: number;
  ids: number[][];
  lengths: number[];
  targets: number[];
  table: number[][];
  logits: number[][][];
  loss: number;
  grad: number[][];
  mlp: {
    hidden: number;
    embedding: number[][];
    w1: number[][];
    b1: number[];
    w2: number[][];
    b2: number[];
    logits: number[][][];
    loss: number;
    gradEmbedding: number[][];
    gradW2: number[][];
  };
}

function maxDiff(got: Float32Array, want: number[], label: string, tol = TOL): void {
  assert.equal(got.length, want.length, `${label}: length`);
  let worst = 0;
  let at = -1;
  for (let i = 0; i < got.length; i++) {
    const d = Math.abs(got[i]! - want[i]!);
    if (!(d <= worst)) {
      worst = d;
      at = i;
    }
  }
  assert.ok(worst <= tol, `${label}: max |kit - torch| = ${worst} at ${at} (kit ${got[at]}, torch ${want[at]})`);
}

/** Real rows' logits (flattened) and the summed last-token loss, for the prefix the encoder makes. */
function run(b: LoadedBackbone, c: PrefixCase, enc: PrefixEncoder, checkpoint: boolean) {
  const seqs = c.ids.map((row, r) => ({ pieces: [tokens(row.slice(0, c.lengths[r]))] }));
  const v = b.config.vocabSize;
  const forward = () => {
    const sp = spliceBatch(b.model, seqs, null, 0);
    const h = b.model.forwardEmbeddings(sp.x, sp.mask, { prefix: enc.prefix(), checkpoint });
    const flat = tf.reshape(h, [sp.batch * sp.length, b.config.dModel]) as tf.Tensor2D;
    const last = Int32Array.from(sp.lastIndex, (t, r) => r * sp.length + t);
    const logp = tf.logSoftmax(b.model.logits(embeddingLookup(last, flat, { tableGrad: true })));
    const onehot = tf.oneHot(tf.tensor1d(c.targets, "int32"), v);
    return { sp, logits: b.model.logits(flat), loss: tf.neg(tf.sum(tf.mul(logp, onehot))) as tf.Scalar };
  };
  const rows = tf.tidy(() => {
    const { sp, logits } = forward();
    const all = logits.dataSync() as Float32Array;
    const keep: number[] = [];
    for (let i = 0; i < sp.mask.length; i++) if (sp.mask[i]) for (let j = 0; j < v; j++) keep.push(all[i * v + j]!);
    return Float32Array.from(keep);
  });
  const { value, grads } = tf.variableGrads(() => forward().loss, enc.variables());
  const loss = value.dataSync()[0]!;
  const g = enc.variables().map((x) => Float32Array.from(grads[x.name]!.dataSync() as Float32Array));
  value.dispose();
  Object.values(grads).forEach((t) => t.dispose());
  return { rows, loss, grads: g };
}

function realRows(c: PrefixCase, logits: number[][][]): number[] {
  const want: number[] = [];
  logits.forEach((seq, r) => seq.slice(0, c.lengths[r]).forEach((l) => want.push(...l)));
  return want;
}

/** Runs fn with KIT_KERNELS=set, restoring the previous choice afterwards. */
function withKernels<T>(set: KernelSetName, fn: () => T): T {
  const saved = process.env["KIT_KERNELS"];
  process.env["KIT_KERNELS"] = set;
  resetKernelSet();
  try {
    return fn();
  } finally {
    if (saved === undefined) delete process.env["KIT_KERNELS"];
    else process.env["KIT_KERNELS"] = saved;
    resetKernelSet();
  }
}

describe("key/value prefixes against the independent PyTorch reference", function () {
  this.timeout(120_000);
  let refs: { root: string; variants: string[] } | null = null;
  // the active set, plus tfjs's own kernels (the bias path) when the active set is another one
  let sets: KernelSetName[] = [];

  before(async function () {
    await setupBackend();
    refs = hfReferenceCheckpoints();
    if (!refs) {
      console.log("    (skipped: /usr/bin/python3 with torch is not available)");
      this.skip();
    }
    const active = kernelSetInfo().name;
    sets = active === "tfjs" || kernelSetInfo().backend !== "wasm" ? [active] : [active, "tfjs"];
  });

  for (const variant of ["gpt2", "llama-gqa-untied", "qwen2-bf16-sharded", "neox-f16", "neox-sequential-sharded"]) {
    it(`${variant}: logits with padding and the prefix gradients (direct and through the MLP) agree within ${TOL}`, () => {
      const dir = path.join(refs!.root, variant);
      const c = (JSON.parse(fs.readFileSync(path.join(dir, "expected.json"), "utf8")) as { kvPrefix: PrefixCase })
        .kvPrefix;
      const b = loadCheckpoint(dir);
      try {
        b.model.freeze();
        const a = arch(b.config);
        const shape: PrefixShape = {
          layers: b.config.nLayers,
          length: c.length,
          kvHeads: a.nKvHeads,
          headDim: a.headDim,
          dModel: b.config.dModel,
        };
        const direct = PrefixEncoder.fromValues(shape, null, [Float32Array.from(c.table.flat())]);
        const m = c.mlp;
        const mlp = PrefixEncoder.fromValues(
          shape,
          { hidden: m.hidden },
          [m.embedding.flat(), m.w1.flat(), m.b1, m.w2.flat(), m.b2].map((x) => Float32Array.from(x)),
        );
        for (const set of sets) {
          for (const checkpoint of [false, true]) {
            const label = `${variant} (${set} kernels${checkpoint ? ", checkpointed" : ""})`;
            withKernels(set, () => {
              const d = run(b, c, direct, checkpoint);
              maxDiff(d.rows, realRows(c, c.logits), `${label} logits`);
              assert.ok(Math.abs(d.loss - c.loss) <= TOL * Math.max(1, Math.abs(c.loss)), `${label} loss`);
              maxDiff(d.grads[0]!, c.grad.flat(), `${label} gradient of the prefix table`);
              const p = run(b, c, mlp, checkpoint);
              maxDiff(p.rows, realRows(c, m.logits), `${label} logits through the MLP`);
              maxDiff(p.grads[0]!, m.gradEmbedding.flat(), `${label} gradient of the MLP's embedding`);
              maxDiff(p.grads[3]!, m.gradW2.flat(), `${label} gradient of the MLP's output weights`);
            });
          }
        }
        // a prefixed forward and gradient leak nothing
        const before = tf.memory().numTensors;
        run(b, c, mlp, false);
        assert.equal(tf.memory().numTensors, before, `${variant}: a prefixed forward leaked tensors`);
        direct.dispose();
        mlp.dispose();
      } finally {
        b.model.dispose();
      }
    });
  }
});
