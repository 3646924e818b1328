/**
 * Causal-LM pre-training of a backbone on a token stream, resumable.
 *
 * State lives in `runDir`: `ckpt/` holds weights.safetensors, optimizer.safetensors and state.json (step, tokens
 * seen, wall time, history, options), each written atomically, state.json last, so a run killed at any moment
 * resumes from the last complete checkpoint. The options that define the run (config, seed, batch, schedule) are
 * recorded; resuming with different ones is refused rather than silently mixing two runs.
 */
import { kernelSetLabel } from "../backend/kernels/kernel-set";
import * as fs from "node:fs";
import * as path from "node:path";
import { tf, backendInfo } from "../backend/backend";
import { writeJsonAtomic } from "../io/atomic-write";
import { formatDuration } from "../io/format";
import { readJsonFile } from "../io/json-file";
import { SafeTensor, readSafetensorsFile, writeSafetensorsFile } from "../io/safetensors";
import { lmLoss } from "../backbone/lm-loss";
import { Transformer } from "../backbone/transformer";
import { AdamW } from "../train/adamw";
import { learningRateAt, Schedule } from "../train/schedule";
import { decayFilter } from "../train/weight-decay";
import { TokenBatch, evaluationBatches, trainingBatch } from "./batches";
import { PretrainOptions, checkPretrainOptions, checkPretrainStreams } from "./pretrain-options";

export type { PretrainOptions } from "./pretrain-options";

export interface HistoryPoint {
  readonly step: number;
  readonly tokens: number;
  readonly trainLoss: number;
  readonly valLoss: number;
  readonly seconds: number;
}

export interface PretrainState {
  readonly step: number;
  readonly tokensSeen: number;
  readonly wallSeconds: number;
  readonly history: HistoryPoint[];
  readonly options: PretrainOptions;
  readonly backends: string[];
}

/** A hook that can replace the loss (e.g. knowledge inheritance adds a distillation term). */
export type LossFn = (model: Transformer, batch: TokenBatch, step: number) => tf.Scalar;

export interface PretrainHooks {
  readonly loss?: LossFn;
  readonly log?: (line: string) => void;
  /** called after every evaluation. */
  readonly onEval?: (p: HistoryPoint) => void;
  /** stop (with a checkpoint) when this returns true, checked every step. */
  readonly shouldStop?: () => boolean;
  /**
   * The model a new run starts from instead of a random one (continued pre-training; options.init records which).
   * Ignored when the run resumes from its own checkpoint.
   */
  readonly startFrom?: Transformer;
}

export interface PretrainResult {
  readonly model: Transformer;
  readonly state: PretrainState;
  readonly finished: boolean;
}

const DEFINING_KEYS = [
  "config",
  "seed",
  "steps",
  "batch",
  "length",
  "lr",
  "warmupSteps",
  "minLrRatio",
  "weightDecay",
  "clipNorm",
  "init",
] as const;

function schedule(o: PretrainOptions): Schedule {
  return { kind: "warmup-cosine", lr: o.lr, warmupSteps: o.warmupSteps, totalSteps: o.steps, minRatio: o.minLrRatio };
}

/** Mean next-token loss over fixed validation windows (nats/token). */
export function validationLoss(model: Transformer, batches: readonly TokenBatch[]): number {
  if (batches.length === 0)
    throw new Error("validationLoss: no validation batches (the stream is shorter than one batch)");
  let sum = 0;
  let n = 0;
  for (const b of batches) {
    const l = tf.tidy(() => lmLoss(model, b.ids, b.mask, b.batch, b.length, false).dataSync()[0]!);
    const count = b.batch * (b.length - 1);
    sum += l * count;
    n += count;
  }
  return sum / n;
}

/**
 * Trains `options.steps` steps from the run's last checkpoint (or from scratch), evaluating every evalEvery steps
 * and checkpointing every ckptSeconds; stops early (with a checkpoint) when hooks.shouldStop says so. One loop,
 * ~80 lines on purpose: the step, progress line, evaluation and checkpoint share the run state and its clocks
 * (training wall time excludes evaluation), which split functions would have to pass back and forth.
 */
