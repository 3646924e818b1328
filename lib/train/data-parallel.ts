/**
 * Data-parallel training over Node worker threads, so one training run uses several cores (the tfjs wasm backend
 * is single-threaded in Node).
 *
 *   const dp = await DataParallelTrainer.start({ config, seed, workers: 2, loss: "lm", adamw: { clipNorm: 1 } });
 *   const { loss, gradNorm } = await dp.step(batch, lr);     // batch: the global batch, e.g. a TokenBatch
 *   const model = Transformer.fromArrays(dp.config, await dp.weights());
 *   await dp.terminate();
 *
 * Each worker (dp-worker.ts) holds a replica of the model and of AdamW. One step:
 *   1. the main thread splits the global batch into row shards (the loss kind's split) and computes each shard's
 *      weight (its number of predicted tokens / examples);
 *   2. worker k computes the mean loss L_k and gradient g_k of its shard, into its shared gradient buffer;
 *   3. the main thread writes G = sum_k (w_k / W) g_k (= the gradient of the full-batch mean loss) into the shared
 *      average buffer and checks that the loss sum_k (w_k / W) L_k and |G| are finite (else NonFiniteLossError,
 *      nothing applied);
 *   4. every worker applies G through its own AdamW (global-norm clipping included). The update is deterministic
 *      and runs on identical inputs, so replicas stay bitwise equal, which is verified: gradient norms every step,
 *      weight checksums every `checkEvery` steps.
 * Gradients never cross threads by message: they go through SharedArrayBuffers (no copies, no transfers). The
 * update runs on all workers at once instead of on the main thread followed by a weight broadcast.
 *
 * Trains every model variable (full training / pre-training). Errors in a worker reject the call with the
 * worker's message; an error while computing gradients leaves the trainer usable (nothing was applied), any
 * other worker failure makes it unusable. Workers hold the process open only while a request is pending, so a
 * forgotten terminate() never hangs the process.
 */
import { envForConcurrency } from "../backend/kernels/threads";
import * as fs from "node:fs";
import * as path from "node:path";
import { Worker } from "node:worker_threads";
import { parseBackendName } from "../backend/backend";
import { TransformerConfig, resolveConfig } from "../backbone/config";
import { parameterSpec } from "../backbone/transformer";
import { AdamWOptions, NonFiniteLossError } from "./adamw";
import { shardLoss, ShardLoss } from "./dp-losses";
import type { AdamWState, FromWorker, ToWorker, WorkerInit } from "./dp-worker";

export type { AdamWState } from "./dp-worker";

export interface DataParallelOptions {
  readonly config: Partial<TransformerConfig>;
  /** model seed (Transformer.create) when no initialWeights are given. */
  readonly seed: number;
  /** number of worker threads (>= 1). */
  readonly workers: number;
  /** registered loss kind (dp-losses.ts), e.g. "lm". */
  readonly loss: string;
  /** modules (paths, resolved against the working directory) that register extra loss kinds; loaded in every thread. */
  readonly lossModules: readonly string[];
  readonly adamw: Partial<AdamWOptions>;
  /** RegExp source over parameter names that get weight decay (null = none); see GPT2_DECAY_PATTERN. */
  readonly decayPattern: string | null;
  /** start from these weights (every parameter, by name) instead of Transformer.create(config, seed). */
  readonly initialWeights: ReadonlyMap<string, Float32Array> | null;
  /** AdamW state to resume (AdamW.state() format). */
  readonly optimizerState: AdamWState | null;
  /** compare replica weight checksums every N steps (0 = never; gradient norms are compared every step). */
  readonly checkEvery: number;
  /** backend for the workers (node | wasm | cpu), or null for KIT_BACKEND / automatic. */
  readonly backend: string | null;
}

export const DEFAULT_DATA_PARALLEL: Omit<DataParallelOptions, "config" | "seed"> = Object.freeze({
  workers: 2,
  loss: "lm",
  lossModules: [],
  adamw: {},
  decayPattern: null,
  initialWeights: null,
  optimizerState: null,
  checkEvery: 50,
  backend: null,
});

