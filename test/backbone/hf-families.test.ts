/**
 * GPT-2, Llama (GQA, untied head; Qwen2 q/k/v biases; BF16, sharded) and GPT-NeoX (partial rotary, parallel and
 * sequential residual; F16, sharded) checkpoints in Hugging Face layout, written by an independent PyTorch
 * implementation: the kit's logits agree within 1e-4 for several sequence lengths with padding and with a soft prompt
 * spliced in, and the gradient of a prompt-tuning loss agrees too.
 */
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { tf } from "../../lib/backend/backend";
import { embeddingLookup } from "../../lib/backend/embedding";
import { loadCheckpoint, LoadedBackbone } from "../../lib/backbone/checkpoint";
import { generate } from "../../lib/backbone/generate";
import { makeCell } from "../../lib/experiment/grid";
import { validateRecord } from "../../lib/experiment/record";
import { runCell } from "../../lib/experiment/run-cell";
import { PromptSet } from "../../lib/prompt/soft-prompt";
import { slot, tokens, type InputSequence } from "../../lib/prompt/sequence";
import { spliceBatch } from "../../lib/prompt/splice";
import { setupBackend } from "../helpers";
import { hfReferenceCheckpoints } from "./hf-fixtures";

const TOL = 1e-4;

interface Expected {
  batches: { ids: number[][]; lengths: number[]; logits: number[][][] }[];
  generate: { prompt: number[]; ids: number[]; logprobs: number[] };
  prompt: {
    vectors: number[][];
    ids: number[][];
    targets: number[];
    logits: number[][][];
    loss: number;
    grad: number[][];
  };
}

function maxDiff(got: Float32Array, want: number[], label: string): void {
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
  assert.ok(worst <= TOL, `${label}: max |kit - torch| = ${worst} at ${at} (kit ${got[at]}, torch ${want[at]})`);
}

/** Logits [B, L, V] of the kit for the spliced batch, only rows that are real (mask = 1), flattened. */
function realLogits(
  b: LoadedBackbone,
  seqs: InputSequence[],
  prompts: PromptSet | null,
): { rows: Float32Array; spliced: { mask: Uint8Array; length: number } } {
  return tf.tidy(() => {
    const sp = spliceBatch(b.model, seqs, prompts, 0);
    const h = b.model.forwardEmbeddings(sp.x, sp.mask);
    const logits = b.model.logits(tf.reshape(h, [sp.batch * sp.length, b.config.dModel]));
    const all = logits.dataSync() as Float32Array;
    const v = b.config.vocabSize;
    const keep: number[] = [];
    for (let i = 0; i < sp.mask.length; i++) if (sp.mask[i]) for (let j = 0; j < v; j++) keep.push(all[i * v + j]!);
    return { rows: Float32Array.from(keep), spliced: { mask: sp.mask, length: sp.length } };
  });
}

