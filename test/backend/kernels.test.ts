import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { backendInfo, initBackend, tf } from "../../lib/backend/backend";
import { Rng } from "../../lib/backend/random";
import { batchMatMul } from "../../lib/backend/kernels/batch-matmul";
import {
  BATCH_MATMUL_KERNEL,
  KIT_KERNEL_CONFIGS,
  TRANSPOSE_2D_KERNEL,
} from "../../lib/backend/kernels/register-kernels";
import { instantiateKernels } from "../../lib/backend/kernels/kernel-module";
import {
  KERNELS_EXPORTS,
  KERNELS_SOURCE_SHA256,
  KERNELS_WASM_BASE64,
} from "../../lib/backend/kernels/compiled-kernels";
import { transpose2d } from "../../lib/backend/kernels/transpose2d";
import { resetKernelSet } from "../../lib/backend/kernels/kernel-set";
import { loadNative } from "../../lib/backend/kernels/native-addon";
import { GEMM } from "../../lib/backend/kernels/native-ops";
import { setupBackend } from "../helpers";

/** build/test/backend -> repository root. */
const SOURCE = join(__dirname, "..", "..", "..", "lib", "backend", "kernels", "kernels.c");

const FLAGS: ReadonlyArray<[boolean, boolean]> = [
  [false, false],
  [false, true],
  [true, false],
  [true, true],
];

/** [batch, m, n, k] with tails around the 4 x 8 micro-tile and the f32x4 width. */
const SHAPES: ReadonlyArray<[number, number, number, number]> = [
  [1, 1, 1, 1],
  [2, 3, 17, 33],
  [3, 33, 3, 17],
  [1, 17, 33, 1],
  [2, 1, 33, 3],
  [1, 33, 33, 33],
  [2, 4, 8, 32],
];

function randomArray(n: number, rng: Rng): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.normal();
  return out;
}

/**
 * Reference C[b] = op(A[b]) @ op(B[b]) in float64, with the magnitude sum_p |op(A)[i,p] op(B)[p,j]| of each
 * element (float32 rounding error grows with it, not with |C|).
 */
function referenceMatMul(
  a: Float32Array,
  b: Float32Array,
  [batch, m, n, k]: readonly number[],
  ta: boolean,
  tb: boolean,
): { value: Float64Array; magnitude: Float64Array } {
  const c = new Float64Array(batch! * m! * n!);
  const mag = new Float64Array(c.length);
  for (let z = 0; z < batch!; z++) {
    const ao = z * m! * k!;
    const bo = z * k! * n!;
    for (let i = 0; i < m!; i++) {
      for (let j = 0; j < n!; j++) {
        let s = 0;
        let t = 0;
        for (let p = 0; p < k!; p++) {
          const prod = a[ao + (ta ? p * m! + i : i * k! + p)]! * b[bo + (tb ? j * k! + p : p * n! + j)]!;
          s += prod;
          t += Math.abs(prod);
        }
        c[z * m! * n! + i * n! + j] = s;
        mag[z * m! * n! + i * n! + j] = t;
      }
    }
  }
  return { value: c, magnitude: mag };
}

/** Asserts float32 products agree with the float64 reference: |got - want| <= 1e-6 * (1 + magnitude). */
function assertMatchesReference(got: Float32Array, ref: ReturnType<typeof referenceMatMul>, label: string): void {
  assert.equal(got.length, ref.value.length, `${label}: length`);
  for (let i = 0; i < got.length; i++) {
    const tol = 1e-6 * (1 + ref.magnitude[i]!);
    if (!(Math.abs(got[i]! - ref.value[i]!) <= tol)) {
      assert.fail(`${label}: element ${i} is ${got[i]}, expected ${ref.value[i]} (tolerance ${tol})`);
    }
  }
}