/** The pre-training decay rule (pretrainer.ts): weight decay on the attention and MLP matrices only. */
export const GPT2_DECAY_PATTERN = "\\.(c_attn|c_proj|c_fc)\\.weight$";

export type DataParallelInput = Partial<DataParallelOptions> & Pick<DataParallelOptions, "config" | "seed">;

/** Merges defaults and validates; the message names the field and the bad value. */
export function resolveDataParallelOptions(input: DataParallelInput): DataParallelOptions {
  const o: DataParallelOptions = { ...DEFAULT_DATA_PARALLEL, ...input };
  const bad = (field: string, expected: string, got: unknown) =>
    new Error(`data-parallel options: ${field} must be ${expected}, got ${JSON.stringify(got)}`);
  if (!Number.isInteger(o.seed)) throw bad("seed", "an integer", o.seed);
  if (!Number.isInteger(o.workers) || o.workers < 1) throw bad("workers", "an integer >= 1", o.workers);
  if (typeof o.loss !== "string" || o.loss === "") throw bad("loss", "a registered loss kind name", o.loss);
  if (!Array.isArray(o.lossModules) || o.lossModules.some((m) => typeof m !== "string")) throw bad("lossModules", "an array of paths", o.lossModules);
  if (!Number.isInteger(o.checkEvery) || o.checkEvery < 0) throw bad("checkEvery", "an integer >= 0", o.checkEvery);
  if (o.backend !== null) parseBackendName(o.backend);
  if (o.decayPattern !== null) {
    try {
      new RegExp(o.decayPattern);
    } catch (err) {
      throw bad("decayPattern", `a valid RegExp source (${(err as Error).message})`, o.decayPattern);
    }
  }
  return Object.freeze({ ...o, config: resolveConfig(o.config) });
}

export interface DataParallelStepResult {
  /** mean loss over the global batch (shard losses weighted by shard weight). */
  readonly loss: number;
  /** global gradient norm before clipping (as AdamW computed it). */
  readonly gradNorm: number;
  /** total weight of the batch (e.g. predicted tokens). */
  readonly weight: number;
  /** number of non-empty shards computed. */
  readonly shards: number;
  /** optimizer steps taken after this one. */
  readonly step: number;
}

type Reply = Exclude<FromWorker, { type: "error" }>;
/** A request before the channel numbers it (Omit distributed over the union). */
type Unnumbered<T> = T extends unknown ? Omit<T, "id"> : never;
type Request = Unnumbered<ToWorker>;

interface Pending {
  resolve(r: Reply): void;
  reject(e: Error): void;
}

/** An error raised inside a worker, with the worker's stack. */
export class DataParallelWorkerError extends Error {
  constructor(
    message: string,
    readonly worker: number,
    readonly workerStack?: string,
  ) {
    super(message);
    this.name = "DataParallelWorkerError";
  }
}

const WORKER_SCRIPT = path.join(__dirname, "dp-worker.js");

class Channel {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();

  constructor(
    readonly worker: Worker,
    readonly index: number,
    readonly label: string,
  ) {
    worker.unref();
  }

  /** Registers a reply slot (id 0 = the start-up "ready"). */
  expect(id: number): Promise<Reply> {
    return new Promise<Reply>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.ref();
    });
  }

  request(msg: Request): Promise<Reply> {
    const id = this.nextId++;
    const reply = this.expect(id);
    this.worker.postMessage({ ...msg, id } as ToWorker);
    return reply;
  }

  settle(msg: FromWorker): void {
    const p = this.pending.get(msg.id);
    if (!p) return;
    this.pending.delete(msg.id);
    if (this.pending.size === 0) this.worker.unref();
    if (msg.type === "error") p.reject(new DataParallelWorkerError(`${this.label}: ${msg.message}`, this.index, msg.stack));
    else p.resolve(msg);
  }

  rejectAll(err: Error): void {
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
    this.worker.unref();
  }
}

