/**
 * Decoder-only, pre-LayerNorm transformer (GPT-2 layout) on tfjs ops.
 *
 *   ids [B, T] --embed--> [B, T, D] --(+ soft prompts, spliced by the caller)--> forwardEmbeddings(x, mask)
 *   --> hidden [B, T, D] --logits--> [N, V] (output matrix tied to the token embedding)
 *
 * Weight names and layouts follow GPT-2's checkpoints (weights stored [in, out]), so a GPT-2-style safetensors
 * file maps onto this class by name. All matmuls in forward and backward go through `linear` (fast 2D path);
 * the token-embedding gradient goes through `embeddingLookup` (wasm has no UnsortedSegmentSum kernel).
 *
 * freeze() marks every variable non-trainable AND switches every op to its no-weight-gradient form, so under
 * prompt tuning no backbone weight gradient is ever computed, and an optimizer handed these variables refuses
 * (AdamW and Adafactor refuse non-trainable variables; assertBackboneExcluded in lib/tuning/method.ts refuses a
 * trainable set that holds a backbone variable).
 *
 * Activation checkpointing (ForwardOptions.checkpoint, or the model default setActivationCheckpointing): each
 * block becomes one custom op that keeps only its input for the backward pass and re-runs the block there (as
 * torch.utils.checkpoint does), trading one extra forward pass per block for not holding every block's
 * intermediates at once. See checkpointedBlock.
 */
import { tf } from "../backend/backend";
import { Rng, normalArray } from "../backend/random";
import { customOp } from "../backend/custom-op";
import { embeddingLookup } from "../backend/embedding";
import { linear } from "../backend/linear";
import { activate } from "./activation";
import { attentionMask, selfAttention, type AttentionMask } from "./attention";
import { TransformerConfig, resolveConfig } from "./config";
import { layerNorm } from "./layer-norm";

export interface ParamSpec {
  readonly shape: readonly number[];
}

/** Names and shapes of every parameter, in a fixed order. */
export function parameterSpec(c: TransformerConfig): Map<string, ParamSpec> {
  const d = c.dModel;
  const spec = new Map<string, ParamSpec>();
  spec.set("wte.weight", { shape: [c.vocabSize, d] });
  spec.set("wpe.weight", { shape: [c.maxLen, d] });
  for (let i = 0; i < c.nLayers; i++) {
    const p = `h.${i}.`;
    spec.set(p + "ln_1.weight", { shape: [d] });
    spec.set(p + "ln_1.bias", { shape: [d] });
    spec.set(p + "attn.c_attn.weight", { shape: [d, 3 * d] });
    spec.set(p + "attn.c_attn.bias", { shape: [3 * d] });
    spec.set(p + "attn.c_proj.weight", { shape: [d, d] });
    spec.set(p + "attn.c_proj.bias", { shape: [d] });
    spec.set(p + "ln_2.weight", { shape: [d] });
    spec.set(p + "ln_2.bias", { shape: [d] });
    spec.set(p + "mlp.c_fc.weight", { shape: [d, c.dFF] });
    spec.set(p + "mlp.c_fc.bias", { shape: [c.dFF] });
    spec.set(p + "mlp.c_proj.weight", { shape: [c.dFF, d] });
    spec.set(p + "mlp.c_proj.bias", { shape: [d] });
  }
  spec.set("ln_f.weight", { shape: [d] });
  spec.set("ln_f.bias", { shape: [d] });
  return spec;
}

/** GPT-2 initialisation: N(0, 0.02), residual projections scaled by 1/sqrt(2 L), LayerNorm 1/0, biases 0. */
function initialValue(name: string, shape: readonly number[], c: TransformerConfig, rng: Rng): Float32Array {
  const size = shape.reduce((a, b) => a * b, 1);
  if (/ln_\w+\.weight$/.test(name)) return new Float32Array(size).fill(1);
  if (name.endsWith(".bias")) return new Float32Array(size);
  const std = name.endsWith("c_proj.weight") ? 0.02 / Math.sqrt(2 * c.nLayers) : 0.02;
  return normalArray(rng, size, std);
}

