/**
 * The native kernel set as tfjs ops: each op is a kernel registered for the 'wasm' backend that hands views of the
 * wasm heap to the addon (no copies: inputs are read and outputs written in place), and, where the op is
 * differentiable, a registered gradient.
 *
 * Registered gradients (not customGrad) because tfjs calls a registered gradient's per-input functions only for
 * the inputs on the path to what is being differentiated: under prompt tuning the backbone's weights are not, so
 * dW = x^T dy is never computed and no frozen-layer special case is needed; under full fine-tuning it is.
 *
 * Views are taken after every output of a call is allocated: makeOutput may grow the wasm heap, which detaches
 * views taken earlier.
 */
import { tf } from "../backend";
import { native } from "./kernel-set";
import { asWasmBackend } from "./register-kernels";

/** Allocates float32 outputs, then returns views of `inputs` (checked float32 unless listed in `ints`) and outputs. */
function views(
  backend: unknown,
  kernel: string,
  inputs: Record<string, tf.TensorInfo | undefined>,
  outShapes: number[][],
): { ins: Record<string, Float32Array>; outs: Float32Array[]; infos: tf.TensorInfo[] } {
  const wasm = asWasmBackend(backend, kernel);
  for (const [name, t] of Object.entries(inputs)) {
    if (t && t.dtype !== "float32") throw new Error(`${kernel}: input '${name}' must be float32, got ${t.dtype}`);
  }
  const infos = outShapes.map((s) => wasm.makeOutput(s, "float32"));
  const ins: Record<string, Float32Array> = {};
  for (const [name, t] of Object.entries(inputs)) if (t) ins[name] = wasm.typedArrayFromHeap(t) as Float32Array;
  return { ins, outs: infos.map((o) => wasm.typedArrayFromHeap(o) as Float32Array), infos };
}

const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

function register(kernelName: string, kernelFunc: tf.KernelFunc): void {
  if (!tf.getKernel(kernelName, "wasm")) tf.registerKernel({ kernelName, backendName: "wasm", kernelFunc });
}

function run<T extends tf.Tensor | tf.Tensor[]>(
  kernel: string,
  inputs: Record<string, tf.Tensor>,
  attrs: object = {},
): T {
  ensureRegistered();
  return tf
    .engine()
    .runKernel(kernel, inputs as tf.NamedTensorMap, attrs as unknown as tf.NamedAttrMap) as unknown as T;
}

// ---- gemm --------------------------------------------------------------------------------------------------

export const GEMM = "KitNativeGemm";

interface GemmAttrs {
  transposeA: boolean;
  transposeB: boolean;
}

/** C[z] = op(A[z]) @ op(B[z]) for rank-3 a, b (no gradient: callers define theirs). */
export function nativeProduct(a: tf.Tensor3D, b: tf.Tensor3D, transposeA: boolean, transposeB: boolean): tf.Tensor3D {
  return run<tf.Tensor3D>(GEMM, { a, b }, { transposeA, transposeB } satisfies GemmAttrs);
}

const gemmKernel: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const { a, b } = inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
  const { transposeA: ta, transposeB: tb } = attrs as unknown as GemmAttrs;
  const batch = a.shape[0]!;
  const m = ta ? a.shape[2]! : a.shape[1]!;
  const k = ta ? a.shape[1]! : a.shape[2]!;
  const n = tb ? b.shape[1]! : b.shape[2]!;
  const v = views(backend, GEMM, { a, b }, [[batch, m, n]]);
  native().gemm(
    ta ? 1 : 0,
    tb ? 1 : 0,
    m,
    n,
    k,
    1,
    v.ins["a"]!,
    ta ? m : k,
    v.ins["b"]!,
    tb ? k : n,
    0,
    v.outs[0]!,
    n,
    batch,
    m * k,
    k * n,
    m * n,
  );
  return v.infos[0]!;
};

// ---- linear ------------------------------------------------------------------------------------------------

export const LINEAR = "KitNativeLinear";
export const COL_SUM = "KitNativeColSum";

interface LinearAttrs {
  /** w is stored [out, in] (e.g. a tied output head read from the [V, D] embedding) and used transposed. */
  transposeW: boolean;
}

/**
 * y = x @ w (+ b); x [N, in], w [in, out] (or [out, in] with transposeW: y = x @ w^T, read in place, no transposed
 * copy), b [out]. Gradients: dx = dy w^T, dw = x^T dy (transposeW: dx = dy w, dw = dy^T x, [out, in] like w),
 * db = colsum(dy).
 */