function expectType<T extends Reply["type"]>(r: Reply, type: T): Extract<Reply, { type: T }> {
  if (r.type !== type) throw new Error(`data-parallel: expected a '${type}' reply, got '${r.type}'`);
  return r as Extract<Reply, { type: T }>;
}

export class DataParallelTrainer<B = unknown> {
  readonly options: DataParallelOptions;
  private readonly channels: Channel[];
  private readonly kind: ShardLoss<B>;
  private readonly names: string[];
  private readonly grads: Float32Array[];
  private readonly avg: Float32Array;
  private taken: number;
  private backendLabel = "";
  private broken: Error | null = null;
  private stepping = false;
  private terminated = false;

  private constructor(options: DataParallelOptions, channels: Channel[], kind: ShardLoss<B>, names: string[], grads: Float32Array[], avg: Float32Array) {
    this.options = options;
    this.channels = channels;
    this.kind = kind;
    this.names = names;
    this.grads = grads;
    this.avg = avg;
    this.taken = options.optimizerState?.step ?? 0;
  }

  /** Starts the workers and waits until every replica is built. */
  static async start<B = unknown>(input: DataParallelInput): Promise<DataParallelTrainer<B>> {
    const o = resolveDataParallelOptions(input);
    const config = o.config as TransformerConfig;
    if (!fs.existsSync(WORKER_SCRIPT)) {
      throw new Error(`data-parallel: worker script ${WORKER_SCRIPT} not found (build with \`npx tsc -p .\` and load the compiled build/ files)`);
    }
    const lossModules = o.lossModules.map((m) => {
      const abs = path.resolve(m);
      if (!fs.existsSync(abs) && !fs.existsSync(abs + ".js")) throw new Error(`data-parallel options: lossModules entry '${m}' not found (${abs})`);
      require(abs);
      return abs;
    });
    const kind = shardLoss<B>(o.loss);
    const spec = parameterSpec(config);
    const names = [...spec.keys()];
    const sizes = names.map((n) => spec.get(n)!.shape.reduce((a, b) => a * b, 1));
    const total = sizes.reduce((a, b) => a + b, 0);
    const weights = o.initialWeights ? names.map((n, i) => checkedArray(o.initialWeights!, n, sizes[i]!)) : null;
    if (o.optimizerState) checkOptimizerState(o.optimizerState, names, sizes);
    const avgBuffer = new SharedArrayBuffer(total * 4);
    const gradBuffers = Array.from({ length: o.workers }, () => new SharedArrayBuffer(total * 4));
    const channels: Channel[] = [];
    const readies: Promise<Reply>[] = [];
    for (let k = 0; k < o.workers; k++) {
      const init: WorkerInit = {
        index: k, config, seed: o.seed, weights, optimizerState: o.optimizerState, adamw: { ...o.adamw },
        decayPattern: o.decayPattern, loss: o.loss, lossModules, backend: o.backend, gradBuffer: gradBuffers[k]!, avgBuffer,
      };
      const ch = new Channel(new Worker(WORKER_SCRIPT, { workerData: { dpWorker: true, init }, env: envForConcurrency(o.workers) }), k, `data-parallel worker ${k + 1}/${o.workers}`);
      readies.push(ch.expect(0));
      channels.push(ch);
    }
    const trainer = new DataParallelTrainer<B>(o, channels, kind, names, gradBuffers.map((b) => new Float32Array(b)), new Float32Array(avgBuffer));
    for (const ch of channels) {
      ch.worker.on("message", (m: FromWorker) => ch.settle(m));
      ch.worker.on("error", (err) => trainer.fail(new DataParallelWorkerError(`${ch.label} crashed: ${err.message}`, ch.index, err.stack)));
      ch.worker.on("exit", (code) => {
        if (!trainer.terminated) trainer.fail(new DataParallelWorkerError(`${ch.label} exited unexpectedly (code ${code})`, ch.index));
      });
    }
    try {
      const ready = await Promise.all(readies);
      const backends = new Set(ready.map((r) => expectType(r, "ready").backend));
      if (backends.size !== 1) throw new Error(`data-parallel: workers started on different backends: ${[...backends].join(", ")}`);
      trainer.backendLabel = [...backends][0]!;
      return trainer;
    } catch (err) {
      await trainer.terminate();
      throw err;
    }
  }