/** Asserts |got - want| <= tol * max(1, |want|) elementwise. */
function assertClose(got: ArrayLike<number>, want: ArrayLike<number>, tol: number, label: string): void {
  assert.equal(got.length, want.length, `${label}: length`);
  for (let i = 0; i < got.length; i++) {
    const err = Math.abs(got[i]! - want[i]!);
    if (!(err <= tol * Math.max(1, Math.abs(want[i]!)))) {
      assert.fail(`${label}: element ${i} is ${got[i]}, expected ${want[i]} (tolerance ${tol})`);
    }
  }
}

function operandShapes([batch, m, n, k]: readonly number[], ta: boolean, tb: boolean): [number[], number[]] {
  return [ta ? [batch!, k!, m!] : [batch!, m!, k!], tb ? [batch!, n!, k!] : [batch!, k!, n!]];
}

/** Runs `fn` on the named backend, then restores the backend the tests were using. */
async function onBackend(name: "wasm" | "cpu", fn: () => void | Promise<void>): Promise<void> {
  const original = backendInfo().name;
  await initBackend(name);
  try {
    await fn();
  } finally {
    await initBackend(original === "tensorflow" ? "node" : original);
  }
}

function leakFree(label: string, fn: () => void): void {
  const before = tf.memory().numTensors;
  fn();
  const after = tf.memory().numTensors;
  assert.equal(after, before, `${label}: ${after - before} tensor(s) leaked`);
}

describe("kernels: embedded wasm module", () => {
  it("registers every kit kernel once, from one list, when the module loads (not per call)", () => {
    assert.deepEqual(
      KIT_KERNEL_CONFIGS.map((c) => `${c.backendName}/${c.kernelName}`),
      [`wasm/${BATCH_MATMUL_KERNEL}`, `wasm/${TRANSPOSE_2D_KERNEL}`],
    );
    for (const c of KIT_KERNEL_CONFIGS)
      assert.equal(tf.getKernel(c.kernelName, c.backendName)?.kernelFunc, c.kernelFunc, c.kernelName);
    // A fresh process: importing the op is enough, before any call.
    const script = `const { tf } = require(${JSON.stringify(join(__dirname, "..", "..", "lib", "backend", "backend.js"))});
      require(${JSON.stringify(join(__dirname, "..", "..", "lib", "backend", "kernels", "batch-matmul.js"))});
      process.stdout.write(String(["${BATCH_MATMUL_KERNEL}", "${TRANSPOSE_2D_KERNEL}"].every((k) => tf.getKernel(k, "wasm") !== undefined)));`;
    const r = spawnSync(process.execPath, ["-e", script], { encoding: "utf8" });
    assert.equal(r.stdout, "true", r.stderr);
  });

  it("was built from the current kernels.c (run scripts/build-kernels.sh if not)", () => {
    const source = readFileSync(SOURCE);
    const sha = createHash("sha256").update(source).digest("hex");
    assert.equal(sha, KERNELS_SOURCE_SHA256, "compiled-kernels.ts is stale: run scripts/build-kernels.sh");
  });

  it("exports exactly the functions the source declares, plus its memory", () => {
    const declared = [...readFileSync(SOURCE, "utf8").matchAll(/EXPORT\("(\w+)"\)/g)].map((m) => m[1]!).sort();
    const module = new WebAssembly.Module(Buffer.from(KERNELS_WASM_BASE64, "base64"));
    const exported = WebAssembly.Module.exports(module);
    assert.deepEqual([...KERNELS_EXPORTS].sort(), declared);
    assert.deepEqual(
      exported
        .filter((e) => e.kind === "function")
        .map((e) => e.name)
        .sort(),
      declared,
    );
    assert.deepEqual(
      exported.filter((e) => e.kind === "memory").map((e) => e.name),
      ["memory"],
    );
  });
});

