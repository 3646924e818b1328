/**
 * The native kernel set (native/kit_native.c through lib/backend/kernels/native-ops.ts) against tfjs's own ops as
 * the reference: every op and its gradients on random shapes (odd sizes, batch 1, one row), a few training steps
 * against the WebAssembly kernel set, no tensor leaks, and clear errors for bad input and a missing library.
 *
 * Skipped (with the reason) where the native kernels cannot load; CI installs what they need.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { initBackend, tf } from "../../lib/backend/backend";
import { Rng } from "../../lib/backend/random";
import { crossEntropy } from "../../lib/backend/cross-entropy";
import { embeddingLookup } from "../../lib/backend/embedding";
import { linear, linearTransposed } from "../../lib/backend/linear";
import { product } from "../../lib/backend/kernels/batch-matmul";
import { activeKernels, kernelSetInfo, resetKernelSet, type KernelSetName } from "../../lib/backend/kernels/kernel-set";
import { loadNative } from "../../lib/backend/kernels/native-addon";
import { activate } from "../../lib/backbone/activation";
import { attentionMask, selfAttention } from "../../lib/backbone/attention";
import { layerNorm } from "../../lib/backbone/layer-norm";
import { Transformer } from "../../lib/backbone/transformer";
import { AdamW } from "../../lib/train/adamw";
import { TINY, assertNoLeak, fakeIds } from "../helpers";

const ROOT = path.join(__dirname, "..", "..", "..");

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

function rand(shape: number[], rng: Rng, scale = 1): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) v[i] = rng.normal() * scale;
  return tf.tensor(v, shape);
}

/** Max |a - b| / (1 + max |b|): float32 agreement relative to the reference's magnitude. */
function assertClose(got: tf.Tensor, want: tf.Tensor, tol: number, what: string): void {
  assert.deepEqual(got.shape, want.shape, `${what}: shape`);
  const a = got.dataSync();
  const b = want.dataSync();
  let scale = 0;
  for (let i = 0; i < b.length; i++) scale = Math.max(scale, Math.abs(b[i]!));
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (!(d <= worst)) worst = Number.isNaN(d) ? Infinity : d;
  }
  assert.ok(worst / (1 + scale) <= tol, `${what}: max difference ${worst} (reference magnitude ${scale}) over ${tol}`);
}

/**
 * Values and gradients of sum(f(inputs) * probe) under the native set and under tfjs's kernels, compared.
 * `f` gets the inputs as tensors; gradients are taken w.r.t. every input listed in `wrt`.
 */
function compare(
  what: string,
  inputs: tf.Tensor[],
  f: (xs: tf.Tensor[]) => tf.Tensor,
  tol = 2e-5,
  wrt = inputs.map((_, i) => i),
): void {
  const run = (set: KernelSetName) =>
    withKernels(set, () => {
      const rng = new Rng(99); // the same probe for both sets
      const probe = tf.tidy(() => rand(f(inputs).shape, rng));
      const value = tf.tidy(() => f(inputs));
      const grads = tf.grads((...xs: tf.Tensor[]) => {
        const all = inputs.map((t, i) => (wrt.includes(i) ? xs[wrt.indexOf(i)]! : t));
        return tf.sum(tf.mul(f(all), probe));
      })(wrt.map((i) => inputs[i]!));
      probe.dispose();
      return { value, grads };
    });
  const got = run("native");
  const want = run("tfjs");
  assertClose(got.value, want.value, tol, `${what}: value`);
  got.grads.forEach((g, k) => assertClose(g, want.grads[k]!, tol, `${what}: gradient w.r.t. input ${wrt[k]}`));
  tf.dispose([got.value, want.value, ...got.grads, ...want.grads]);
}

let nativeError: string | null = null;