export async function pretrain(
  runDir: string,
  train: Int32Array,
  val: Int32Array,
  options: PretrainOptions,
  hooks: PretrainHooks = {},
): Promise<PretrainResult> {
  checkPretrainOptions(options);
  checkPretrainStreams(train, val, options);
  const log = hooks.log ?? ((l: string) => process.stderr.write(l + "\n"));
  const ckptDir = path.join(runDir, "ckpt");
  if ((hooks.startFrom === undefined) !== (options.init === undefined))
    throw new Error("pretrain: options.init (which checkpoint) and hooks.startFrom (its model) go together");
  const run = startRun(ckptDir, options, hooks.startFrom);
  const { model, names, opt } = run;
  let state = run.state;
  if (run.resumed)
    log(`resumed ${runDir} at step ${state.step} (${state.tokensSeen} tokens, ${state.wallSeconds.toFixed(0)} s)`);
  const evalSet = evaluationBatches(val, options.batch, options.length, options.evalTokens);
  const lossFn: LossFn = hooks.loss ?? ((m, b) => lmLoss(m, b.ids, b.mask, b.batch, b.length, true));

  const save = () => {
    saveRunState(ckptDir, model, names, opt, state);
  };
  let lastSave = Date.now();
  let sessionStart = Date.now();
  let windowStart = Date.now();
  let windowTokens = 0;
  let trainLossEma = NaN;
  let stopped = false;

  while (state.step < options.steps) {
    // Yield to the event loop once per step so signal handlers (SIGINT/SIGTERM -> checkpoint and stop) can run.
    await new Promise<void>((resolve) => setImmediate(resolve));
    if (hooks.shouldStop?.()) {
      stopped = true;
      break;
    }
    const step = state.step;
    const batch = trainingBatch(train, options.seed, step, options.batch, options.length);
    const lr = learningRateAt(schedule(options), step);
    const { loss } = opt.step(() => lossFn(model, batch, step), lr);
    trainLossEma = Number.isNaN(trainLossEma) ? loss : 0.95 * trainLossEma + 0.05 * loss;
    const now = Date.now();
    const tokens = batch.batch * batch.length;
    windowTokens += tokens;
    state = {
      ...state,
      step: step + 1,
      tokensSeen: state.tokensSeen + tokens,
      wallSeconds: state.wallSeconds + (now - sessionStart) / 1000,
    };
    sessionStart = now;
    if ((step + 1) % options.logEvery === 0) {
      const secs = (now - windowStart) / 1000;
      const tps = windowTokens / secs;
      const eta = ((options.steps - state.step) * options.batch * options.length) / tps;
      log(
        `step ${state.step}/${options.steps}  loss ${loss.toFixed(3)} (ema ${trainLossEma.toFixed(3)})  lr ${lr.toExponential(2)}  ` +
          `${tps.toFixed(0)} tok/s  ETA ${formatDuration(eta)}`,
      );
      windowStart = now;
      windowTokens = 0;
    }
    const last = state.step === options.steps;
    if (state.step % options.evalEvery === 0 || last) {
      const valLoss = validationLoss(model, evalSet);
      const point = {
        step: state.step,
        tokens: state.tokensSeen,
        trainLoss: trainLossEma,
        valLoss,
        seconds: state.wallSeconds,
      };
      state = { ...state, history: [...state.history, point] };
      log(`eval step ${state.step}: val loss ${valLoss.toFixed(4)}  ppl ${Math.exp(valLoss).toFixed(2)}`);
      hooks.onEval?.(point);
      sessionStart = Date.now(); // evaluation time is not training wall time
      windowStart = sessionStart;
      windowTokens = 0;
    }
    if (last || Date.now() - lastSave > options.ckptSeconds * 1000) {
      save();
      lastSave = Date.now();
    }
  }
  if (stopped) save();
  opt.dispose();
  return { model, state, finished: state.step >= options.steps };
}

