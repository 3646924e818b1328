/**
 * Loss kinds for data-parallel training: what a worker computes on its shard of a global batch, keyed by name so
 * the main thread can name it in a message and each worker thread (its own module instance) can look it up.
 *
 * A kind knows how to split a global batch into row shards, the weight of a shard in the global mean (the
 * denominator of its mean loss: predicted tokens for a language model, examples for classification), and the
 * shard's scalar mean loss. Weighting shard gradients by weight / total weight then equals the gradient of the
 * full-batch mean loss.
 *
 * Built in: "lm" (causal LM loss on TokenBatch { ids, mask, batch, length }). To add a kind (e.g. classification),
 * call registerShardLoss() in a module and pass that module's path in DataParallelOptions.lossModules: the
 * workers require it before they look the loss up. Batches cross threads by structured clone, so a batch must
 * be plain data (numbers, strings, arrays, typed arrays).
 */
import type { tf } from "../backend/backend";
import { lmLoss, nextTokenTargets } from "../backbone/lm-loss";
import type { Transformer } from "../backbone/transformer";
import type { TokenBatch } from "../pretrain/batches";

export interface ShardLoss<B> {
  readonly name: string;
  /**
   * Splits a global batch into at most n contiguous row shards, in order, none empty. Validates the batch and
   * throws a message naming the field, expected vs got.
   */
  split(batch: B, n: number): B[];
  /** Weight of a shard in the global mean (>= 0): the denominator of its mean loss. 0 = nothing to learn. */
  weight(shard: B): number;
  /** Scalar mean loss of the shard, in training mode (inside tf.variableGrads). */
  loss(model: Transformer, shard: B): tf.Scalar;
}

const REGISTRY = new Map<string, ShardLoss<unknown>>();

/** Registers a loss kind under its name; re-registering a name is an error (two kinds would disagree). */
export function registerShardLoss<B>(kind: ShardLoss<B>): void {
  if (typeof kind?.name !== "string" || kind.name === "") throw new Error(`registerShardLoss: name must be a non-empty string, got ${JSON.stringify(kind?.name)}`);
  const existing = REGISTRY.get(kind.name);
  if (existing && existing !== kind) throw new Error(`registerShardLoss: a loss kind named '${kind.name}' is already registered`);
  REGISTRY.set(kind.name, kind as ShardLoss<unknown>);
}

/** The loss kind registered as `name`; throws listing the registered names. */
export function shardLoss<B = unknown>(name: string): ShardLoss<B> {
  const kind = REGISTRY.get(name);
  if (!kind) throw new Error(`data-parallel: unknown loss kind '${name}' (registered: ${[...REGISTRY.keys()].join(", ")})`);
  return kind as ShardLoss<B>;
}

/** Names of the registered loss kinds. */
export function shardLossNames(): string[] {
  return [...REGISTRY.keys()];
}

/** Row counts of n nearly equal contiguous shards of `rows` rows (larger shards first, no empty shard). */
export function shardSizes(rows: number, n: number): number[] {
  if (!Number.isInteger(rows) || rows < 1) throw new Error(`shardSizes: rows must be a positive integer, got ${rows}`);
  if (!Number.isInteger(n) || n < 1) throw new Error(`shardSizes: shard count must be a positive integer, got ${n}`);
  const k = Math.min(rows, n);
  const base = Math.floor(rows / k);
  return Array.from({ length: k }, (_, i) => base + (i < rows % k ? 1 : 0));
}

function checkTokenBatch(b: TokenBatch): void {
  if (!b || typeof b !== "object") throw new Error(`lm loss: batch must be { ids, mask, batch, length }, got ${String(b)}`);
  const { ids, mask, batch, length } = b;
  if (!Number.isInteger(batch) || batch < 1) throw new Error(`lm loss: batch.batch must be a positive integer, got ${batch}`);
  if (!Number.isInteger(length) || length < 2) throw new Error(`lm loss: batch.length must be an integer >= 2, got ${length}`);
  if (!(ids instanceof Int32Array)) throw new Error(`lm loss: batch.ids must be an Int32Array, got ${(ids as unknown as object | undefined)?.constructor?.name ?? typeof ids}`);
  if (ids.length !== batch * length) throw new Error(`lm loss: batch.ids has ${ids.length} entries, expected batch*length = ${batch * length}`);
  if (!mask || mask.length !== batch * length) throw new Error(`lm loss: batch.mask has ${mask?.length} entries, expected batch*length = ${batch * length}`);
}

/** Causal LM loss (lmLoss) on TokenBatch rows; weight = predicted positions (mask[t] and mask[t+1] both set). */
export const LM_SHARD_LOSS: ShardLoss<TokenBatch> = Object.freeze({
  name: "lm",
  split(b: TokenBatch, n: number): TokenBatch[] {
    checkTokenBatch(b);
    let row = 0;
    return shardSizes(b.batch, n).map((rows) => {
      const from = row * b.length;
      const to = (row + rows) * b.length;
      row += rows;
      return { ids: b.ids.slice(from, to), mask: b.mask.slice(from, to), batch: rows, length: b.length };
    });
  },
  weight(b: TokenBatch): number {
    const { weights } = nextTokenTargets(b.ids, b.mask, b.batch, b.length);
    let n = 0;
    for (let i = 0; i < weights.length; i++) n += weights[i]!;
    return n;
  },
  loss(model: Transformer, b: TokenBatch): tf.Scalar {
    return lmLoss(model, b.ids, b.mask, b.batch, b.length, true);
  },
});

registerShardLoss(LM_SHARD_LOSS);
