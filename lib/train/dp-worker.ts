/**
 * Worker-thread entry of data-parallel training (see data-parallel.ts for the protocol's other side).
 *
 * Each worker has its own tfjs engine and wasm instance (initBackend in this thread), builds the same model
 * replica (same config + seed, or the weights it was started with) and the same AdamW, and answers requests:
 *
 *   grad    { shard }        -> loss and gradients of the shard's mean loss; gradients (every model variable, in
 *                               parameter order, flattened) are written into this worker's shared gradient buffer
 *   apply   { lr, checksum } -> applies the averaged, unclipped gradient the main thread wrote into the shared
 *                               average buffer through this worker's AdamW (which clips by global norm exactly
 *                               as in single-threaded training); every replica applies the same update to the
 *                               same weights, so replicas stay bitwise equal. Replies with the gradient norm and,
 *                               if asked, a weight checksum
 *   weights / optimizer / checksum -> copies of the replica's weights, AdamW state, or checksum
 *
 * Any error is answered as { type: "error", id, message, stack } for the request that caused it.
 */
import { parentPort, workerData } from "node:worker_threads";
import { tf, initBackend, backendLabel } from "../backend/backend";
import { kernelSetLabel } from "../backend/kernels/kernel-set";
import type { TransformerConfig } from "../backbone/config";
import { Transformer, parameterSpec } from "../backbone/transformer";
import { AdamW, AdamWOptions } from "./adamw";
import { shardLoss, ShardLoss } from "./dp-losses";

/** AdamW.state() / restore() format. */
export interface AdamWState {
  step: number;
  m: Float32Array[];
  v: Float32Array[];
}

/** What a worker is started with (workerData). */
export interface WorkerInit {
  readonly index: number;
  readonly config: TransformerConfig;
  readonly seed: number;
  /** initial weights in parameter order, or null for Transformer.create(config, seed). */
  readonly weights: Float32Array[] | null;
  readonly optimizerState: AdamWState | null;
  readonly adamw: Partial<AdamWOptions>;
  /** RegExp source; parameters whose name matches get weight decay (null = none). */
  readonly decayPattern: string | null;
  readonly loss: string;
  /** absolute paths of modules to require first (they register extra loss kinds). */
  readonly lossModules: readonly string[];
  /** backend name for initBackend, or null for KIT_BACKEND / automatic. */
  readonly backend: string | null;
  /** this worker's gradient slot: parameter-count float32s. */
  readonly gradBuffer: SharedArrayBuffer;
  /** averaged gradient written by the main thread: parameter-count float32s. */
  readonly avgBuffer: SharedArrayBuffer;
}

export type ToWorker =
  | { type: "grad"; id: number; shard: unknown }
  | { type: "apply"; id: number; lr: number; checksum: boolean }
  | { type: "weights"; id: number }
  | { type: "optimizer"; id: number }
  | { type: "checksum"; id: number };

export type FromWorker =
  | { type: "ready"; id: 0; backend: string }
  | { type: "grad"; id: number; loss: number }
  | { type: "applied"; id: number; gradNorm: number; checksum: number | null }
  | { type: "weights"; id: number; arrays: Float32Array[] }
  | { type: "optimizer"; id: number; state: AdamWState }
  | { type: "checksum"; id: number; checksum: number }
  | { type: "error"; id: number; message: string; stack?: string };

/** FNV-1a over the bit patterns of every weight, in parameter order: equal iff (almost surely) bitwise equal. */
export function weightChecksum(arrays: readonly Float32Array[]): number {
  let h = 0x811c9dc5;
  for (const a of arrays) {
    const u = new Uint32Array(a.buffer, a.byteOffset, a.length);
    for (let i = 0; i < u.length; i++) h = Math.imul(h ^ u[i]!, 0x01000193);
  }
  return h >>> 0;
}

interface Replica {
  readonly model: Transformer;
  readonly vars: tf.Variable[];
  readonly offsets: number[];
  readonly opt: AdamW;
  readonly kind: ShardLoss<unknown>;
  readonly grad: Float32Array;
  readonly avg: Float32Array;
}

