/**
 * Autoregressive continuation of a token sequence, to check that a checkpoint loaded correctly: greedy (argmax) or
 * sampled (seeded, temperature 1) next tokens, each with its natural-log probability under the model's
 * full-vocabulary softmax. Every step re-runs the whole sequence (no key/value cache): a check, not a server.
 * Tokens are chosen among the ids the tokenizer can decode (a model's vocabulary may be padded beyond them);
 * generation stops after `maxNewTokens` or at the end-of-sequence id when one is given.
 */
import { tf } from "../backend/backend";
import { Rng } from "../backend/random";
import type { Transformer } from "./transformer";

export interface GenerateOptions {
  readonly maxNewTokens: number;
  readonly greedy: boolean;
  /** sampling seed (ignored when greedy). */
  readonly seed?: number;
  /** ids at or above this are never chosen (default: the model's vocabulary size). */
  readonly choosableIds?: number;
  /** stop after generating this id. */
  readonly eosId?: number | null;
}

export interface Generated {
  readonly ids: number[];
  readonly logprobs: number[];
}

export function generate(model: Transformer, prompt: readonly number[], o: GenerateOptions): Generated {
  const c = model.config;
  if (prompt.length === 0) throw new Error("generate: the prompt has no tokens");
  prompt.forEach((id, i) => {
    if (!Number.isInteger(id) || id < 0 || id >= c.vocabSize)
      throw new Error(`generate: prompt id ${i} is ${id}, expected an integer in [0, ${c.vocabSize})`);
  });
  if (!Number.isInteger(o.maxNewTokens) || o.maxNewTokens < 1)
    throw new Error(`generate: maxNewTokens must be a positive integer, got ${o.maxNewTokens}`);
  if (prompt.length + o.maxNewTokens > c.maxLen) {
    throw new Error(
      `generate: ${prompt.length} prompt tokens + ${o.maxNewTokens} new tokens exceed the model's maximum length ${c.maxLen}`,
    );
  }
  const choosable = Math.min(o.choosableIds ?? c.vocabSize, c.vocabSize);
  const rng = new Rng(o.seed ?? 0);
  const seq = [...prompt];
  const ids: number[] = [];
  const logprobs: number[] = [];
  for (let step = 0; step < o.maxNewTokens; step++) {
    const logp = tf.tidy(() => {
      const t = seq.length;
      const x = model.embed(Int32Array.from(seq), 1, t);
      const h = model.forwardEmbeddings(x, new Uint8Array(t).fill(1));
      const last = tf.slice(tf.reshape(h, [t, c.dModel]), [t - 1, 0], [1, c.dModel]) as tf.Tensor2D;
      return tf.logSoftmax(model.logits(last)).dataSync() as Float32Array;
    });
    let next = 0;
    if (o.greedy) {
      for (let v = 1; v < choosable; v++) if (logp[v]! > logp[next]!) next = v;
    } else {
      let mass = 0;
      for (let v = 0; v < choosable; v++) mass += Math.exp(logp[v]!);
      let u = rng.next() * mass;
      next = choosable - 1;
      for (let v = 0; v < choosable; v++) {
        u -= Math.exp(logp[v]!);
        if (u <= 0) {
          next = v;
          break;
        }
      }
    }
    ids.push(next);
    logprobs.push(logp[next]!);
    seq.push(next);
    if (o.eosId !== undefined && o.eosId !== null && next === o.eosId) break;
  }
  return { ids, logprobs };
}
