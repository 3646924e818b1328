/**
 * Loads the native kernel addon (native/kit_native.c, built by scripts/build-native.js at `npm install`) and opens
 * a BLAS library for it. Typed signatures of what the addon exports; the addon itself checks every array's length
 * against the sizes it is given and throws (never writes out of bounds).
 *
 * `KIT_NATIVE_ADDON=<path>` loads another build of the addon; `KIT_BLAS=<path or soname>` opens that BLAS instead of
 * the list in native/blas-libraries.json.
 */
import * as fs from "node:fs";
import * as path from "node:path";

export interface NativeAddon {
  init(libraries: string[]): { library: string; threadControl: boolean; config: string };
  setThreads(n: number): boolean;
  getThreads(): number;
  gemm(
    transA: number,
    transB: number,
    m: number,
    n: number,
    k: number,
    alpha: number,
    a: Float32Array,
    lda: number,
    b: Float32Array,
    ldb: number,
    beta: number,
    c: Float32Array,
    ldc: number,
    batch: number,
    strideA: number,
    strideB: number,
    strideC: number,
  ): void;
  linearForward(
    x: Float32Array,
    w: Float32Array,
    bias: Float32Array | null,
    y: Float32Array,
    rows: number,
    inDim: number,
    outDim: number,
    transW: number,
  ): void;
  colSum(x: Float32Array, rows: number, cols: number, out: Float32Array): void;
  layerNormForward(
    x: Float32Array,
    gamma: Float32Array,
    beta: Float32Array,
    y: Float32Array,
    mean: Float32Array,
    rstd: Float32Array,
    rows: number,
    d: number,
    eps: number,
  ): void;
  layerNormBackward(
    dy: Float32Array,
    x: Float32Array,
    gamma: Float32Array,
    mean: Float32Array,
    rstd: Float32Array,
    dx: Float32Array | null,
    dgamma: Float32Array | null,
    dbeta: Float32Array | null,
    rows: number,
    d: number,
  ): void;
  activationForward(kind: number, x: Float32Array, y: Float32Array, n: number): void;
  activationBackward(kind: number, x: Float32Array, dy: Float32Array, dx: Float32Array, n: number): void;
  attentionForward(
    qkv: Float32Array,
    keyMask: Float32Array,
    out: Float32Array,
    probs: Float32Array,
    batch: number,
    length: number,
    heads: number,
    headDim: number,
    scale: number,
  ): void;
  attentionBackward(
    qkv: Float32Array,
    probs: Float32Array,
    dout: Float32Array,
    dqkv: Float32Array,
    batch: number,
    length: number,
    heads: number,
    headDim: number,
    scale: number,
  ): void;
  gatherRows(table: Float32Array, ids: Int32Array, out: Float32Array, n: number, dim: number, tableRows: number): void;
  scatterAddRows(dy: Float32Array, ids: Int32Array, out: Float32Array, n: number, dim: number, tableRows: number): void;
  sumSquares(x: Float32Array, n: number): number;
  adamwStep(
    p: Float32Array,
    g: Float32Array,
    m: Float32Array,
    v: Float32Array,
    pOut: Float32Array,
    mOut: Float32Array,
    vOut: Float32Array,
    n: number,
    lr: number,
    beta1: number,
    beta2: number,
    eps: number,
    decay: number,
    c1: number,
    c2: number,
    scale: number,
  ): void;
  softmaxCrossEntropy(
    logits: Float32Array,
    targets: Int32Array,
    weights: Float32Array,
    grad: Float32Array,
    rows: number,
    vocab: number,
  ): number;
}

export interface LoadedNative {
  readonly addon: NativeAddon;
  /** the BLAS library opened, e.g. "libopenblas.so.0". */
  readonly blas: string;
  /** whether the BLAS thread count can be set (OpenBLAS). */
  readonly threadControl: boolean;
  /** path of the addon file. */
  readonly file: string;
}

/** build/lib/backend/kernels (or lib/backend/kernels under ts-node) -> the project root. */
export function nativeDir(): string {
  let dir = __dirname;
  for (let i = 0; i < 6; i++) {
    if (fs.existsSync(path.join(dir, "native", "blas-libraries.json"))) return path.join(dir, "native");
    dir = path.dirname(dir);
  }
  return path.resolve(__dirname, "..", "..", "..", "..", "native");
}

/** Library names to try, in order: KIT_BLAS if set, else native/blas-libraries.json for this platform. */
export function blasCandidates(): string[] {
  const forced = process.env["KIT_BLAS"];
  if (forced && forced.trim() !== "") return [forced.trim()];
  const file = path.join(nativeDir(), "blas-libraries.json");
  const table = JSON.parse(fs.readFileSync(file, "utf8")) as Record<string, string[]>;
  return table[process.platform] ?? [];
}

const HINT =
  process.platform === "darwin"
    ? "xcode-select --install, then npm run build:native"
    : "apt-get install build-essential libopenblas0-pthread, then npm run build:native";

/** Loads the addon and opens BLAS; throws an Error saying what is missing and how to get it. */
export function loadNative(): LoadedNative {
  const file = process.env["KIT_NATIVE_ADDON"]?.trim() || path.join(nativeDir(), "build", "kit_native.node");
  if (!fs.existsSync(file)) {
    throw new Error(`the native addon ${file} is not built (${HINT})`);
  }
  let addon: NativeAddon;
  try {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    addon = require(file) as NativeAddon;
  } catch (err) {
    throw new Error(`the native addon ${file} cannot be loaded: ${firstLine(err)} (rebuild: npm run build:native)`);
  }
  if (typeof addon.gemm !== "function" || typeof addon.init !== "function") {
    throw new Error(`${file} is not the kit's native addon (no gemm/init export): rebuild with npm run build:native`);
  }
  let info: { library: string; threadControl: boolean };
  try {
    info = addon.init(blasCandidates());
  } catch (err) {
    throw new Error(`${firstLine(err).replace(/^kit-native: /, "")} (${HINT})`);
  }
  return { addon, blas: info.library, threadControl: info.threadControl, file };
}

function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split("\n")[0]!;
}