async function build(init: WorkerInit): Promise<{ replica: Replica; backend: string }> {
  for (const m of init.lossModules) require(m);
  const kind = shardLoss(init.loss);
  const info = await initBackend(init.backend ?? undefined);
  let model: Transformer;
  if (init.weights) {
    const order = [...parameterSpec(init.config).keys()];
    model = Transformer.fromArrays(init.config, new Map(order.map((n, i) => [n, init.weights![i]!])));
  } else {
    model = Transformer.create(init.config, init.seed);
  }
  const names = model.names();
  const vars = model.variables();
  const paramOf = new Map(names.map((n) => [model.param(n).name, n]));
  const re = init.decayPattern === null ? null : new RegExp(init.decayPattern);
  const opt = new AdamW(vars, init.adamw, re ? (varName) => re.test(paramOf.get(varName) ?? varName) : undefined);
  if (init.optimizerState) opt.restore(init.optimizerState);
  const offsets: number[] = [];
  let at = 0;
  for (const v of vars) {
    offsets.push(at);
    at += v.size;
  }
  const grad = new Float32Array(init.gradBuffer);
  const avg = new Float32Array(init.avgBuffer);
  if (grad.length !== at || avg.length !== at) {
    throw new Error(`dp-worker: shared buffers hold ${grad.length} and ${avg.length} floats, the model has ${at} parameters`);
  }
  return { replica: { model, vars, offsets, opt, kind, grad, avg }, backend: `${backendLabel(info)} + ${kernelSetLabel()} kernels` };
}

function gradients(r: Replica, shard: unknown): number {
  const { value, grads } = tf.variableGrads(() => r.kind.loss(r.model, shard), r.vars);
  try {
    const loss = value.dataSync()[0]!;
    r.vars.forEach((v, i) => {
      const g = grads[v.name];
      const off = r.offsets[i]!;
      if (g) r.grad.set(g.dataSync() as Float32Array, off);
      else r.grad.fill(0, off, off + v.size); // variable not reached by this loss
    });
    return loss;
  } finally {
    value.dispose();
    Object.values(grads).forEach((g) => g.dispose());
  }
}

/**
 * Applies the averaged gradient G through AdamW.step, whose loss is the linear surrogate sum_i <p_i, G_i>: its
 * gradient w.r.t. p_i is exactly G_i (1 * G_i, bit for bit), so AdamW computes the global norm, clips and updates
 * precisely as it would for the real loss.
 */
function apply(r: Replica, lr: number): number {
  const gs = r.vars.map((v, i) => tf.tensor(r.avg.subarray(r.offsets[i]!, r.offsets[i]! + v.size), v.shape, "float32"));
  try {
    const { gradNorm } = r.opt.step(() => tf.addN(r.vars.map((p, i) => tf.sum(tf.mul(p, gs[i]!)))) as tf.Scalar, lr);
    return gradNorm;
  } finally {
    gs.forEach((g) => g.dispose());
  }
}

function weightArrays(r: Replica): Float32Array[] {
  return r.vars.map((v) => Float32Array.from(v.dataSync() as Float32Array));
}

function serve(init: WorkerInit): void {
  const port = parentPort!;
  const fail = (id: number, err: unknown) => {
    const e = err instanceof Error ? err : new Error(String(err));
    port.postMessage({ type: "error", id, message: e.message, stack: e.stack } satisfies FromWorker);
  };
  let replica: Replica | null = null;
  const ready = build(init).then(
    ({ replica: r, backend }) => {
      replica = r;
      port.postMessage({ type: "ready", id: 0, backend } satisfies FromWorker);
    },
    (err) => fail(0, err),
  );
  port.on("message", (msg: ToWorker) => {
    void ready.then(() => {
      const r = replica;
      if (!r) return fail(msg.id, new Error("dp-worker: replica failed to start (see the start-up error)"));
      try {
        switch (msg.type) {
          case "grad":
            port.postMessage({ type: "grad", id: msg.id, loss: gradients(r, msg.shard) } satisfies FromWorker);
            break;
          case "apply": {
            const gradNorm = apply(r, msg.lr);
            const checksum = msg.checksum ? weightChecksum(weightArrays(r)) : null;
            port.postMessage({ type: "applied", id: msg.id, gradNorm, checksum } satisfies FromWorker);
            break;
          }
          case "weights": {
            const arrays = weightArrays(r);
            port.postMessage({ type: "weights", id: msg.id, arrays } satisfies FromWorker, arrays.map((a) => a.buffer));
            break;
          }
          case "optimizer": {
            const state = r.opt.state();
            port.postMessage({ type: "optimizer", id: msg.id, state } satisfies FromWorker, [...state.m, ...state.v].map((a) => a.buffer));
            break;
          }
          case "checksum":
            port.postMessage({ type: "checksum", id: msg.id, checksum: weightChecksum(weightArrays(r)) } satisfies FromWorker);
            break;
          default:
            throw new Error(`dp-worker: unknown request type '${(msg as { type: string }).type}'`);
        }
      } catch (err) {
        fail(msg.id, err);
      }
    });
  });
}

if (parentPort && (workerData as { dpWorker?: boolean } | null)?.dpWorker) serve(workerData.init as WorkerInit);
