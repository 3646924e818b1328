/**
 * The WebAssembly SIMD kernels of kernels.c, instantiated once per process (synchronously), with typed calls
 * that take and return plain Float32Arrays.
 *
 * The module has its own growable linear memory. Each call lays its buffers out from the module's heap base
 * (16-byte aligned), grows memory when they do not fit, copies the inputs in, runs, and hands the result back as
 * a Float32Array view of linear memory (`ResultView`): valid only until the next kernel call, so callers copy it
 * out (e.g. into a tensor) before calling again. Calls are synchronous, so they never interleave.
 */
import { KERNELS_EXPORTS, KERNELS_WASM_BASE64 } from "./compiled-kernels";

interface KernelExports {
  readonly memory: WebAssembly.Memory;
  heap_base(): number;
  batch_matmul(
    a: number,
    b: number,
    c: number,
    batch: number,
    m: number,
    n: number,
    k: number,
    ta: number,
    tb: number,
  ): void;
  transpose2d(src: number, dst: number, rows: number, cols: number): void;
}

/** A view of a kernel's output in linear memory; invalid after the next kernel call. */
export type ResultView = Float32Array;

/** Dimensions of C[b] = op(A[b]) @ op(B[b]): op(A) is [m, k], op(B) is [k, n], C is [m, n], b < batch. */
export interface MatMulDims {
  readonly batch: number;
  readonly m: number;
  readonly n: number;
  readonly k: number;
  readonly transposeA: boolean;
  readonly transposeB: boolean;
}

const PAGE_BYTES = 65536;
const ALIGN_BYTES = 16;
/** wasm32 linear memory cannot exceed 4 GiB; V8 caps it at 65536 pages. */
const MAX_BYTES = 4 * 1024 * 1024 * 1024;

function alignUp(n: number): number {
  return Math.ceil(n / ALIGN_BYTES) * ALIGN_BYTES;
}

export class KernelModule {
  private readonly base: number;

  constructor(private readonly exp: KernelExports) {
    this.base = alignUp(exp.heap_base());
  }

  /** Bytes of linear memory currently allocated (grows on demand, never shrinks). */
  get memoryBytes(): number {
    return this.exp.memory.buffer.byteLength;
  }

  /**
   * Batched matmul; `a` holds batch x [m, k] (or [k, m] with transposeA), `b` batch x [k, n] (or [n, k] with
   * transposeB), both row-major with batches contiguous. Returns batch x [m, n].
   */
  batchMatMul(a: Float32Array, b: Float32Array, d: MatMulDims): ResultView {
    const { batch, m, n, k } = d;
    checkLength("batchMatMul", "a", a.length, batch * m * k);
    checkLength("batchMatMul", "b", b.length, batch * k * n);
    const [pa, pb, pc] = this.layout([a.length, b.length, batch * m * n]);
    this.write(pa, a);
    this.write(pb, b);
    this.exp.batch_matmul(pa, pb, pc, batch, m, n, k, d.transposeA ? 1 : 0, d.transposeB ? 1 : 0);
    return this.view(pc, batch * m * n);
  }

  /** src: [rows, cols] row-major -> [cols, rows]. */
  transpose2d(src: Float32Array, rows: number, cols: number): ResultView {
    checkLength("transpose2d", "src", src.length, rows * cols);
    const [ps, pd] = this.layout([src.length, src.length]);
    this.write(ps, src);
    this.exp.transpose2d(ps, pd, rows, cols);
    return this.view(pd, rows * cols);
  }

  /** Byte offsets of consecutive aligned float32 buffers of the given lengths; grows memory to fit. */
  private layout(lengths: number[]): number[] {
    const offsets: number[] = [];
    let end = this.base;
    for (const len of lengths) {
      offsets.push(end);
      end = alignUp(end + 4 * len);
    }
    const have = this.exp.memory.buffer.byteLength;
    if (end > have) {
      if (end > MAX_BYTES) {
        throw new Error(`kernel-module: a call needs ${end} bytes of wasm memory, over the 4 GiB wasm32 limit`);
      }
      try {
        this.exp.memory.grow(Math.ceil((end - have) / PAGE_BYTES));
      } catch (err) {
        throw new Error(`kernel-module: cannot grow wasm memory from ${have} to ${end} bytes: ${String(err)}`);
      }
    }
    return offsets;
  }

  private write(offset: number, src: Float32Array): void {
    new Float32Array(this.exp.memory.buffer, offset, src.length).set(src);
  }

  private view(offset: number, length: number): ResultView {
    return new Float32Array(this.exp.memory.buffer, offset, length);
  }
}

function checkLength(fn: string, name: string, got: number, expected: number): void {
  if (got !== expected) {
    throw new Error(`kernel-module: ${fn}: ${name} has ${got} values, expected ${expected}`);
  }
}

/** Compiles the embedded module (synchronously) and checks it exports what the source declares. */
export function instantiateKernels(): KernelModule {
  const bytes = Buffer.from(KERNELS_WASM_BASE64, "base64");
  const module = new WebAssembly.Module(bytes);
  const instance = new WebAssembly.Instance(module, {});
  const exported = instance.exports as Record<string, unknown>;
  for (const name of [...KERNELS_EXPORTS, "memory"]) {
    if (!(name in exported)) {
      throw new Error(`kernel-module: the embedded wasm lacks export '${name}': run scripts/build-kernels.sh`);
    }
  }
  return new KernelModule(instance.exports as unknown as KernelExports);
}

let shared: KernelModule | null = null;

/** The process-wide kernel module, instantiated on first use. */
export function kernels(): KernelModule {
  if (!shared) shared = instantiateKernels();
  return shared;
}
