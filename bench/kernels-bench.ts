/**
 * Micro-benchmark of our WebAssembly SIMD kernels against tfjs on the wasm backend (single-threaded):
 *   1. batched matmul on attention shapes, all four transpose flag combinations: tf.matMul vs batchMatMul;
 *   2. attention's six batched matmuls (scores, context and their gradients) as one forward + backward;
 *   3. 2D transpose: tf.transpose vs transpose2d.
 * Times are per call through the public ops, copies in and out of the kernel module included; each figure is
 * the best of several runs (the machine is shared, so best-of is the stable statistic), median in brackets.
 *
 * Run: npx tsc -p . && node build/bench/kernels-bench.js [--quick]
 */
import { initBackend, tf } from "../lib/backend/backend";
import { batchMatMul } from "../lib/backend/kernels/batch-matmul";
import { transpose2d } from "../lib/backend/kernels/transpose2d";

/** [batch, m, k] x [batch, k, n]. */
const MATMUL_SHAPES: ReadonlyArray<readonly [number, number, number, number]> = [
  [64, 64, 32, 64],
  [64, 128, 32, 128],
  [64, 128, 128, 32],
  [24, 128, 32, 128],
];

const TRANSPOSE_SHAPES: ReadonlyArray<readonly [number, number]> = [
  [1024, 512],
  [512, 1024],
  [4096, 128],
  [128, 384],
  [1000, 333],
];

interface Timing {
  readonly bestMs: number;
  readonly medianMs: number;
}

/**
 * Runs `f` (which returns tensors to dispose) `warmup` + `reps` times. The wasm backend computes synchronously,
 * so nothing is read back: a dataSync() would add an allocation + copy of the whole output to both sides.
 */
function time(f: () => tf.Tensor | tf.Tensor[], reps: number, warmup = 2): Timing {
  const ms: number[] = [];
  for (let r = 0; r < warmup + reps; r++) {
    const t0 = performance.now();
    const out = f();
    const dt = performance.now() - t0;
    tf.dispose(out);
    if (r >= warmup) ms.push(dt);
  }
  ms.sort((x, y) => x - y);
  return { bestMs: ms[0]!, medianMs: ms[Math.floor(ms.length / 2)]! };
}

function fmt(t: Timing, flops?: number): string {
  const ms = `${t.bestMs.toFixed(2)} ms [${t.medianMs.toFixed(2)}]`;
  return flops === undefined ? ms : `${ms} ${(flops / t.bestMs / 1e6).toFixed(1).padStart(5)} GFLOP/s`;
}

function benchMatMul(reps: number): void {
  console.log("\nBatched matmul: C = op(A) @ op(B); GFLOP/s from the best run");
  for (const [batch, m, k, n] of MATMUL_SHAPES) {
    const flops = 2 * batch * m * n * k;
    for (const [ta, tb] of [
      [false, false],
      [false, true],
      [true, false],
      [true, true],
    ] as const) {
      const a = tf.randomNormal(ta ? [batch, k, m] : [batch, m, k]) as tf.Tensor3D;
      const b = tf.randomNormal(tb ? [batch, n, k] : [batch, k, n]) as tf.Tensor3D;
      const theirs = time(() => tf.matMul(a, b, ta, tb), Math.max(3, Math.floor(reps / 3)), 1);
      const ours = time(() => batchMatMul(a, b, ta, tb), reps);
      const label = `[${batch},${m},${k}]x[${batch},${k},${n}] tA=${ta ? 1 : 0} tB=${tb ? 1 : 0}`;
      console.log(
        `  ${label.padEnd(40)} tf.matMul ${fmt(theirs, flops)} | ours ${fmt(ours, flops)} | x${(theirs.bestMs / ours.bestMs).toFixed(1)}`,
      );
      tf.dispose([a, b]);
    }
  }
}

/** scores = q k^T, probs = softmax(scores), ctx = probs v; loss = sum(ctx * w); grads w.r.t. q, k, v. */
function benchAttention(reps: number): void {
  console.log("\nAttention core, forward + backward (6 batched matmuls + softmax), B*H=64, T=128, dh=32");
  const [bh, t, dh] = [64, 128, 32];
  const q = tf.randomNormal([bh, t, dh]) as tf.Tensor3D;
  const k = tf.randomNormal([bh, t, dh]) as tf.Tensor3D;
  const v = tf.randomNormal([bh, t, dh]) as tf.Tensor3D;
  const w = tf.randomNormal([bh, t, dh]) as tf.Tensor3D;
  const flops = 6 * 2 * bh * t * t * dh;
  const core = (mm: (a: tf.Tensor3D, b: tf.Tensor3D, ta: boolean, tb: boolean) => tf.Tensor3D) =>
    tf.grads((qi: tf.Tensor, ki: tf.Tensor, vi: tf.Tensor) => {
      const scores = mm(qi as tf.Tensor3D, ki as tf.Tensor3D, false, true);
      const ctx = mm(tf.softmax(scores) as tf.Tensor3D, vi as tf.Tensor3D, false, false);
      return tf.sum(tf.mul(ctx, w));
    });
  const theirsFn = core((a, b, ta, tb) => tf.matMul(a, b, ta, tb));
  const oursFn = core(batchMatMul);
  const theirs = time(() => theirsFn([q, k, v]), Math.max(3, Math.floor(reps / 3)), 1);
  const ours = time(() => oursFn([q, k, v]), reps);
  console.log(
    `  tf.matMul ${fmt(theirs, flops)} | batchMatMul ${fmt(ours, flops)} | x${(theirs.bestMs / ours.bestMs).toFixed(1)}`,
  );
  console.log("  (GFLOP/s here counts only the matmuls; softmax and its gradient are in the time)");
  tf.dispose([q, k, v, w]);
}

function benchTranspose(reps: number): void {
  console.log("\n2D transpose: ns per element from the best run");
  for (const [rows, cols] of TRANSPOSE_SHAPES) {
    const x = tf.randomNormal([rows, cols]) as tf.Tensor2D;
    const theirs = time(() => tf.transpose(x), reps);
    const ours = time(() => transpose2d(x), reps);
    const ns = (tm: Timing) => `${((tm.bestMs * 1e6) / (rows * cols)).toFixed(2)} ns/el`;
    console.log(
      `  [${rows},${cols}]`.padEnd(14) +
        `tf.transpose ${fmt(theirs)} ${ns(theirs)} | ours ${fmt(ours)} ${ns(ours)} | x${(theirs.bestMs / ours.bestMs).toFixed(1)}`,
    );
    x.dispose();
  }
}

/**
 * V8 first runs wasm functions from a quick baseline compile (Liftoff) and swaps in optimised code (TurboFan) once
 * they are hot: the first dozens of calls run at about half speed. Warm both kernels up so the figures are the
 * steady state a training loop sees.
 */
function warmUp(): void {
  const a = tf.randomNormal([8, 64, 32]) as tf.Tensor3D;
  const x = tf.randomNormal([256, 256]) as tf.Tensor2D;
  for (let i = 0; i < 200; i++) tf.dispose([batchMatMul(a, a, false, true), transpose2d(x)]);
  tf.dispose([a, x]);
}

async function main(): Promise<void> {
  const quick = process.argv.includes("--quick");
  const info = await initBackend("wasm");
  console.log(`kernels-bench on ${info.name} ${info.version} (tfjs ${info.tfjsVersion})${quick ? ", quick" : ""}`);
  const reps = quick ? 5 : 15;
  warmUp();
  benchMatMul(reps);
  benchAttention(reps);
  benchTranspose(reps);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