export function nativeLinear(x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D | null, transposeW = false): tf.Tensor2D {
  return run<tf.Tensor2D>(LINEAR, b ? { x, w, b } : { x, w }, { transposeW } satisfies LinearAttrs);
}

/** Column sums of a [N, M] matrix -> [M]. */
export function nativeColSum(x: tf.Tensor2D): tf.Tensor1D {
  return run<tf.Tensor1D>(COL_SUM, { x });
}

const linearKernel: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const { x, w, b } = inputs as { x: tf.TensorInfo; w: tf.TensorInfo; b?: tf.TensorInfo };
  const transposeW = (attrs as unknown as LinearAttrs | undefined)?.transposeW === true;
  const [rows, inDim] = x.shape as [number, number];
  const outDim = transposeW ? w.shape[0]! : w.shape[1]!;
  const v = views(backend, LINEAR, { x, w, b }, [[rows, outDim]]);
  native().linearForward(
    v.ins["x"]!,
    v.ins["w"]!,
    v.ins["b"] ?? null,
    v.outs[0]!,
    rows,
    inDim,
    outDim,
    transposeW ? 1 : 0,
  );
  return v.infos[0]!;
};

const colSumKernel: tf.KernelFunc = ({ inputs, backend }) => {
  const { x } = inputs as { x: tf.TensorInfo };
  const [rows, cols] = x.shape as [number, number];
  const v = views(backend, COL_SUM, { x }, [[cols]]);
  native().colSum(v.ins["x"]!, rows, cols, v.outs[0]!);
  return v.infos[0]!;
};

const as3 = (m: tf.Tensor) => tf.reshape(m, [1, m.shape[0]!, m.shape[1]!]) as tf.Tensor3D;
const to2 = (m: tf.Tensor3D) => tf.reshape(m, [m.shape[1], m.shape[2]]) as tf.Tensor2D;

const linearGrad: tf.GradConfig = {
  kernelName: LINEAR,
  inputsToSave: ["x", "w"],
  gradFunc: (dy, saved, attrs) => {
    const [x, w] = saved as [tf.Tensor2D, tf.Tensor2D];
    const g = dy as tf.Tensor2D;
    if ((attrs as unknown as LinearAttrs | undefined)?.transposeW === true) {
      return {
        x: () => to2(nativeProduct(as3(g), as3(w), false, false)),
        w: () => to2(nativeProduct(as3(g), as3(x), true, false)),
        b: () => nativeColSum(g),
      };
    }
    return {
      x: () => to2(nativeProduct(as3(g), as3(w), false, true)),
      w: () => to2(nativeProduct(as3(x), as3(g), true, false)),
      b: () => nativeColSum(g),
    };
  },
};

// ---- LayerNorm ---------------------------------------------------------------------------------------------

export const LAYER_NORM = "KitNativeLayerNorm";
export const LAYER_NORM_GRAD = "KitNativeLayerNormGrad";

interface LayerNormAttrs {
  eps: number;
}
interface LayerNormGradAttrs {
  /** which gradient to compute: the input's, or gamma's. */
  wrt: "x" | "gamma";
}

/** x [N, D], gamma/beta [D] -> [N, D]; gradients for all three (each computed only when needed). */
export function nativeLayerNorm(x: tf.Tensor2D, gamma: tf.Tensor1D, beta: tf.Tensor1D, eps: number): tf.Tensor2D {
  return run<tf.Tensor[]>(LAYER_NORM, { x, gamma, beta }, { eps } satisfies LayerNormAttrs)[0] as tf.Tensor2D;
}

const layerNormKernel: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const { x, gamma, beta } = inputs as { x: tf.TensorInfo; gamma: tf.TensorInfo; beta: tf.TensorInfo };
  const [rows, d] = x.shape as [number, number];
  const v = views(backend, LAYER_NORM, { x, gamma, beta }, [[rows, d], [rows], [rows]]);
  const [y, mean, rstd] = v.outs as [Float32Array, Float32Array, Float32Array];
  native().layerNormForward(
    v.ins["x"]!,
    v.ins["gamma"]!,
    v.ins["beta"]!,
    y,
    mean,
    rstd,
    rows,
    d,
    (attrs as unknown as LayerNormAttrs).eps,
  );
  return v.infos;
};