describe("Hugging Face families against independent PyTorch references", function () {
  this.timeout(120_000);
  let refs: { root: string; variants: string[] } | null = null;

  before(async function () {
    await setupBackend();
    refs = hfReferenceCheckpoints();
    if (!refs) {
      console.log("    (skipped: /usr/bin/python3 with torch is not available)");
      this.skip();
    }
  });

  it("npm run generate --json prints the reference's greedy ids and log-probabilities; bad flags are named", () => {
    const dir = path.join(refs!.root, "neox-f16");
    const exp = JSON.parse(fs.readFileSync(path.join(dir, "expected.json"), "utf8")) as Expected;
    const script = path.resolve(__dirname, "../../scripts/generate.js");
    const run = (args: string[]) =>
      spawnSync(process.execPath, [script, "--model", dir, ...args], { encoding: "utf8", timeout: 60_000 });
    const ok = run(["--ids", "5,6,7", "--max-new-tokens", "5", "--greedy", "--json", "--no-stop"]);
    assert.equal(ok.status, 0, ok.stderr);
    const line = JSON.parse(ok.stdout.trim()) as { ids: number[]; logprobs: number[]; text: string };
    assert.deepEqual(line.ids, exp.generate.ids);
    maxDiff(Float32Array.from(line.logprobs), exp.generate.logprobs, "generate CLI log-probabilities");
    assert.equal(typeof line.text, "string");
    const sampled = run(["--prompt", "the film", "--max-new-tokens", "3", "--seed", "4", "--json", "--no-stop"]);
    assert.equal(sampled.status, 0, sampled.stderr);
    assert.equal((JSON.parse(sampled.stdout) as { ids: number[] }).ids.length, 3);
    const bad = run(["--ids", "5,x", "--max-new-tokens", "2"]);
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /--ids: entry 2 is "x", expected an integer in \[0, 320\)/);
    const both = run(["--ids", "5", "--prompt", "a", "--max-new-tokens", "2"]);
    assert.match(both.stderr, /give exactly one of --prompt TEXT or --ids/);
    const long = run(["--ids", "5", "--max-new-tokens", "64"]);
    assert.match(long.stderr, /--max-new-tokens 64 with a 1-token prompt exceeds the model's maximum length 64/);
  });

  it("a prompt-tuning cell runs on a plain Hugging Face folder (HF tokenizer path, no kit metadata) and leaves the backbone unchanged", async () => {
    const dir = path.join(refs!.root, "qwen2-bf16-sharded");
    const b = loadCheckpoint(dir);
    try {
      assert.equal(b.name, "qwen2-bf16-sharded");
      const before = b.model.variables().map((v) => Float32Array.from(v.dataSync() as Float32Array));
      const options = { steps: 2, batchSize: 4, evalEvery: 2, maxDev: 4, maxTest: 6, promptLength: 3, warmupSteps: 1 };
      const rec = await runCell(
        makeCell({ backbone: dir, task: "yelp", method: "prompt-tuning", seed: 0, options }),
        {},
        b,
      );
      validateRecord(rec, "prompt-tuning on a Hugging Face folder");
      assert.equal(rec.backbone.fingerprint, b.fingerprint);
      b.model.variables().forEach((v, i) => assert.deepEqual(v.dataSync(), before[i], `${b.model.names()[i]} changed`));
    } finally {
      b.model.dispose();
    }
  });

  for (const variant of [
    "gpt2",
    "llama-gqa-untied",
    "qwen2-bf16-sharded",
    "llama-f16-noprefix",
    "neox-f16",
    "neox-sequential-sharded",
  ]) {
    it(`${variant}: logits for several lengths with padding, greedy generation, logits with a soft prompt and the prompt gradient agree within ${TOL}`, () => {
      const dir = path.join(refs!.root, variant);
      const exp = JSON.parse(fs.readFileSync(path.join(dir, "expected.json"), "utf8")) as Expected;
      const b = loadCheckpoint(dir);
      try {
        for (const batch of exp.batches) {
          const seqs = batch.ids.map((row, r) => ({ pieces: [tokens(row.slice(0, batch.lengths[r]))] }));
          const { rows } = realLogits(b, seqs, null);
          const want: number[] = [];
          batch.logits.forEach((seq, r) => seq.slice(0, batch.lengths[r]).forEach((l) => want.push(...l)));
          maxDiff(rows, want, `${variant} lengths ${batch.lengths}`);
        }
        const g = generate(b.model, exp.generate.prompt, { maxNewTokens: 5, greedy: true, choosableIds: 300 });
        assert.deepEqual(g.ids, exp.generate.ids, `${variant}: greedy continuation`);
        maxDiff(Float32Array.from(g.logprobs), exp.generate.logprobs, `${variant} generated log-probabilities`);
        // soft prompt in front; frozen backbone as under prompt tuning
        b.model.freeze();
        const p = exp.prompt;
        const prompts = PromptSet.fromArrays(
          new Map([["front", Float32Array.from(p.vectors.flat())]]),
          b.config.dModel,
          "random-uniform",
        );
        const seqs = p.ids.map((ids) => ({ pieces: [slot("front"), tokens(ids)] }));
        const { rows } = realLogits(b, seqs, prompts);
        const want: number[] = [];
        p.logits.forEach((seq, r) => seq.slice(0, p.vectors.length + p.ids[r]!.length).forEach((l) => want.push(...l)));
        maxDiff(rows, want, `${variant} with a soft prompt`);
        const { value, grads } = tf.variableGrads(() => {
          const sp = spliceBatch(b.model, seqs, prompts, 0);
          const h = b.model.forwardEmbeddings(sp.x, sp.mask);
          const last = Array.from(sp.lastIndex, (t, r) => r * sp.length + t);
          const rowsAt = embeddingLookup(
            Int32Array.from(last),
            tf.reshape(h, [sp.batch * sp.length, b.config.dModel]) as tf.Tensor2D,
            { tableGrad: true },
          );
          const logp = tf.logSoftmax(b.model.logits(rowsAt as tf.Tensor2D));
          const onehot = tf.oneHot(tf.tensor1d(p.targets, "int32"), b.config.vocabSize);
          return tf.neg(tf.sum(tf.mul(logp, onehot))) as tf.Scalar;
        }, prompts.variables());
        assert.ok(
          Math.abs(value.dataSync()[0]! - p.loss) <= TOL * Math.max(1, Math.abs(p.loss)),
          `${variant}: loss ${value.dataSync()[0]} vs torch ${p.loss}`,
        );
        const grad = grads[prompts.slot("front")!.name]!;
        maxDiff(grad.dataSync() as Float32Array, p.grad.flat(), `${variant} prompt gradient`);
        value.dispose();
        for (const t of Object.values(grads)) t.dispose();
        prompts.dispose();
      } finally {
        b.model.dispose();
      }
    });
  }
});
