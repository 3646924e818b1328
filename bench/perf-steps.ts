/**
 * The three steps `npm run perf` times, defined exactly as bench/reference_torch.py defines them:
 *   full   - every weight trains; next-token cross-entropy over all T positions; AdamW step (no clipping)
 *   prompt - frozen backbone; a [P, D] soft prompt before the T tokens; loss over the T text positions; only the
 *            prompt trains (through the kit's own PromptSet + spliceBatch path)
 *   eval   - forward pass and logits for all T positions, no gradients
 * and two kit-only variants (no PyTorch counterpart in the reference):
 *   prompt-ckpt, full-ckpt - the same steps with activation checkpointing (each block recomputed in the backward
 *            pass instead of keeping its activations)
 */
import { tf } from "../lib/backend/backend";
import { Rng } from "../lib/backend/random";
import { crossEntropy } from "../lib/backend/cross-entropy";
import { embeddingLookup } from "../lib/backend/embedding";
import type { TransformerConfig } from "../lib/backbone/config";
import { Transformer } from "../lib/backbone/transformer";
import { randomUniform } from "../lib/prompt/initializers";
import { PromptSet } from "../lib/prompt/soft-prompt";
import { spliceBatch } from "../lib/prompt/splice";
import { AdamW } from "../lib/train/adamw";

export type StepKind = "prompt" | "full" | "eval" | "prompt-ckpt" | "full-ckpt";

export interface PerfShape {
  readonly name: string;
  readonly config: TransformerConfig;
  readonly batch: number;
  readonly seqLen: number;
  readonly promptLen: number;
}

export interface PreparedStep {
  /** runs one step and waits for its result. */
  run(): void;
  trainableParams: number;
  dispose(): void;
}

function batchIds(shape: PerfShape, seed: number): { ids: Int32Array; targets: Int32Array } {
  const rng = new Rng(seed);
  const { batch: b, seqLen: t } = shape;
  const all = Int32Array.from({ length: b * (t + 1) }, () => rng.int(shape.config.vocabSize));
  const ids = new Int32Array(b * t);
  const targets = new Int32Array(b * t);
  for (let r = 0; r < b; r++) {
    ids.set(all.subarray(r * (t + 1), r * (t + 1) + t), r * t);
    targets.set(all.subarray(r * (t + 1) + 1, (r + 1) * (t + 1)), r * t);
  }
  return { ids, targets };
}

export function prepareStep(kind: StepKind, shape: PerfShape, seed = 0): PreparedStep {
  const model = Transformer.create(shape.config, seed);
  if (kind === "prompt-ckpt" || kind === "full-ckpt") model.setActivationCheckpointing(true);
  const { batch: b, seqLen: t, promptLen: p } = shape;
  const d = shape.config.dModel;
  const { ids, targets } = batchIds(shape, seed + 1);
  const ones = new Float32Array(b * t).fill(1);
  const mask = new Uint8Array(b * t).fill(1);
  if (kind === "full" || kind === "full-ckpt") {
    const opt = new AdamW(model.variables(), { clipNorm: 0 });
    return {
      run: () => {
        opt.step(() => {
          const h = model.forwardEmbeddings(model.embed(ids, b, t), mask, { training: true });
          return crossEntropy(model.logits(tf.reshape(h, [b * t, d]) as tf.Tensor2D), targets, ones);
        }, 1e-3);
      },
      trainableParams: model.paramCount(),
      dispose: () => {
        opt.dispose();
        model.dispose();
      },
    };
  }
  if (kind === "prompt" || kind === "prompt-ckpt") {
    model.freeze();
    const prompts = PromptSet.create({ front: p, middle: 0, back: 0 }, d, randomUniform(0.5), "random-uniform", seed);
    const opt = new AdamW(prompts.variables(), { clipNorm: 0 });
    const seqs = Array.from({ length: b }, (_, r) => ({
      pieces: [
        { kind: "slot" as const, slot: "front" as const },
        { kind: "tokens" as const, ids: Array.from(ids.subarray(r * t, (r + 1) * t)) },
      ],
    }));
    const textRows = Int32Array.from({ length: b * t }, (_, i) => Math.floor(i / t) * (p + t) + p + (i % t));
    return {
      run: () => {
        opt.step(() => {
          const sp = spliceBatch(model, seqs, prompts, 0);
          const h = model.forwardEmbeddings(sp.x, sp.mask, { training: true });
          const rows = embeddingLookup(textRows, tf.reshape(h, [b * (p + t), d]) as tf.Tensor2D, { tableGrad: true });
          return crossEntropy(model.logits(rows), targets, ones);
        }, 1e-3);
      },
      trainableParams: prompts.paramCount(),
      dispose: () => {
        opt.dispose();
        prompts.dispose();
        model.dispose();
      },
    };
  }
  model.freeze();
  return {
    run: () => {
      tf.tidy(() => {
        const h = model.forwardEmbeddings(model.embed(ids, b, t), mask);
        model.logits(tf.reshape(h, [b * t, d]) as tf.Tensor2D).dataSync();
      });
    },
    trainableParams: 0,
    dispose: () => model.dispose(),
  };
}

/**
 * Matmul FLOPs of one step (2 per multiply-add): the bound for its time when products dominate.
 *   lin(R): the blocks' four weight products over R rows; att(L): the two attention products at length L;
 *   logit: the output projection over the B*T text rows.
 *   full   = forward + dX + dW: 3 lin(BT) + 3 att(T) + 3 logit (attention's backward has four products);
 *   prompt = forward + dX only, over P + T positions: 2 lin(B(P+T)) + 3 att(P+T) + 2 logit;
 *   eval   = lin(BT) + att(T) + logit.
 */
export function stepFlops(shape: PerfShape, kind: StepKind): number {
  const c = shape.config;
  const d = c.dModel;
  const { batch: b, seqLen: t, promptLen: p } = shape;
  const lin = (rows: number) => 2 * rows * (4 * d * d + 2 * d * c.dFF) * c.nLayers;
  const att = (len: number) => 4 * b * len * len * d * c.nLayers;
  const logit = 2 * b * t * d * c.vocabSize;
  switch (kind) {
    case "full":
    case "full-ckpt":
      return 3 * lin(b * t) + 3 * att(t) + 3 * logit;
    case "prompt":
    case "prompt-ckpt":
      return 2 * lin(b * (p + t)) + 3 * att(p + t) + 2 * logit;
    case "eval":
      return lin(b * t) + att(t) + logit;
  }
}