const layerNormGradKernel: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const { dy, x, gamma, mean, rstd } = inputs as Record<string, tf.TensorInfo>;
  const [rows, d] = x!.shape as [number, number];
  const wrt = (attrs as unknown as LayerNormGradAttrs).wrt;
  const v = views(backend, LAYER_NORM_GRAD, { dy, x, gamma, mean, rstd }, [wrt === "x" ? [rows, d] : [d]]);
  const i = v.ins;
  const out = v.outs[0]!;
  native().layerNormBackward(
    i["dy"]!,
    i["x"]!,
    i["gamma"]!,
    i["mean"]!,
    i["rstd"]!,
    wrt === "x" ? out : null,
    wrt === "gamma" ? out : null,
    null,
    rows,
    d,
  );
  return v.infos[0]!;
};

const layerNormGrad: tf.GradConfig = {
  kernelName: LAYER_NORM,
  inputsToSave: ["x", "gamma"],
  outputsToSave: [false, true, true],
  gradFunc: (dys, saved) => {
    const dy = (dys as tf.Tensor[])[0] as tf.Tensor2D;
    const [x, gamma, mean, rstd] = saved as [tf.Tensor2D, tf.Tensor1D, tf.Tensor1D, tf.Tensor1D];
    const grad = (wrt: LayerNormGradAttrs["wrt"]) =>
      run<tf.Tensor>(LAYER_NORM_GRAD, { dy, x, gamma, mean, rstd }, { wrt } satisfies LayerNormGradAttrs);
    return { x: () => grad("x"), gamma: () => grad("gamma"), beta: () => nativeColSum(dy) };
  },
};

// ---- activations -------------------------------------------------------------------------------------------

export const ACTIVATION = "KitNativeActivation";
export const ACTIVATION_GRAD = "KitNativeActivationGrad";

/** Kind codes of kit_native.c's activationForward/Backward. */
export const ACTIVATION_KINDS = { quick_gelu: 0, gelu_new: 1, relu: 2 } as const;
export type NativeActivation = keyof typeof ACTIVATION_KINDS;

interface ActivationAttrs {
  kind: number;
}

export function nativeActivation(x: tf.Tensor2D, kind: NativeActivation): tf.Tensor2D {
  return run<tf.Tensor2D>(ACTIVATION, { x }, { kind: ACTIVATION_KINDS[kind] } satisfies ActivationAttrs);
}

const activationKernel: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const { x } = inputs as { x: tf.TensorInfo };
  const v = views(backend, ACTIVATION, { x }, [x.shape]);
  native().activationForward((attrs as unknown as ActivationAttrs).kind, v.ins["x"]!, v.outs[0]!, size(x.shape));
  return v.infos[0]!;
};

const activationGradKernel: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const { x, dy } = inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
  const v = views(backend, ACTIVATION_GRAD, { x, dy }, [x.shape]);
  native().activationBackward(
    (attrs as unknown as ActivationAttrs).kind,
    v.ins["x"]!,
    v.ins["dy"]!,
    v.outs[0]!,
    size(x.shape),
  );
  return v.infos[0]!;
};

const activationGrad: tf.GradConfig = {
  kernelName: ACTIVATION,
  inputsToSave: ["x"],
  gradFunc: (dy, saved, attrs) => ({
    x: () => run<tf.Tensor>(ACTIVATION_GRAD, { x: saved[0]!, dy: dy as tf.Tensor }, attrs as object),
  }),
};

// ---- attention ---------------------------------------------------------------------------------------------

export const ATTENTION = "KitNativeAttention";
export const ATTENTION_GRAD = "KitNativeAttentionGrad";

interface AttentionAttrs {
  batch: number;
  length: number;
  heads: number;
  scale: number;
}

/**
 * Causal masked multi-head attention core: qkv [B*T, 3D] (the fused projection's output), keyMask [B*T] (1 = real
 * key) -> context [B*T, D] with heads merged. Gradient for qkv only (the mask is data).
 */
export function nativeAttention(
  qkv: tf.Tensor2D,
  keyMask: tf.Tensor1D,
  dims: { batch: number; length: number; heads: number },
): tf.Tensor2D {
  const dh = qkv.shape[1] / 3 / dims.heads;
  const attrs: AttentionAttrs = { ...dims, scale: 1 / Math.sqrt(dh) };
  return run<tf.Tensor[]>(ATTENTION, { qkv, keyMask }, attrs)[0] as tf.Tensor2D;
}