describe("native kernels", function () {
  before(async function () {
    await initBackend();
    if (tf.getBackend() !== "wasm") {
      nativeError = `the backend is ${tf.getBackend()}, not wasm`;
    } else {
      try {
        loadNative();
      } catch (err) {
        nativeError = (err as Error).message;
      }
    }
    if (nativeError) {
      console.log(`    (native kernels unavailable here: ${nativeError})`);
      this.skip();
    }
  });

  it("is the automatic choice on wasm when it loads, and reports BLAS and threads", () => {
    const saved = process.env["KIT_KERNELS"];
    delete process.env["KIT_KERNELS"];
    resetKernelSet();
    try {
      const info = kernelSetInfo();
      assert.equal(info.name, "native");
      assert.equal(info.chosenBy, "auto");
      assert.match(info.blas ?? "", /blas|Accelerate/i);
    } finally {
      if (saved !== undefined) process.env["KIT_KERNELS"] = saved;
      resetKernelSet();
    }
  });

  it("gemm matches tf.matMul for every transpose pair and odd shapes", () => {
    const rng = new Rng(1);
    for (const [batch, m, n, k] of [
      [1, 1, 1, 1],
      [2, 3, 17, 33],
      [3, 33, 3, 17],
      [1, 17, 33, 1],
      [1, 64, 65, 63],
    ]) {
      for (const ta of [false, true]) {
        for (const tb of [false, true]) {
          const a = rand(ta ? [batch!, k!, m!] : [batch!, m!, k!], rng) as tf.Tensor3D;
          const b = rand(tb ? [batch!, n!, k!] : [batch!, k!, n!], rng) as tf.Tensor3D;
          const got = withKernels("native", () => product(a, b, ta, tb));
          const want = tf.matMul(a, b, ta, tb);
          assertClose(got, want, 1e-5, `[${batch}, ${m}, ${n}, ${k}] ta=${ta} tb=${tb}`);
          tf.dispose([a, b, got, want]);
        }
      }
    }
  });

  it("linear: value and gradients (x, W, b), with and without bias", () => {
    const rng = new Rng(2);
    for (const [rows, i, o] of [
      [1, 1, 1],
      [5, 7, 3],
      [33, 16, 48],
    ]) {
      const x = rand([rows!, i!], rng);
      const w = rand([i!, o!], rng);
      const b = rand([o!], rng);
      compare(`linear [${rows}, ${i}] x [${i}, ${o}] + b`, [x, w, b], ([xx, ww, bb]) =>
        linear(xx as tf.Tensor2D, ww as tf.Tensor2D, bb as tf.Tensor1D, { weightGrad: true }),
      );
      compare(`linear [${rows}, ${i}] x [${i}, ${o}]`, [x, w], ([xx, ww]) =>
        linear(xx as tf.Tensor2D, ww as tf.Tensor2D, null, { weightGrad: true }),
      );
      tf.dispose([x, w, b]);
    }
  });

  it("linearTransposed (weight stored [out, in]): value and gradients equal tfjs's transpose + matMul", () => {
    const rng = new Rng(21);
    for (const [rows, i, o] of [
      [1, 1, 1],
      [5, 7, 3],
      [33, 16, 48],
    ]) {
      const x = rand([rows!, i!], rng);
      const w = rand([o!, i!], rng);
      const b = rand([o!], rng);
      compare(`linearTransposed [${rows}, ${i}] x [${o}, ${i}]^T + b`, [x, w, b], ([xx, ww, bb]) =>
        linearTransposed(xx as tf.Tensor2D, ww as tf.Tensor2D, bb as tf.Tensor1D, { weightGrad: true }),
      );
      compare(`linearTransposed [${rows}, ${i}] x [${o}, ${i}]^T`, [x, w], ([xx, ww]) =>
        linearTransposed(xx as tf.Tensor2D, ww as tf.Tensor2D, null, { weightGrad: true }),
      );
      tf.dispose([x, w, b]);
    }
  });

  it("linearTransposed makes no transposed copy of the weight, forward or backward", async () => {
    const rng = new Rng(22);
    const x = rand([6, 8], rng);
    const w = rand([10, 8], rng);
    const names = await withKernels("native", async () => {
      const info = await tf.profile(() =>
        tf.grads((xx: tf.Tensor, ww: tf.Tensor) =>
          tf.sum(linearTransposed(xx as tf.Tensor2D, ww as tf.Tensor2D, null, { weightGrad: true })),
        )([x, w]),
      );
      tf.dispose(info.result as tf.Tensor[]);
      return info.kernels.map((k) => k.name);
    });
    assert.ok(!names.includes("Transpose") && !names.includes("KitTranspose2D"), `kernels: ${names.join(", ")}`);
    assert.equal(names.filter((n) => n === "KitNativeGemm").length, 2, "dx and dW, one product each");
    tf.dispose([x, w]);
  });

  it("cross-entropy: the gradient of the loss itself (upstream gradient 1) equals tfjs's", () => {
    const rng = new Rng(23);
    const logits = rand([5, 9], rng, 2);
    const targets = Int32Array.from([8, 0, 4, 4, 1]);
    const weights = Float32Array.from([1, 2, 0, 1, 0.5]);
    const grad = (set: KernelSetName) =>
      withKernels(set, () => tf.grad((z: tf.Tensor) => crossEntropy(z as tf.Tensor2D, targets, weights))(logits));
    const got = grad("native");
    const want = grad("tfjs");
    assertClose(got, want, 1e-6, "d loss / d logits");
    tf.dispose([logits, got, want]);
  });

  it("tf.clone shares the wasm buffer under the kit's kernel sets (saved tensors are not copied)", () => {
    const backend = tf.backend() as unknown as { getMemoryOffset(id: object): number };
    for (const set of ["native", "wasm", "tfjs"] as const) {
      const t = tf.tensor1d([1, 2, 3]);
      const c = withKernels(set, () => tf.clone(t));
      const shared = backend.getMemoryOffset(t.dataId) === backend.getMemoryOffset(c.dataId);
      assert.equal(shared, set !== "tfjs", `${set}: clone ${set === "tfjs" ? "copies (tfjs's kernel)" : "shares"}`);
      t.dispose();
      assert.deepEqual(Array.from(c.dataSync()), [1, 2, 3], `${set}: the clone outlives the original`);
      c.dispose();
    }
  });

  it("a frozen linear layer computes no weight gradient (one product in the backward pass)", async () => {
    const rng = new Rng(3);
    const x = rand([8, 16], rng);
    const w = tf.variable(rand([16, 12], rng), false) as tf.Variable<tf.Rank.R2>;
    const gemms = await withKernels("native", async () => {
      const info = await tf.profile(() => {
        const g = tf.grad((xx: tf.Tensor) => tf.sum(linear(xx as tf.Tensor2D, w, null, { weightGrad: false })))(x);
        return g;
      });
      tf.dispose(info.result as tf.Tensor);
      return info.kernels.filter((k) => k.name === "KitNativeGemm").length;
    });
    assert.equal(gemms, 1, "only dx = dy W^T runs; dW = x^T dy must not");
    tf.dispose([x, w]);
  });

  it("LayerNorm: value and gradients (x, gamma, beta)", () => {
    const rng = new Rng(4);
    for (const [rows, d] of [
      [1, 3],
      [7, 16],
      [40, 33],
    ]) {
      const x = rand([rows!, d!], rng, 3);
      const gamma = rand([d!], rng);
      const beta = rand([d!], rng);
      compare(
        `layerNorm [${rows}, ${d}]`,
        [x, gamma, beta],
        ([xx, g, bb]) => layerNorm(xx as tf.Tensor2D, g as tf.Tensor1D, bb as tf.Tensor1D, 1e-5, { paramGrad: true }),
        1e-4,
      );
      tf.dispose([x, gamma, beta]);
    }
  });

  it("activations: value and gradient of quick_gelu, gelu_new and relu, including large inputs", () => {
    const rng = new Rng(5);
    const x = rand([9, 37], rng, 4);
    const big = tf.tensor2d([[-100, -30, -9, 0, 9, 30, 100]]);
    for (const kind of ["quick_gelu", "gelu_new", "relu"] as const) {
      compare(`activate ${kind}`, [x], ([xx]) => activate(xx as tf.Tensor2D, kind), 1e-5);
      compare(`activate ${kind} (saturated)`, [big], ([xx]) => activate(xx as tf.Tensor2D, kind), 1e-5);
    }
    tf.dispose([x, big]);
  });

  it("attention: value and gradients w.r.t. the input and every weight, with padding and batch 1", () => {
    const rng = new Rng(6);
    for (const [b, t, h, dh] of [
      [1, 1, 1, 2],
      [2, 5, 2, 4],
      [3, 9, 3, 5],
    ]) {
      const d = h! * dh!;
      const mask = Array.from({ length: b! * t! }, (_, i) => (i % t! < t! - (Math.floor(i / t!) % 3) ? 1 : 0));
      const x = rand([b! * t!, d], rng);
      const ws = [rand([d, 3 * d], rng, 0.5), rand([3 * d], rng, 0.1), rand([d, d], rng, 0.5), rand([d], rng, 0.1)];
      compare(
        `attention B=${b} T=${t} H=${h} dh=${dh}`,
        [x, ...ws],
        ([xx, qkvW, qkvB, projW, projB]) => {
          const m = attentionMask(mask, b!, t!);
          return selfAttention(
            xx as tf.Tensor2D,
            {
              qkvW: qkvW as tf.Tensor2D,
              qkvB: qkvB as tf.Tensor1D,
              projW: projW as tf.Tensor2D,
              projB: projB as tf.Tensor1D,
            },
            m,
            { batch: b!, length: t!, heads: h! },
            true,
          );
        },
        1e-4,
      );
      tf.dispose([x, ...ws]);
    }
  });

  it("cross-entropy: loss and gradient, zero-weight rows skipped, extreme logits finite", () => {
    const rng = new Rng(7);
    const logits = rand([6, 11], rng, 3);
    const targets = Int32Array.from([0, 3, 10, 5, 5, 1]);
    const weights = Float32Array.from([1, 0, 2, 1, 0.5, 0]);
    compare("crossEntropy", [logits], ([z]) => crossEntropy(z as tf.Tensor2D, targets, weights), 1e-5);
    const extreme = tf.tensor2d([
      [1e4, -1e4, 0],
      [-50, 60, 1],
    ]);
    compare(
      "crossEntropy (extreme)",
      [extreme],
      ([z]) => crossEntropy(z as tf.Tensor2D, Int32Array.from([1, 2]), Float32Array.from([1, 1])),
      1e-5,
    );
    const loss = withKernels("native", () =>
      crossEntropy(extreme as tf.Tensor2D, Int32Array.from([1, 2]), Float32Array.from([1, 1])),
    );
    assert.ok(Number.isFinite(loss.dataSync()[0]!), "a vanishing target probability gives a large finite loss");
    tf.dispose([logits, extreme, loss]);
  });

  it("cross-entropy: a NaN logit makes the loss NaN (the trainer's divergence check sees it)", () => {
    const z = tf.tensor2d([[0, NaN, 1]]);
    const loss = withKernels("native", () => crossEntropy(z, Int32Array.from([0]), Float32Array.from([1])));
    assert.ok(Number.isNaN(loss.dataSync()[0]!));
    tf.dispose([z, loss]);
  });

  it("embedding rows: value and the scatter-add gradient with repeated ids", () => {
    const rng = new Rng(8);
    const table = rand([7, 5], rng);
    const ids = Int32Array.from([3, 0, 3, 6, 3]);
    compare("embeddingLookup", [table], ([t]) => embeddingLookup(ids, t as tf.Tensor2D, { tableGrad: true }));
    tf.dispose(table);
  });

  it("a few training steps give the same losses as the WebAssembly kernels, without leaking tensors", async () => {
    const ids = fakeIds(2 * 10, TINY.vocabSize!, 4);
    const mask = Uint8Array.from({ length: 20 }, (_, i) => (i % 10 < 8 || i < 10 ? 1 : 0));
    const losses = (set: KernelSetName) =>
      withKernels(set, () => {
        const model = Transformer.create(TINY, 3);
        const opt = new AdamW(model.variables(), { clipNorm: 1 });
        const out: number[] = [];
        const targets = Int32Array.from(ids, (v) => (v + 1) % TINY.vocabSize!);
        const weights = Float32Array.from(mask);
        for (let s = 0; s < 4; s++) {
          const loss = opt.step(() => {
            const h = model.forwardEmbeddings(model.embed(ids, 2, 10), mask, { training: true });
            return crossEntropy(model.logits(tf.reshape(h, [20, TINY.dModel!]) as tf.Tensor2D), targets, weights);
          }, 3e-3);
          out.push(loss.loss);
        }
        opt.dispose();
        model.dispose();
        return out;
      });
    let native: number[] = [];
    await assertNoLeak("native training steps", () => {
      native = losses("native");
    });
    const wasm = losses("wasm");
    native.forEach((l, i) =>
      assert.ok(
        Math.abs(l - wasm[i]!) <= 1e-4 * Math.max(1, Math.abs(wasm[i]!)),
        `step ${i}: native ${l}, wasm ${wasm[i]}`,
      ),
    );
  });

  it("AdamW's fused update (with weight decay and clipping) equals the tfjs-op update", () => {
    const rng = new Rng(9);
    const init = rand([5, 7], rng);
    const c = rand([5, 7], rng);
    const weightsAfter = (set: KernelSetName) =>
      withKernels(set, () => {
        const w = tf.variable(init.clone(), true, `adamw-fused-${set}`);
        const opt = new AdamW([w], { weightDecay: 0.1, clipNorm: 0.5 }, () => true);
        for (let s = 0; s < 3; s++) opt.step(() => tf.sum(tf.mul(tf.square(w), c)) as tf.Scalar, 0.05);
        const out = tf.clone(w);
        opt.dispose();
        w.dispose();
        return out;
      });
    const got = weightsAfter("native");
    const want = weightsAfter("tfjs");
    assertClose(got, want, 1e-5, "weights after 3 AdamW steps");
    tf.dispose([init, c, got, want]);
  });

  it("refuses a non-float32 tensor and a short array with an error naming it", () => {
    const ints = tf.tensor2d([[1, 2]], [1, 2], "int32");
    const w = tf.ones([2, 2]) as tf.Tensor2D;
    assert.throws(
      () => withKernels("native", () => linear(ints as tf.Tensor2D, w, null, { weightGrad: false })),
      /input 'x' must be float32, got int32/,
    );
    const { addon } = loadNative();
    assert.throws(
      () =>
        addon.gemm(
          0,
          0,
          4,
          4,
          4,
          1,
          new Float32Array(15),
          4,
          new Float32Array(16),
          4,
          0,
          new Float32Array(16),
          4,
          1,
          0,
          0,
          0,
        ),
      /argument 6 \(A\) has 15 elements, the sizes given need 16/,
    );
    assert.throws(
      () => addon.gatherRows(new Float32Array(6), Int32Array.from([3]), new Float32Array(2), 1, 2, 3),
      /id 3 at position 0 is outside the table's 3 rows/,
    );
    assert.throws(
      () =>
        addon.layerNormForward(
          new Float64Array(4) as unknown as Float32Array,
          new Float32Array(2),
          new Float32Array(2),
          new Float32Array(4),
          new Float32Array(2),
          new Float32Array(2),
          2,
          2,
          1e-5,
        ),
      /must be a Float32Array \(wrong element type/,
    );
    tf.dispose([ints, w]);
  });
});

describe("native kernels: a missing library at run time", function () {
  this.timeout(60000);
  const probe = (env: NodeJS.ProcessEnv) => {
    const script = `
      const { initBackend } = require(${JSON.stringify(path.join(ROOT, "build", "lib", "backend", "backend.js"))});
      const { kernelSetInfo } = require(${JSON.stringify(path.join(ROOT, "build", "lib", "backend", "kernels", "kernel-set.js"))});
      initBackend("wasm").then(() => { try { console.log("SET=" + kernelSetInfo().name); } catch (e) { console.log("ERROR=" + e.message); } });`;
    return spawnSync(process.execPath, ["-e", script], { env: { ...process.env, ...env }, encoding: "utf8" });
  };

  it("falls back to the WebAssembly kernels with one warning when BLAS cannot be opened", function () {
    const r = probe({ KIT_KERNELS: "", KIT_BLAS: "/nonexistent/libopenblas.so.0" });
    if (nativeError && !/BLAS|cblas/.test(nativeError)) this.skip();
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /SET=wasm/);
    assert.match(
      r.stderr,
      /native kernels unavailable \(.*\/nonexistent\/libopenblas\.so\.0.*\); using the WebAssembly SIMD kernels/,
    );
  });

  it("KIT_KERNELS=native where it cannot load is an error naming what is missing", () => {
    const r = probe({ KIT_KERNELS: "native", KIT_NATIVE_ADDON: "/nonexistent/kit_native.node" });
    assert.match(
      r.stdout,
      /ERROR=KIT_KERNELS=native cannot be used: the native addon \/nonexistent\/kit_native\.node is not built/,
    );
  });

  it("an unknown KIT_KERNELS value is refused with the choices", () => {
    const r = probe({ KIT_KERNELS: "fast" });
    assert.match(r.stdout, /ERROR=KIT_KERNELS="fast" is not a kernel set: expected one of native, wasm, tfjs/);
  });
});

describe("native kernels: the install step", function () {
  this.timeout(60000);

  it("never fails an install: without a C compiler it exits 0 and says what it uses and how to get the fast path", () => {
    const script = path.join(ROOT, "scripts", "build-native.js");
    // an empty PATH: no cc, gcc or clang can be found (node itself is called by its full path)
    const r = spawnSync(process.execPath, [script], {
      env: { PATH: "", HOME: process.env["HOME"] ?? "/tmp" },
      encoding: "utf8",
    });
    assert.equal(r.status, 0, r.stderr);
    assert.match(
      r.stdout,
      /^softprompt-kit: native kernels not built: no C compiler found .*using the WebAssembly kernels\. Fast path: .*libopenblas0-pthread/m,
    );
    assert.equal(r.stdout.trim().split("\n").length, 1, "one line");
    const strict = spawnSync(process.execPath, [script, "--strict"], { env: { PATH: "" }, encoding: "utf8" });
    assert.equal(strict.status, 1, "npm run build:native fails loudly instead");
  });
});

describe("kernel set on this machine", () => {
  it("names the active set", async () => {
    await initBackend();
    assert.ok(["native", "wasm", "tfjs"].includes(activeKernels()));
  });
});
