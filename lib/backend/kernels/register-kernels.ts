/**
 * Registers our WebAssembly SIMD kernels (kernel-module.ts) as tfjs kernels of the 'wasm' backend, so they run
 * through `tf.engine().runKernel` like built-in ops.
 *
 * Going through the kernel registry lets a kernel read its inputs straight from the tfjs wasm heap and write its
 * output into a tensor the backend allocates (`typedArrayFromHeap` / `makeOutput`, public methods of the wasm
 * backend): one copy in and one copy out, instead of `dataSync()` (a copy out of the heap) + a copy into our
 * module + a copy back in via `tf.tensor`. Measured on [64,64,32]x[64,32,64]: 0.38 ms vs 0.81 ms per call.
 *
 * The kernels have no registered gradients; the ops that call them (batch-matmul.ts, transpose2d.ts) wrap them in
 * customOp with their own gradients.
 *
 * As in tfjs-backend-wasm's register_all_kernels.ts: each kernel is one `KernelConfig`, and one list registers
 * them all, once, when this module loads (the ops import it), never per call. The WebAssembly module itself
 * (compiled-kernels.ts, generated from kernels.c) is loaded by kernel-module.ts on first use.
 */
import { tf } from "../backend";
import { kernels } from "./kernel-module";
import { activeKernels } from "./kernel-set";

export const BATCH_MATMUL_KERNEL = "KitBatchMatMul";
export const TRANSPOSE_2D_KERNEL = "KitTranspose2D";

/** Attributes of KitBatchMatMul (inputs a: [batch, m|k, k|m], b: [batch, k|n, n|k]). */
export interface BatchMatMulAttrs {
  readonly transposeA: boolean;
  readonly transposeB: boolean;
}

/** The two public methods of tfjs-backend-wasm's BackendWasm that the kernels use. */
export interface WasmBackend {
  typedArrayFromHeap(t: tf.TensorInfo): ArrayLike<number>;
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
}

export function asWasmBackend(backend: unknown, kernel: string): WasmBackend {
  const b = backend as Partial<WasmBackend> | null;
  if (!b || typeof b.typedArrayFromHeap !== "function" || typeof b.makeOutput !== "function") {
    throw new Error(`register-kernels: ${kernel} needs the tfjs wasm backend (typedArrayFromHeap/makeOutput missing)`);
  }
  return b as WasmBackend;
}

function heapF32(backend: WasmBackend, t: tf.TensorInfo, kernel: string, name: string): Float32Array {
  if (t.dtype !== "float32") throw new Error(`register-kernels: ${kernel}: ${name} must be float32, got ${t.dtype}`);
  return backend.typedArrayFromHeap(t) as Float32Array;
}

/** Writes a kernel result (a view of our module's memory) into a new wasm-backend tensor. */
function output(backend: WasmBackend, shape: number[], values: Float32Array): tf.TensorInfo {
  const out = backend.makeOutput(shape, "float32"); // may grow the tfjs heap: take the view after it
  (backend.typedArrayFromHeap(out) as Float32Array).set(values);
  return out;
}

const batchMatMulKernel: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const wasm = asWasmBackend(backend, BATCH_MATMUL_KERNEL);
  const { a, b } = inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
  const { transposeA, transposeB } = attrs as unknown as BatchMatMulAttrs;
  const batch = a.shape[0]!;
  const m = transposeA ? a.shape[2]! : a.shape[1]!;
  const k = transposeA ? a.shape[1]! : a.shape[2]!;
  const n = transposeB ? b.shape[1]! : b.shape[2]!;
  const result = kernels().batchMatMul(
    heapF32(wasm, a, BATCH_MATMUL_KERNEL, "a"),
    heapF32(wasm, b, BATCH_MATMUL_KERNEL, "b"),
    { batch, m, n, k, transposeA, transposeB },
  );
  return output(wasm, [batch, m, n], result);
};

const transpose2dKernel: tf.KernelFunc = ({ inputs, backend }) => {
  const wasm = asWasmBackend(backend, TRANSPOSE_2D_KERNEL);
  const { x } = inputs as { x: tf.TensorInfo };
  const [rows, cols] = x.shape as [number, number];
  const result = kernels().transpose2d(heapF32(wasm, x, TRANSPOSE_2D_KERNEL, "x"), rows, cols);
  return output(wasm, [cols, rows], result);
};

export const BATCH_MATMUL_CONFIG: tf.KernelConfig = {
  kernelName: BATCH_MATMUL_KERNEL,
  backendName: "wasm",
  kernelFunc: batchMatMulKernel,
};
export const TRANSPOSE_2D_CONFIG: tf.KernelConfig = {
  kernelName: TRANSPOSE_2D_KERNEL,
  backendName: "wasm",
  kernelFunc: transpose2dKernel,
};

/** Every kernel of the kit, registered once below. */
export const KIT_KERNEL_CONFIGS: readonly tf.KernelConfig[] = Object.freeze([BATCH_MATMUL_CONFIG, TRANSPOSE_2D_CONFIG]);

// A second copy of this module in one process (e.g. a notebook loading the build twice) finds them registered.
for (const config of KIT_KERNEL_CONFIGS) {
  if (!tf.getKernel(config.kernelName, config.backendName)) tf.registerKernel(config);
}

/**
 * tf.clone (and so every tensor a gradient saves for the backward pass: tfjs's engine keeps `clone(t)` of each
 * input or output a registered gradient or customGrad saves) runs the backend's Identity kernel. tfjs-backend-wasm
 * 4.22's Identity copies the whole buffer; the cpu backend's shares it (incRef), as the wasm backend's own Reshape
 * does. Tensors are immutable, so sharing is exact. With the copy, a training step duplicates every saved
 * activation and every weight a matmul saves (a GPT-2-small step copied ~1 GB per step and held it until the
 * backward pass). Under the kit's native and wasm kernel sets Identity shares the buffer; under the tfjs set
 * (tfjs's own kernels only) it runs tfjs's kernel unchanged.
 */
const tfjsIdentity = tf.getKernel("Identity", "wasm");
export const SHARING_IDENTITY_CONFIG: tf.KernelConfig | null = tfjsIdentity
  ? {
      kernelName: "Identity",
      backendName: "wasm",
      kernelFunc: (args) => {
        const { x } = args.inputs as { x: tf.TensorInfo };
        const backend = args.backend as { incRef?: (dataId: object) => void };
        if (!onWasm() || x.dtype === "string" || typeof backend.incRef !== "function") {
          return tfjsIdentity.kernelFunc(args);
        }
        backend.incRef(x.dataId);
        return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
      },
    }
  : null;
if (SHARING_IDENTITY_CONFIG && tf.getKernel("Identity", "wasm") !== SHARING_IDENTITY_CONFIG) {
  tf.unregisterKernel("Identity", "wasm");
  tf.registerKernel(SHARING_IDENTITY_CONFIG);
}

/**
 * Whether the WebAssembly SIMD kernels may run: the "wasm" kernel set, and the "native" set for what it has no
 * kernel of its own for (transpose2d); ops check for native first (kernel-set.ts).
 */
export function onWasm(): boolean {
  return activeKernels() !== "tfjs";
}