const attentionKernel: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const { qkv, keyMask } = inputs as { qkv: tf.TensorInfo; keyMask: tf.TensorInfo };
  const { batch, length, heads, scale } = attrs as unknown as AttentionAttrs;
  const d = qkv.shape[1]! / 3;
  const v = views(backend, ATTENTION, { qkv, keyMask }, [
    [batch * length, d],
    [batch, heads, length, length],
  ]);
  native().attentionForward(
    v.ins["qkv"]!,
    v.ins["keyMask"]!,
    v.outs[0]!,
    v.outs[1]!,
    batch,
    length,
    heads,
    d / heads,
    scale,
  );
  return v.infos;
};

const attentionGradKernel: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const { qkv, probs, dy } = inputs as Record<string, tf.TensorInfo>;
  const { batch, length, heads, scale } = attrs as unknown as AttentionAttrs;
  const v = views(backend, ATTENTION_GRAD, { qkv, probs, dy }, [qkv!.shape]);
  const d = qkv!.shape[1]! / 3;
  native().attentionBackward(
    v.ins["qkv"]!,
    v.ins["probs"]!,
    v.ins["dy"]!,
    v.outs[0]!,
    batch,
    length,
    heads,
    d / heads,
    scale,
  );
  return v.infos[0]!;
};

const attentionGrad: tf.GradConfig = {
  kernelName: ATTENTION,
  inputsToSave: ["qkv", "keyMask"],
  outputsToSave: [false, true],
  gradFunc: (dys, saved, attrs) => {
    const dy = (dys as tf.Tensor[])[0]!;
    const [qkv, keyMask, probs] = saved as [tf.Tensor, tf.Tensor, tf.Tensor];
    return {
      qkv: () => run<tf.Tensor>(ATTENTION_GRAD, { qkv, probs, dy }, attrs as object),
      keyMask: () => tf.zerosLike(keyMask), // the mask is data: zero gradient
    };
  },
};

// ---- softmax cross-entropy -------------------------------------------------------------------------------------

export const SOFTMAX_XENT = "KitNativeSoftmaxCrossEntropy";

interface SoftmaxXentAttrs {
  /** N target ids and N weights (already divided by their sum); plain arrays, not tensors. */
  targets: Int32Array;
  weights: Float32Array;
}

/**
 * loss = sum_i w_i * -log softmax(logits_i)[t_i] (a scalar) and its gradient w.r.t. the logits,
 * (softmax - onehot) * w_i, from one pass over logits [N, V]. Rows with w_i = 0 are skipped.
 */
export function nativeSoftmaxCrossEntropy(
  logits: tf.Tensor2D,
  targets: Int32Array,
  weights: Float32Array,
): [tf.Scalar, tf.Tensor2D] {
  return run<tf.Tensor[]>(SOFTMAX_XENT, { logits }, { targets, weights } satisfies SoftmaxXentAttrs) as [
    tf.Scalar,
    tf.Tensor2D,
  ];
}

const softmaxXentKernel: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const { logits } = inputs as { logits: tf.TensorInfo };
  const { targets, weights } = attrs as unknown as SoftmaxXentAttrs;
  const [rows, vocab] = logits.shape as [number, number];
  const v = views(backend, SOFTMAX_XENT, { logits }, [[], [rows, vocab]]);
  v.outs[0]![0] = native().softmaxCrossEntropy(v.ins["logits"]!, targets, weights, v.outs[1]!, rows, vocab);
  return v.infos;
};

// ---- embedding rows ------------------------------------------------------------------------------------------

export const GATHER_ROWS = "KitNativeGatherRows";
export const SCATTER_ADD_ROWS = "KitNativeScatterAddRows";

interface RowsAttrs {
  /** row ids (plain array: data, not a tensor) and the table's row count. */
  ids: Int32Array;
  tableRows: number;
}

/** table [V, D], ids N -> [N, D]; gradient for the table: scatter-add of dy rows (one pass, in C). */
export function nativeGatherRows(table: tf.Tensor2D, ids: Int32Array): tf.Tensor2D {
  return run<tf.Tensor2D>(GATHER_ROWS, { table }, { ids, tableRows: table.shape[0] } satisfies RowsAttrs);
}

const gatherRowsKernel: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const { table } = inputs as { table: tf.TensorInfo };
  const { ids } = attrs as unknown as RowsAttrs;
  const [rows, dim] = table.shape as [number, number];
  const v = views(backend, GATHER_ROWS, { table }, [[ids.length, dim]]);
  native().gatherRows(v.ins["table"]!, ids, v.outs[0]!, ids.length, dim, rows);
  return v.infos[0]!;
};