  get config(): TransformerConfig {
    return this.options.config as TransformerConfig;
  }

  get workers(): number {
    return this.channels.length;
  }

  /** Optimizer steps taken (including those of a restored optimizerState). */
  get steps(): number {
    return this.taken;
  }

  /** The workers' backend, e.g. "wasm 4.22.0". */
  get backend(): string {
    return this.backendLabel;
  }

  /** Parameter names in canonical order (the order of weights() and optimizerState() slots). */
  parameterNames(): string[] {
    return [...this.names];
  }

  /**
   * One optimizer step on a global batch with learning rate `lr`. Equals (up to float summation order) a
   * single-threaded AdamW step on the whole batch's mean loss.
   */
  async step(batch: B, lr: number): Promise<DataParallelStepResult> {
    this.assertUsable();
    if (this.stepping) throw new Error("data-parallel step: the previous step has not finished (await each step; the shared gradient buffers hold one step at a time)");
    this.stepping = true;
    try {
      return await this.runStep(batch, lr);
    } finally {
      this.stepping = false;
    }
  }

  private async runStep(batch: B, lr: number): Promise<DataParallelStepResult> {
    if (!(typeof lr === "number" && Number.isFinite(lr) && lr >= 0)) throw new Error(`data-parallel step: lr must be a finite number >= 0, got ${lr}`);
    const shards = this.kind.split(batch, this.channels.length);
    const weights = shards.map((s) => this.kind.weight(s));
    const total = weights.reduce((a, b) => a + b, 0);
    if (!(total > 0)) throw new Error(`data-parallel step: the batch has no positions to learn from (total ${this.kind.name} weight ${total})`);
    const active = shards.map((_, k) => k).filter((k) => weights[k]! > 0);
    const settled = await Promise.allSettled(active.map((k) => this.channels[k]!.request({ type: "grad", shard: shards[k] })));
    this.assertUsable();
    const failed = settled.find((s) => s.status === "rejected");
    if (failed) throw (failed as PromiseRejectedResult).reason;
    const losses = settled.map((s) => expectType((s as PromiseFulfilledResult<Reply>).value, "grad").loss);
    const coef = active.map((k) => weights[k]! / total);
    const loss = losses.reduce((acc, l, i) => acc + coef[i]! * l, 0);
    const norm = this.average(active, coef);
    if (!Number.isFinite(loss) || !Number.isFinite(norm)) throw new NonFiniteLossError(loss, norm, this.taken);
    const checksum = this.options.checkEvery > 0 && (this.taken + 1) % this.options.checkEvery === 0;
    let applied: Extract<Reply, { type: "applied" }>[];
    try {
      applied = (await Promise.all(this.channels.map((ch) => ch.request({ type: "apply", lr, checksum })))).map((r) => expectType(r, "applied"));
    } catch (err) {
      this.fail(err as Error); // some replicas may have updated and others not
      throw err;
    }
    this.taken++;
    const norms = applied.map((a) => a.gradNorm);
    if (norms.some((n) => !Object.is(n, norms[0]))) this.diverged(`gradient norms ${norms.join(", ")}`);
    if (checksum) {
      const sums = applied.map((a) => a.checksum);
      if (sums.some((s) => s !== sums[0])) this.diverged(`weight checksums ${sums.join(", ")}`);
    }
    return { loss, gradNorm: norms[0]!, weight: total, shards: active.length, step: this.taken };
  }