export interface ForwardOptions {
  /** Position id of every input row, [B*T]; default: count of real (mask = 1) tokens before it. */
  readonly positions?: Int32Array;
  /** Apply dropout (only if config.dropout > 0). */
  readonly training?: boolean;
  /**
   * Called with the residual stream [B*T, D] entering block `layer` (1 .. nLayers-1) and returns the stream to
   * use instead: deep prompts (P-tuning v2) overwrite their positions with per-layer trainable vectors here.
   */
  readonly layerHook?: (layer: number, h: tf.Tensor2D) => tf.Tensor2D;
  /**
   * Activation checkpointing: keep only each block's input for the backward pass and recompute the block during
   * backprop (less peak memory, one extra block forward per block in the backward pass). Same values and
   * gradients as without. Default: the model's setting (setActivationCheckpointing), itself off by default.
   */
  readonly checkpoint?: boolean;
}

/** The per-block parameters, by their name after `h.<i>.`, in the order a checkpointed block takes them. */
const BLOCK_PARAMS = [
  "ln_1.weight",
  "ln_1.bias",
  "attn.c_attn.weight",
  "attn.c_attn.bias",
  "attn.c_proj.weight",
  "attn.c_proj.bias",
  "ln_2.weight",
  "ln_2.bias",
  "mlp.c_fc.weight",
  "mlp.c_fc.bias",
  "mlp.c_proj.weight",
  "mlp.c_proj.bias",
] as const;

/** One block's weights, in BLOCK_PARAMS order. */
type BlockWeights = readonly tf.Tensor[];

interface BlockDims {
  readonly batch: number;
  readonly length: number;
  readonly heads: number;
}

/** Dropout of a block's attention (0) or MLP (1) output; the identity when dropout is off. */
type BlockDropout = (m: tf.Tensor2D, which: 0 | 1) => tf.Tensor2D;

export class Transformer {
  readonly config: TransformerConfig;
  private readonly params: Map<string, tf.Variable>;
  private isFrozen = false;
  private checkpointByDefault = false;
  private frozenOutputT: tf.Tensor2D | null = null;

  private constructor(config: TransformerConfig, params: Map<string, tf.Variable>) {
    this.config = config;
    this.params = params;
  }

  /** A freshly initialised model; the same seed gives the same weights on every backend. */
  static create(config: Partial<TransformerConfig>, seed: number): Transformer {
    const c = resolveConfig(config);
    const rng = new Rng(seed);
    const params = new Map<string, tf.Variable>();
    for (const [name, { shape }] of parameterSpec(c)) {
      const value = tf.tensor(initialValue(name, shape, c, rng), shape as number[], "float32");
      params.set(name, tf.variable(value, true, `kit/${name}/${seed}/${uniqueTag()}`));
      value.dispose();
    }
    return new Transformer(c, params);
  }

  /**
   * Builds a model from named arrays (e.g. a loaded checkpoint). Every name in parameterSpec must be present with
   * its exact shape; the caller (checkpoint loader) is responsible for file-level messages.
   */
  static fromArrays(config: TransformerConfig, arrays: ReadonlyMap<string, Float32Array>): Transformer {
    const c = resolveConfig(config);
    const params = new Map<string, tf.Variable>();
    for (const [name, { shape }] of parameterSpec(c)) {
      const data = arrays.get(name);
      if (!data) throw new Error(`missing parameter '${name}'`);
      const size = shape.reduce((a, b) => a * b, 1);
      if (data.length !== size) throw new Error(`parameter '${name}' has ${data.length} values, expected ${size}`);
      const value = tf.tensor(data, shape as number[], "float32");
      params.set(name, tf.variable(value, true, `kit/${name}/${uniqueTag()}`));
      value.dispose();
    }
    return new Transformer(c, params);
  }