describe("kernels: raw module", () => {
  it("batch_matmul matches a float64 reference for all flags and odd tails", () => {
    const km = instantiateKernels();
    const rng = new Rng(11);
    for (const dims of SHAPES) {
      const [batch, m, n, k] = dims;
      for (const [ta, tb] of FLAGS) {
        const a = randomArray(batch * m * k, rng);
        const b = randomArray(batch * k * n, rng);
        const got = km.batchMatMul(a, b, { batch, m, n, k, transposeA: ta, transposeB: tb });
        assertMatchesReference(got, referenceMatMul(a, b, dims, ta, tb), `[${dims}] ta=${ta} tb=${tb}`);
      }
    }
  });

  it("accumulates across depth blocks (k > 256) and column blocks (n > 256), growing memory", () => {
    const km = instantiateKernels();
    const rng = new Rng(12);
    const dims = [2, 5, 270, 300] as const;
    const [batch, m, n, k] = dims;
    const before = km.memoryBytes;
    for (const [ta, tb] of FLAGS) {
      const a = randomArray(batch * m * k, rng);
      const b = randomArray(batch * k * n, rng);
      const got = km.batchMatMul(a, b, { batch, m, n, k, transposeA: ta, transposeB: tb });
      assertMatchesReference(got, referenceMatMul(a, b, dims, ta, tb), `[${dims}] ta=${ta} tb=${tb}`);
    }
    assert.ok(km.memoryBytes > before, `memory did not grow (${before} bytes)`);
    // A small call after growth still lays out correctly.
    const a = Float32Array.from([1, 2, 3, 4]);
    const b = Float32Array.from([5, 6, 7, 8]);
    const got = km.batchMatMul(a, b, { batch: 1, m: 2, n: 2, k: 2, transposeA: false, transposeB: false });
    assert.deepEqual(Array.from(got), [19, 22, 43, 50]);
  });

  it("gives zeros for k = 0 (over stale memory) and empty results for m = 0", () => {
    const km = instantiateKernels();
    const dims = { batch: 2, m: 3, n: 2, k: 1, transposeA: false, transposeB: true };
    const nines = km.batchMatMul(new Float32Array(6).fill(9), new Float32Array(4).fill(9), dims);
    assert.ok(nines.every((v) => v === 81)); // linear memory from the heap base on now holds non-zeros
    const zeros = km.batchMatMul(new Float32Array(0), new Float32Array(0), { ...dims, k: 0 });
    assert.deepEqual(Array.from(zeros), new Array(12).fill(0));
    assert.equal(km.batchMatMul(new Float32Array(0), new Float32Array(4), { ...dims, m: 0 }).length, 0);
  });

  it("transpose2d transposes odd, power-of-two and empty shapes exactly", () => {
    const km = instantiateKernels();
    const rng = new Rng(13);
    for (const [rows, cols] of [
      [1, 1],
      [1, 7],
      [7, 1],
      [3, 5],
      [17, 33],
      [64, 8],
      [130, 67],
      [0, 4],
      [256, 128],
    ]) {
      const src = randomArray(rows! * cols!, rng);
      const got = km.transpose2d(src, rows!, cols!);
      const want = new Float32Array(rows! * cols!);
      for (let r = 0; r < rows!; r++) for (let c = 0; c < cols!; c++) want[c * rows! + r] = src[r * cols! + c]!;
      assert.deepEqual(got, want, `[${rows}, ${cols}]`);
    }
  });

  it("rejects inputs whose length does not match the dimensions", () => {
    const km = instantiateKernels();
    const dims = { batch: 1, m: 2, n: 2, k: 2, transposeA: false, transposeB: false };
    assert.throws(() => km.batchMatMul(new Float32Array(3), new Float32Array(4), dims), /a has 3 values, expected 4/);
    assert.throws(() => km.transpose2d(new Float32Array(5), 2, 3), /src has 5 values, expected 6/);
  });
});