  /** Weighted average of the active workers' gradients into the shared average buffer; returns its L2 norm. */
  private average(active: number[], coef: number[]): number {
    const out = this.avg;
    let sq = 0;
    if (active.length === 1) {
      out.set(this.grads[active[0]!]!);
      for (let j = 0; j < out.length; j++) sq += out[j]! * out[j]!;
      return Math.sqrt(sq);
    }
    if (active.length === 2) {
      const a = this.grads[active[0]!]!;
      const b = this.grads[active[1]!]!;
      const ca = coef[0]!;
      const cb = coef[1]!;
      for (let j = 0; j < out.length; j++) {
        const g = Math.fround(ca * a[j]! + cb * b[j]!);
        out[j] = g;
        sq += g * g;
      }
      return Math.sqrt(sq);
    }
    for (let j = 0; j < out.length; j++) {
      let s = 0;
      for (let i = 0; i < active.length; i++) s += coef[i]! * this.grads[active[i]!]![j]!;
      const g = Math.fround(s);
      out[j] = g;
      sq += g * g;
    }
    return Math.sqrt(sq);
  }

  /** Current weights (from replica 1), by parameter name. */
  async weights(): Promise<Map<string, Float32Array>> {
    this.assertUsable();
    const r = expectType(await this.channels[0]!.request({ type: "weights" }), "weights");
    return new Map(this.names.map((n, i) => [n, r.arrays[i]!]));
  }

  /** AdamW state (from replica 1), slots in parameterNames() order; pass back as options.optimizerState to resume. */
  async optimizerState(): Promise<AdamWState> {
    this.assertUsable();
    return expectType(await this.channels[0]!.request({ type: "optimizer" }), "optimizer").state;
  }

  /** Checksums of every replica's weights; throws (and makes the trainer unusable) if they differ. */
  async verifyReplicas(): Promise<number> {
    this.assertUsable();
    const sums = (await Promise.all(this.channels.map((ch) => ch.request({ type: "checksum" })))).map((r) => expectType(r, "checksum").checksum);
    if (sums.some((s) => s !== sums[0])) this.diverged(`weight checksums ${sums.join(", ")}`);
    return sums[0]!;
  }

  /** Stops every worker; pending calls reject. Safe to call more than once. */
  async terminate(): Promise<void> {
    if (this.terminated) return;
    this.terminated = true;
    const err = new Error("data-parallel trainer was terminated");
    for (const ch of this.channels) ch.rejectAll(err);
    await Promise.all(this.channels.map((ch) => ch.worker.terminate()));
  }

  private diverged(what: string): never {
    const err = new Error(`data-parallel: replicas diverged at step ${this.taken}: ${what} differ`);
    this.fail(err);
    throw err;
  }

  private fail(err: Error): void {
    if (this.broken || this.terminated) return;
    this.broken = err;
    for (const ch of this.channels) ch.rejectAll(err);
    for (const ch of this.channels) void ch.worker.terminate();
  }

  private assertUsable(): void {
    if (this.terminated) throw new Error("data-parallel trainer was terminated");
    if (this.broken) throw new Error(`data-parallel trainer is unusable after an earlier error: ${this.broken.message}`);
  }
}

function checkedArray(weights: ReadonlyMap<string, Float32Array>, name: string, size: number): Float32Array {
  const a = weights.get(name);
  if (!a) throw new Error(`data-parallel options: initialWeights is missing parameter '${name}'`);
  if (!(a instanceof Float32Array)) throw new Error(`data-parallel options: initialWeights '${name}' must be a Float32Array, got ${a}`);
  if (a.length !== size) throw new Error(`data-parallel options: initialWeights '${name}' has ${a.length} values, expected ${size}`);
  return a;
}

function checkOptimizerState(s: AdamWState, names: string[], sizes: number[]): void {
  if (!Number.isInteger(s.step) || s.step < 0) throw new Error(`data-parallel options: optimizerState.step must be an integer >= 0, got ${s.step}`);
  for (const key of ["m", "v"] as const) {
    if (s[key]?.length !== names.length) throw new Error(`data-parallel options: optimizerState.${key} has ${s[key]?.length} slots, expected ${names.length}`);
    s[key].forEach((a, i) => {
      if (a.length !== sizes[i]) throw new Error(`data-parallel options: optimizerState.${key}[${i}] ('${names[i]}') has ${a.length} values, expected ${sizes[i]}`);
    });
  }
}