const scatterAddRowsKernel: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const { dy } = inputs as { dy: tf.TensorInfo };
  const { ids, tableRows } = attrs as unknown as RowsAttrs;
  const dim = dy.shape[1]!;
  const v = views(backend, SCATTER_ADD_ROWS, { dy }, [[tableRows, dim]]);
  native().scatterAddRows(v.ins["dy"]!, ids, v.outs[0]!, ids.length, dim, tableRows);
  return v.infos[0]!;
};

const gatherRowsGrad: tf.GradConfig = {
  kernelName: GATHER_ROWS,
  inputsToSave: [],
  gradFunc: (dy, _saved, attrs) => ({
    table: () => run<tf.Tensor>(SCATTER_ADD_ROWS, { dy: dy as tf.Tensor }, attrs as object),
  }),
};

// ---- optimizer ---------------------------------------------------------------------------------------------

function heapOf(t: tf.Tensor): Float32Array {
  if (t.dtype !== "float32") throw new Error(`native-ops: expected a float32 tensor, got ${t.dtype}`);
  return asWasmBackend(tf.backend(), "heapOf").typedArrayFromHeap(t) as Float32Array;
}

/** sum(x^2) in double precision, read in place (no tensor is created). */
export function nativeSumSquares(x: tf.Tensor): number {
  return native().sumSquares(heapOf(x), x.size);
}

export const ADAMW = "KitNativeAdamW";

export interface AdamWHyper {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  /** weight decay rate (0 for parameters without decay). */
  decay: number;
  /** bias corrections 1 - beta^t. */
  c1: number;
  c2: number;
  /** gradient scale (clipping). */
  scale: number;
}

/** One AdamW update in one fused pass: returns the new [p, m, v] (the caller assigns them). */
export function nativeAdamW(
  p: tf.Tensor,
  g: tf.Tensor,
  m: tf.Tensor,
  v: tf.Tensor,
  h: AdamWHyper,
): [tf.Tensor, tf.Tensor, tf.Tensor] {
  if (g.size !== p.size || m.size !== p.size || v.size !== p.size) {
    throw new Error(`nativeAdamW: sizes differ (p ${p.size}, g ${g.size}, m ${m.size}, v ${v.size})`);
  }
  return run<tf.Tensor[]>(ADAMW, { p, g, m, v }, h) as [tf.Tensor, tf.Tensor, tf.Tensor];
}

const adamwKernel: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const { p, g, m, v } = inputs as Record<string, tf.TensorInfo>;
  const h = attrs as unknown as AdamWHyper;
  const shape = p!.shape;
  const vw = views(backend, ADAMW, { p, g, m, v }, [shape, shape, shape]);
  const i = vw.ins;
  const [po, mo, vo] = vw.outs as [Float32Array, Float32Array, Float32Array];
  native().adamwStep(
    i["p"]!,
    i["g"]!,
    i["m"]!,
    i["v"]!,
    po,
    mo,
    vo,
    po.length,
    h.lr,
    h.beta1,
    h.beta2,
    h.eps,
    h.decay,
    h.c1,
    h.c2,
    h.scale,
  );
  return vw.infos;
};

// ---- registration --------------------------------------------------------------------------------------------

let registered = false;

/** Registers every native kernel and gradient with tfjs (idempotent). */
export function ensureRegistered(): void {
  if (registered) return;
  register(GEMM, gemmKernel);
  register(LINEAR, linearKernel);
  register(COL_SUM, colSumKernel);
  register(LAYER_NORM, layerNormKernel);
  register(LAYER_NORM_GRAD, layerNormGradKernel);
  register(ACTIVATION, activationKernel);
  register(ACTIVATION_GRAD, activationGradKernel);
  register(ATTENTION, attentionKernel);
  register(ATTENTION_GRAD, attentionGradKernel);
  register(SOFTMAX_XENT, softmaxXentKernel);
  register(GATHER_ROWS, gatherRowsKernel);
  register(SCATTER_ADD_ROWS, scatterAddRowsKernel);
  register(ADAMW, adamwKernel);
  for (const g of [linearGrad, layerNormGrad, activationGrad, attentionGrad, gatherRowsGrad]) {
    if (!tf.getGradient(g.kernelName)) tf.registerGradient(g);
  }
  registered = true;
}