describe("kernels: batchMatMul op", () => {
  before(setupBackend);

  for (const backend of ["wasm", "cpu"] as const) {
    it(`equals tf.matMul for all flags and odd tails on ${backend}`, () =>
      onBackend(backend, () => {
        const rng = new Rng(21);
        for (const dims of SHAPES) {
          for (const [ta, tb] of FLAGS) {
            const [sa, sb] = operandShapes(dims, ta, tb);
            const a = tf.tensor3d(randomArray(sa[0]! * sa[1]! * sa[2]!, rng), sa as [number, number, number]);
            const b = tf.tensor3d(randomArray(sb[0]! * sb[1]! * sb[2]!, rng), sb as [number, number, number]);
            leakFree(`[${dims}] ta=${ta} tb=${tb}`, () => {
              const got = batchMatMul(a, b, ta, tb);
              const want = tf.matMul(a, b, ta, tb);
              assert.deepEqual(got.shape, want.shape);
              assertClose(got.dataSync(), want.dataSync(), 1e-5, `[${dims}] ta=${ta} tb=${tb}`);
              tf.dispose([got, want]);
            });
            tf.dispose([a, b]);
          }
        }
      }));

    it(`has tf.matMul's gradients for all flags on ${backend}, without leaking`, () =>
      onBackend(backend, () => {
        const rng = new Rng(22);
        for (const dims of [
          [2, 3, 17, 33],
          [1, 17, 5, 9],
        ] as const) {
          for (const [ta, tb] of FLAGS) {
            const [sa, sb] = operandShapes(dims, ta, tb);
            const a = tf.tensor3d(randomArray(sa[0]! * sa[1]! * sa[2]!, rng), sa as [number, number, number]);
            const b = tf.tensor3d(randomArray(sb[0]! * sb[1]! * sb[2]!, rng), sb as [number, number, number]);
            const w = tf.tensor3d(randomArray(dims[0] * dims[1] * dims[2], rng), [dims[0], dims[1], dims[2]]);
            const loss = (mm: (x: tf.Tensor3D, y: tf.Tensor3D) => tf.Tensor3D) => (x: tf.Tensor, y: tf.Tensor) =>
              tf.sum(tf.mul(mm(x as tf.Tensor3D, y as tf.Tensor3D), w));
            leakFree(`grads [${dims}] ta=${ta} tb=${tb}`, () => {
              const got = tf.grads(loss((x, y) => batchMatMul(x, y, ta, tb)))([a, b]);
              const want = tf.grads(loss((x, y) => tf.matMul(x, y, ta, tb)))([a, b]);
              for (let i = 0; i < 2; i++) {
                assert.deepEqual(got[i]!.shape, want[i]!.shape);
                assertClose(got[i]!.dataSync(), want[i]!.dataSync(), 1e-4, `d${"ab"[i]} [${dims}] ta=${ta} tb=${tb}`);
              }
              tf.dispose([...got, ...want]);
            });
            tf.dispose([a, b, w]);
          }
        }
      }));
  }

  it("runs our kernels on wasm and tfjs's elsewhere", async () => {
    const activeKernelsOn = () => {
      resetKernelSet();
      return process.env["KIT_KERNELS"]?.trim() === "wasm"
        ? "wasm"
        : (() => {
            try {
              loadNative();
              return "native";
            } catch {
              return "wasm";
            }
          })();
    };
    /** Names of the registered kernels `f` runs on `backend` (scopes such as customGrad's are not kernels). */
    const kernelsOf = async (backend: "wasm" | "cpu", f: (x: tf.Tensor3D) => tf.Tensor) => {
      let names: string[] = [];
      await onBackend(backend, async () => {
        const x = tf.ones([2, 3, 3]) as tf.Tensor3D;
        const info = await tf.profile(() => f(x));
        names = info.kernels.map((k) => k.name).filter((name) => tf.getKernel(name, backend) !== undefined);
        tf.dispose([x, info.result as tf.Tensor]);
      });
      return names;
    };
    const mm = (x: tf.Tensor3D) => batchMatMul(x, x, true, false);
    const tr = (x: tf.Tensor3D) => transpose2d(x.reshape([6, 3]) as tf.Tensor2D);
    // on wasm the product runs on the active kernel set: the native addon's sgemm, or our WebAssembly SIMD kernel
    const wasmMatMul = activeKernelsOn() === "native" ? GEMM : BATCH_MATMUL_KERNEL;
    assert.deepEqual(await kernelsOf("wasm", mm), [wasmMatMul]);
    assert.deepEqual(await kernelsOf("cpu", mm), ["BatchMatMul"]);
    assert.deepEqual(await kernelsOf("wasm", tr), ["Reshape", TRANSPOSE_2D_KERNEL]);
    assert.deepEqual(await kernelsOf("cpu", tr), ["Reshape", "Transpose"]);
  });

  it("gives the same values on wasm and on the cpu fallback", async () => {
    const rng = new Rng(23);
    const a = randomArray(2 * 17 * 33, rng);
    const b = randomArray(2 * 33 * 3, rng);
    const run = async (backend: "wasm" | "cpu") => {
      let out: Float32Array = new Float32Array(0);
      await onBackend(backend, () => {
        const y = tf.tidy(() => batchMatMul(tf.tensor3d(a, [2, 17, 33]), tf.tensor3d(b, [2, 3, 33]), false, true));
        out = y.dataSync() as Float32Array;
        y.dispose();
      });
      return out;
    };
    assertClose(await run("wasm"), await run("cpu"), 1e-5, "wasm vs cpu");
  });

  it("rejects mismatched shapes, ranks and dtypes with a clear message", () => {
    const a = tf.zeros([2, 3, 4]) as tf.Tensor3D;
    const b = tf.zeros([2, 5, 6]) as tf.Tensor3D;
    const c = tf.zeros([3, 4, 6]) as tf.Tensor3D;
    const i = tf.zeros([2, 4, 6], "int32") as tf.Tensor3D;
    const flat = tf.zeros([4, 6]) as unknown as tf.Tensor3D;
    assert.throws(
      () => batchMatMul(a, b),
      /batchMatMul\(a \[2,3,4\], b \[2,5,6\].*inner sizes differ \(op\(a\) has 4 columns, op\(b\) 5 rows\)/,
    );
    assert.throws(() => batchMatMul(a, c), /batch sizes differ \(2 vs 3\)/);
    assert.throws(() => batchMatMul(a, i), /expected float32 inputs, got float32 and int32/);
    assert.throws(() => batchMatMul(a, flat), /expected rank-3 inputs, got ranks 3 and 2/);
    tf.dispose([a, b, c, i, flat]);
  });
});

describe("kernels: transpose2d op", () => {
  before(setupBackend);

  for (const backend of ["wasm", "cpu"] as const) {
    it(`equals tf.transpose, with gradient dy^T and no leak, on ${backend}`, () =>
      onBackend(backend, () => {
        const rng = new Rng(31);
        for (const [rows, cols] of [
          [1, 1],
          [3, 17],
          [33, 5],
          [64, 32],
        ] as const) {
          const x = tf.tensor2d(randomArray(rows * cols, rng), [rows, cols]);
          const w = tf.tensor2d(randomArray(rows * cols, rng), [cols, rows]);
          leakFree(`[${rows}, ${cols}]`, () => {
            const got = transpose2d(x);
            const want = tf.transpose(x);
            assert.deepEqual(got.shape, [cols, rows]);
            assert.deepEqual(got.dataSync(), want.dataSync());
            const [dx] = tf.grads((t: tf.Tensor) => tf.sum(tf.mul(transpose2d(t as tf.Tensor2D), w)))([x]);
            const wt = tf.transpose(w);
            assert.deepEqual(dx!.dataSync(), wt.dataSync());
            tf.dispose([got, want, dx!, wt]);
          });
          tf.dispose([x, w]);
        }
      }));
  }

  it("rejects a non-2D or non-float input", () => {
    const x = tf.zeros([2, 3, 4]) as unknown as tf.Tensor2D;
    const i = tf.zeros([2, 3], "int32") as tf.Tensor2D;
    assert.throws(() => transpose2d(x), /transpose2d: expected a rank-2 tensor, got shape \[2,3,4\]/);
    assert.throws(() => transpose2d(i), /transpose2d: expected float32, got int32/);
    tf.dispose([x, i]);
  });
});