  /** Parameter names in canonical order. */
  names(): string[] {
    return [...this.params.keys()];
  }

  /** The variable for one parameter. */
  param(name: string): tf.Variable {
    const v = this.params.get(name);
    if (!v) throw new Error(`no parameter named '${name}'`);
    return v;
  }

  /** All variables, in canonical order. */
  variables(): tf.Variable[] {
    return [...this.params.values()];
  }

  /** Total number of scalar parameters. */
  paramCount(): number {
    let n = 0;
    for (const v of this.params.values()) n += v.size;
    return n;
  }

  get frozen(): boolean {
    return this.isFrozen;
  }

  /** Marks every weight non-trainable; ops stop computing weight gradients. */
  freeze(): void {
    for (const v of this.params.values()) v.trainable = false;
    this.isFrozen = true;
  }

  /** Makes every weight trainable again. */
  unfreeze(): void {
    for (const v of this.params.values()) v.trainable = true;
    this.isFrozen = false;
    this.frozenOutputT?.dispose();
    this.frozenOutputT = null;
  }

  /** Whether forward passes that do not say otherwise (ForwardOptions.checkpoint) use activation checkpointing. */
  get activationCheckpointing(): boolean {
    return this.checkpointByDefault;
  }

  /**
   * Sets the activation-checkpointing default of every forward pass through this model, so callers deep inside
   * tuning methods (rank scorer, LM loss, pre-training) honour it without threading a flag.
   */
  setActivationCheckpointing(on: boolean): void {
    if (typeof on !== "boolean") throw new Error(`setActivationCheckpointing: expected a boolean, got ${JSON.stringify(on)}`);
    this.checkpointByDefault = on;
  }

  /** Token embeddings: ids (B*T, row-major) -> [B, T, D]. */
  embed(ids: Int32Array, batch: number, length: number): tf.Tensor3D {
    if (ids.length !== batch * length) {
      throw new Error(`embed: ${ids.length} ids do not form a [${batch}, ${length}] batch`);
    }
    const rows = embeddingLookup(ids, this.param("wte.weight") as tf.Tensor2D, { tableGrad: !this.isFrozen });
    return tf.reshape(rows, [batch, length, this.config.dModel]);
  }

