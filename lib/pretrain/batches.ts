/**
 * Training windows from a token stream. The window starts of step s are a pure function of (seed, s), so a
 * resumed run sees exactly the data it would have seen, and two runs with the same seed (e.g. from scratch vs
 * with knowledge inheritance) see the same data in the same order.
 */
import { Rng, seedFromString } from "../backend/random";

export interface TokenBatch {
  /** B*T token ids, row-major. */
  readonly ids: Int32Array;
  /** B*T ones (pre-training windows have no padding). */
  readonly mask: Uint8Array;
  readonly batch: number;
  readonly length: number;
}

export function trainingBatch(
  stream: Int32Array,
  seed: number,
  step: number,
  batch: number,
  length: number,
): TokenBatch {
  if (stream.length < length + 1)
    throw new Error(`token stream of ${stream.length} is shorter than one window of ${length}`);
  const rng = new Rng(seedFromString(`batch:${seed}:${step}`));
  const ids = new Int32Array(batch * length);
  for (let b = 0; b < batch; b++) {
    const start = rng.int(stream.length - length);
    ids.set(stream.subarray(start, start + length), b * length);
  }
  return { ids, mask: new Uint8Array(batch * length).fill(1), batch, length };
}

/** Non-overlapping windows covering (up to maxTokens of) a stream: the fixed validation set. */
export function evaluationBatches(stream: Int32Array, batch: number, length: number, maxTokens: number): TokenBatch[] {
  const out: TokenBatch[] = [];
  const windows = Math.floor(Math.min(stream.length, maxTokens) / length);
  for (let w0 = 0; w0 + batch <= windows; w0 += batch) {
    const ids = new Int32Array(batch * length);
    for (let b = 0; b < batch; b++) ids.set(stream.subarray((w0 + b) * length, (w0 + b + 1) * length), b * length);
    out.push({ ids, mask: new Uint8Array(batch * length).fill(1), batch, length });
  }
  return out;
}