/** The model, optimizer and state a run starts from: its last checkpoint in `ckptDir`, else a fresh model. */
function startRun(
  ckptDir: string,
  options: PretrainOptions,
  startFrom: Transformer | undefined,
): { model: Transformer; names: string[]; opt: AdamW; state: PretrainState; resumed: boolean } {
  const resumed = loadRunState(ckptDir, options);
  const model = resumed ? resumed.model : (startFrom ?? Transformer.create(options.config, options.seed));
  model.setActivationCheckpointing(options.checkpoint ?? false);
  const opt = new AdamW(
    model.variables(),
    { weightDecay: options.weightDecay, clipNorm: options.clipNorm, beta2: 0.99 },
    decayFilter(model.variables()),
  );
  if (resumed) opt.restore(resumed.optimizer);
  let state: PretrainState = resumed?.state ?? {
    step: 0,
    tokensSeen: 0,
    wallSeconds: 0,
    history: [],
    options,
    backends: [],
  };
  const backend = `${backendInfo().name} ${backendInfo().version} + ${kernelSetLabel()} kernels`;
  if (!state.backends.includes(backend)) state = { ...state, backends: [...state.backends, backend] };
  return { model, names: model.names(), opt, state, resumed: resumed !== null };
}

function definingPart(o: PretrainOptions): string {
  const picked: Record<string, unknown> = {};
  for (const k of DEFINING_KEYS) picked[k] = o[k];
  return JSON.stringify(picked);
}

function saveRunState(dir: string, model: Transformer, names: string[], opt: AdamW, state: PretrainState): void {
  fs.mkdirSync(dir, { recursive: true });
  const weights: Record<string, SafeTensor> = {};
  const moments: Record<string, SafeTensor> = {};
  const os = opt.state();
  names.forEach((name, i) => {
    const v = model.param(name);
    weights[name] = { dtype: "F32", shape: [...v.shape], data: Float32Array.from(v.dataSync() as Float32Array) };
    moments[`m.${name}`] = { dtype: "F32", shape: [...v.shape], data: os.m[i]! };
    moments[`v.${name}`] = { dtype: "F32", shape: [...v.shape], data: os.v[i]! };
  });
  // Step-stamped files, then state.json pointing at them: a kill between writes leaves the previous set usable.
  const tag = String(state.step).padStart(8, "0");
  writeSafetensorsFile(path.join(dir, `weights-${tag}.safetensors`), weights);
  writeSafetensorsFile(path.join(dir, `optimizer-${tag}.safetensors`), moments, { step: String(os.step) });
  writeJsonAtomic(path.join(dir, "state.json"), {
    ...state,
    files: { weights: `weights-${tag}.safetensors`, optimizer: `optimizer-${tag}.safetensors` },
  });
  for (const f of fs.readdirSync(dir)) {
    if (/^(weights|optimizer)-\d{8}\.safetensors$/.test(f) && !f.includes(tag))
      fs.rmSync(path.join(dir, f), { force: true });
  }
}

function loadRunState(
  dir: string,
  options: PretrainOptions,
): {
  model: Transformer;
  optimizer: { step: number; m: Float32Array[]; v: Float32Array[] };
  state: PretrainState;
} | null {
  const statePath = path.join(dir, "state.json");
  if (!fs.existsSync(statePath)) return null;
  const raw = readJsonFile(statePath) as PretrainState & { files: { weights: string; optimizer: string } };
  if (definingPart(raw.options) !== definingPart(options)) {
    throw new Error(
      `${statePath}: this run was started with different settings:\n  recorded ${definingPart(raw.options)}\n  requested ${definingPart(options)}\n` +
        `use another --run-dir, or delete ${dir} to start over`,
    );
  }
  const weights = readSafetensorsFile(path.join(dir, raw.files.weights)).tensors;
  const arrays = new Map<string, Float32Array>();
  for (const [k, t] of Object.entries(weights)) arrays.set(k, t.data as Float32Array);
  const model = Transformer.fromArrays(options.config, arrays);
  const opt = readSafetensorsFile(path.join(dir, raw.files.optimizer));
  const names = model.names();
  const optimizer = {
    step: Number(opt.metadata["step"]),
    m: names.map((n) => opt.tensors[`m.${n}`]!.data as Float32Array),
    v: names.map((n) => opt.tensors[`v.${n}`]!.data as Float32Array),
  };
  const { files: _files, ...state } = raw;
  return { model, optimizer, state: { ...state, options } };
}