  /**
   * Runs the blocks from input embeddings. x: [B, T, D]; mask: B*T flags (1 = real token or prompt vector,
   * 0 = padding). Returns the final-LayerNorm hidden states [B, T, D].
   */
  forwardEmbeddings(x: tf.Tensor3D, mask: ArrayLike<number>, opts: ForwardOptions = {}): tf.Tensor3D {
    const c = this.config;
    const [b, t, d] = x.shape;
    if (d !== c.dModel) throw new Error(`forwardEmbeddings: width ${d} != model width ${c.dModel}`);
    if (t > c.maxLen) throw new Error(`forwardEmbeddings: length ${t} exceeds maxLen ${c.maxLen}`);
    if (mask.length !== b * t) throw new Error(`forwardEmbeddings: mask has ${mask.length} entries, expected ${b * t}`);
    const positions = opts.positions ?? positionsFromMask(mask, b, t);
    if (positions.length !== b * t) {
      throw new Error(`forwardEmbeddings: positions have ${positions.length} entries, expected ${b * t}`);
    }
    const weightGrad = !this.isFrozen;
    const checkpoint = opts.checkpoint ?? this.checkpointByDefault;
    if (typeof checkpoint !== "boolean") throw new Error(`forwardEmbeddings: checkpoint must be a boolean, got ${JSON.stringify(checkpoint)}`);
    // Dropout masks come from per-call seeds, so a recomputed (checkpointed) block draws the same mask as its
    // forward pass did. Seeds are drawn in the same order with and without checkpointing.
    const dropping = opts.training === true && c.dropout > 0;
    const seededDrop = (m: tf.Tensor2D, seed: number) => tf.dropout(m, c.dropout, undefined, seed) as tf.Tensor2D;
    const pos = embeddingLookup(positions, this.param("wpe.weight") as tf.Tensor2D, { tableGrad: weightGrad });
    let h = tf.add(tf.reshape(x, [b * t, d]), pos) as tf.Tensor2D; // [B*T, D]
    if (dropping) h = seededDrop(h, dropoutSeed());
    const bias = attentionMask(mask, b, t);
    const dims: BlockDims = { batch: b, length: t, heads: c.nHeads };
    // The mask, copied: a checkpointed block rebuilds the attention mask from it in the backward pass (the
    // forward's mask tensor is gone by then), and the caller may reuse its array.
    const maskCopy = checkpoint ? Float32Array.from(mask) : null;
    for (let i = 0; i < c.nLayers; i++) {
      if (i > 0 && opts.layerHook) h = opts.layerHook(i, h);
      let drop: BlockDropout = (m) => m;
      if (dropping) {
        const seeds = [dropoutSeed(), dropoutSeed()] as const;
        drop = (m, which) => seededDrop(m, seeds[which]);
      }
      const w = this.blockWeights(i);
      h = maskCopy
        ? this.checkpointedBlock(h, w, bias, maskCopy, dims, weightGrad, drop)
        : this.block(h, w, bias, dims, weightGrad, drop);
    }
    const p = (name: string) => this.param(name) as tf.Tensor;
    const out = layerNorm(h, p("ln_f.weight") as tf.Tensor1D, p("ln_f.bias") as tf.Tensor1D, c.lnEps, { paramGrad: weightGrad });
    return tf.reshape(out, [b, t, d]);
  }

  /** Block i's weights in BLOCK_PARAMS order. */
  private blockWeights(i: number): BlockWeights {
    return BLOCK_PARAMS.map((name) => this.param(`h.${i}.${name}`));
  }

  /** One pre-LN block: h + attn(ln_1(h)), then + mlp(ln_2(.)). h: [B*T, D] -> [B*T, D]. */
  private block(h: tf.Tensor2D, w: BlockWeights, bias: AttentionMask, dims: BlockDims, weightGrad: boolean, drop: BlockDropout): tf.Tensor2D {
    const c = this.config;
    const [ln1W, ln1B, qkvW, qkvB, projW, projB, ln2W, ln2B, fcW, fcB, outW, outB] = w;
    const a = layerNorm(h, ln1W as tf.Tensor1D, ln1B as tf.Tensor1D, c.lnEps, { paramGrad: weightGrad });
    const attn = selfAttention(
      a,
      { qkvW: qkvW as tf.Tensor2D, qkvB: qkvB as tf.Tensor1D, projW: projW as tf.Tensor2D, projB: projB as tf.Tensor1D },
      bias,
      dims,
      weightGrad,
    );
    const mid = tf.add(h, drop(attn, 0)) as tf.Tensor2D;
    const m = layerNorm(mid, ln2W as tf.Tensor1D, ln2B as tf.Tensor1D, c.lnEps, { paramGrad: weightGrad });
    const up = linear(m, fcW as tf.Tensor2D, fcB as tf.Tensor1D, { weightGrad });
    const down = linear(activate(up, c.activation), outW as tf.Tensor2D, outB as tf.Tensor1D, { weightGrad });
    return tf.add(mid, drop(down, 1)) as tf.Tensor2D;
  }

  /**
   * The block as one custom op whose inputs are [h] (frozen backbone: the weights are constants, closed over) or
   * [h, ...the block's 12 weights] (trainable). Its forward runs the block inside tf.customGrad, which records no
   * inner op on the tape, so the block's intermediates are freed as soon as it returns; only a copy of h is saved.
   * Its gradient re-runs the block under tf.grads with the upstream dy, giving d(h) (and d(weights)). The
   * recomputation uses the same weights, the same dropout seeds and an attention bias rebuilt from the same mask,
   * so it reproduces the forward pass exactly.
   */
  private checkpointedBlock(
    h: tf.Tensor2D,
    w: BlockWeights,
    bias: AttentionMask,
    mask: Float32Array,
    dims: BlockDims,
    weightGrad: boolean,
    drop: BlockDropout,
  ): tf.Tensor2D {
    const run = (hIn: tf.Tensor2D, ws: BlockWeights, biasIn: AttentionMask) => this.block(hIn, ws, biasIn, dims, weightGrad, drop);
    const op = customOp<tf.Tensor[], tf.Tensor2D>((inputs, save) => {
      save([inputs[0]!]);
      return {
        value: run(inputs[0] as tf.Tensor2D, weightGrad ? inputs.slice(1) : w, bias),
        grad: (dy, [hSaved]) =>
          tf.tidy(() => {
            const biasAgain = attentionMask(mask, dims.batch, dims.length);
            const xs = weightGrad ? [hSaved!, ...w] : [hSaved!];
            const f = (...args: tf.Tensor[]) => run(args[0] as tf.Tensor2D, weightGrad ? args.slice(1) : w, biasAgain);
            return gradientsInsideBackward(() => tf.grads(f)(xs, dy));
          }),
      };
    });
    return weightGrad ? op(h, ...w) : op(h);
  }

  /** LM logits for hidden rows: [N, D] -> [N, V], using the tied token-embedding matrix. */
  logits(hidden: tf.Tensor2D): tf.Tensor2D {
    return linear(hidden, this.outputMatrix(), null, { weightGrad: !this.isFrozen });
  }

  /** E^T [D, V]; cached while frozen (the transpose is then a constant). */
  private outputMatrix(): tf.Tensor2D {
    const e = this.param("wte.weight") as tf.Tensor2D;
    if (!this.isFrozen) return tf.transpose(e);
    if (!this.frozenOutputT) this.frozenOutputT = tf.keep(tf.tidy(() => tf.transpose(e)));
    return this.frozenOutputT;
  }

  /** Releases every variable. */
  dispose(): void {
    for (const v of this.params.values()) v.dispose();
    this.params.clear();
    this.frozenOutputT?.dispose();
    this.frozenOutputT = null;
  }
}

/** Position of each row = number of real tokens before it in its sequence (padding does not advance it). */
export function positionsFromMask(mask: ArrayLike<number>, batch: number, length: number): Int32Array {
  const out = new Int32Array(batch * length);
  for (let b = 0; b < batch; b++) {
    let n = 0;
    for (let t = 0; t < length; t++) {
      if (mask[b * length + t]) out[b * length + t] = n++;
      else out[b * length + t] = Math.max(0, n - 1);
    }
  }
  return out;
}

/** A fresh dropout seed (tf.dropout's own default also draws from Math.random). */
function dropoutSeed(): number {
  return Math.floor(Math.random() * 0x7fffffff);
}

/**
 * Runs `f` (which calls tf.grads) from inside a gradient function, i.e. while the engine is back-propagating an
 * outer tape. tfjs 4.x's engine.gradients starts a fresh tape when no tape is recording (true during backprop, the
 * outer tape having ended) and sets `activeTape` to null when done, which drops the outer tape: the outer
 * gradients() then fails on its final cleanup ("Cannot read properties of null (reading 'forEach')") and the
 * outer tape's saved tensors would never be freed. Restoring the outer tape afterwards makes the nested call
 * self-contained: it frees its own saved tensors and leaves the outer backward pass as it found it.
 */
function gradientsInsideBackward<T>(f: () => T): T {
  const state = tf.engine().state;
  const outer = state.activeTape;
  try {
    return f();
  } finally {
    state.activeTape = outer;
  }
}

let tagCounter = 0;
function uniqueTag(): number {
  return tagCounter++;
}
