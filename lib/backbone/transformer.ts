/**
 * Decoder-only transformer on tfjs ops: one interface for every architecture family (GPT-2, Llama, GPT-NeoX; see
 * family.ts and families/), so callers never depend on which family runs underneath.
 *
 *   ids [B, T] --embed--> [B, T, D] --(+ soft prompts, spliced by the caller)--> forwardEmbeddings(x, mask)
 *   --> hidden [B, T, D] --logits--> [N, V] (output matrix tied to the token embedding, or an untied head)
 *
 * Weight names follow each family's Hugging Face checkpoints (without the model prefix); linear weights are held
 * [in, out] (checkpoint.ts transposes nn.Linear [out, in] tensors on load and save). All matmuls in forward and backward go through `linear` (fast 2D path);
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
import { Rng } from "../backend/random";
import { customOp } from "../backend/custom-op";
import { gradientsInsideBackward, recordingGradients } from "../backend/nested-gradients";
import { embeddingLookup } from "../backend/embedding";
import { linear, linearTransposed, transposedInPlace } from "../backend/linear";
import { attentionMask } from "./attention";
import { TransformerConfig, arch, resolveConfig } from "./config";
import type { BlockAux, BlockContext, BlockDims, BlockDropout, FamilyDef, ParamSpec } from "./family";
import { familyOf } from "./families";
import {
  prefixPositions,
  withCapture,
  withLayerPrefix,
  type KvCapture,
  type KvPrefix,
  type LayerPrefix,
} from "./kv-prefix";
import { rotaryTables } from "./rotary";
import type { ExpertSource } from "./moe/expert-source";
import { currentProbe } from "./moe/moe-probe";

/** One block's weights, in the family's blockParams order. */
type BlockWeights = readonly tf.Tensor[];

export type { ParamSpec } from "./family";

/** Names and shapes of every parameter, in a fixed order (the family's names; see family.ts). */
export function parameterSpec(c: TransformerConfig): Map<string, ParamSpec> {
  return familyOf(c).spec(c);
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
   * Key/value prefixes (prefix tuning, kv-prefix.ts): P extra keys and values at every layer that every real query
   * attends to. They take no positions; the real tokens take the `positions` option when given, else 0.. over the
   * real tokens, shifted by P when the prefix says "after-prefix" (kv-prefix.ts prefixPositions).
   */
  readonly prefix?: KvPrefix;
  /**
   * Called at every layer with its own keys (after rotary) and values [B*T, Hkv * dh], e.g. to start prefixes from
   * real tokens' activations (Li & Liang 2021). Not with activation checkpointing.
   */
  readonly captureKv?: KvCapture;
  /**
   * Activation checkpointing: keep only each block's input for the backward pass and recompute the block during
   * backprop (less peak memory, one extra block forward per block in the backward pass). Same values and
   * gradients as without. Default: the model's setting (setActivationCheckpointing), itself off by default.
   */
  readonly checkpoint?: boolean;
}

export class Transformer {
  readonly config: TransformerConfig;
  /** the architecture family's layout and math (see family.ts). */
  readonly family: FamilyDef;
  private readonly params: Map<string, tf.Variable>;
  private isFrozen = false;
  private checkpointByDefault = false;
  private frozenOutputT: tf.Tensor2D | null = null;
  /** parameters deliberately not held (offloaded experts: moe/offload.ts), skipped in block weight lists. */
  private readonly omitted: ReadonlySet<string>;
  private expertSource: ExpertSource | null = null;

  private constructor(config: TransformerConfig, params: Map<string, tf.Variable>, omitted: ReadonlySet<string>) {
    this.config = config;
    this.family = familyOf(config);
    this.params = params;
    this.omitted = omitted;
  }

  /** A freshly initialised model; the same seed gives the same weights on every backend. */
  static create(config: Partial<TransformerConfig>, seed: number): Transformer {
    const c = resolveConfig(config);
    const rng = new Rng(seed);
    const params = new Map<string, tf.Variable>();
    const family = familyOf(c);
    for (const [name, { shape }] of parameterSpec(c)) {
      const value = tf.tensor(family.initialValue(name, shape, c, rng), shape as number[], "float32");
      params.set(name, tf.variable(value, true, `kit/${name}/${seed}/${uniqueTag()}`));
      value.dispose();
    }
    return new Transformer(c, params, new Set());
  }

  /**
   * Builds a model from named arrays (e.g. a loaded checkpoint). Every name in parameterSpec must be present with
   * its exact shape; the caller (checkpoint loader) is responsible for file-level messages.
   */
  static fromArrays(config: TransformerConfig, arrays: ReadonlyMap<string, Float32Array>): Transformer {
    return Transformer.fromSource(config, (name) => arrays.get(name));
  }

  /**
   * Builds a model asking `source` for one parameter at a time (in canonical order), so a loader can read,
   * convert and hand over each tensor and drop its own copy before the next: peak memory is the model plus one
   * tensor. Every parameter must come back with its exact size; on any failure the variables made so far are freed.
   */
  static fromSource(
    config: TransformerConfig,
    source: (name: string, spec: ParamSpec) => Float32Array | undefined,
    opts: { omit?: (name: string) => boolean } = {},
  ): Transformer {
    const c = resolveConfig(config);
    const params = new Map<string, tf.Variable>();
    const omitted = new Set<string>();
    try {
      for (const [name, spec] of parameterSpec(c)) {
        if (opts.omit?.(name)) omitted.add(name);
        else params.set(name, Transformer.variableFrom(name, spec, source(name, spec)));
      }
    } catch (err) {
      for (const v of params.values()) v.dispose();
      throw err;
    }
    return new Transformer(c, params, omitted);
  }

  /** Where MoE blocks fetch the expert weights this model omits (moe/offload.ts); null: they are held here. */
  get experts(): ExpertSource | null {
    return this.expertSource;
  }

  setExpertSource(source: ExpertSource | null): void {
    this.expertSource = source;
  }

  private static variableFrom(name: string, { shape }: ParamSpec, data: Float32Array | undefined): tf.Variable {
    {
      if (!data) throw new Error(`missing parameter '${name}'`);
      const size = shape.reduce((a, b) => a * b, 1);
      if (data.length !== size) throw new Error(`parameter '${name}' has ${data.length} values, expected ${size}`);
      const value = tf.tensor(data, shape as number[], "float32");
      const v = tf.variable(value, true, `kit/${name}/${uniqueTag()}`);
      value.dispose();
      return v;
    }
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
    if (typeof on !== "boolean")
      throw new Error(`setActivationCheckpointing: expected a boolean, got ${JSON.stringify(on)}`);
    this.checkpointByDefault = on;
  }

  /** The token-embedding table [V, D] (whatever the family calls it). */
  tokenEmbedding(): tf.Variable {
    return this.param(this.family.embedName);
  }

  /** Token embeddings: ids (B*T, row-major) -> [B, T, D]. */
  embed(ids: Int32Array, batch: number, length: number): tf.Tensor3D {
    if (ids.length !== batch * length) {
      throw new Error(`embed: ${ids.length} ids do not form a [${batch}, ${length}] batch`);
    }
    const rows = embeddingLookup(ids, this.tokenEmbedding() as tf.Tensor2D, { tableGrad: !this.isFrozen });
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
    const positions = opts.positions ?? prefixPositions(positionsFromMask(mask, b, t), opts.prefix, c.maxLen);
    if (positions.length !== b * t) {
      throw new Error(`forwardEmbeddings: positions have ${positions.length} entries, expected ${b * t}`);
    }
    const weightGrad = !this.isFrozen;
    const checkpoint = opts.checkpoint ?? this.checkpointByDefault;
    if (typeof checkpoint !== "boolean")
      throw new Error(`forwardEmbeddings: checkpoint must be a boolean, got ${JSON.stringify(checkpoint)}`);
    // Dropout masks come from per-call seeds, so a recomputed (checkpointed) block draws the same mask as its
    // forward pass did. Seeds are drawn in the same order with and without checkpointing.
    const dropping = opts.training === true && c.dropout > 0;
    const seededDrop = (m: tf.Tensor2D, seed: number) => tf.dropout(m, c.dropout, undefined, seed) as tf.Tensor2D;
    let h = tf.reshape(x, [b * t, d]) as tf.Tensor2D; // [B*T, D]
    if (this.family.positionName) {
      const pos = embeddingLookup(positions, this.param(this.family.positionName) as tf.Tensor2D, {
        tableGrad: weightGrad,
      });
      h = tf.add(h, pos) as tf.Tensor2D;
    }
    if (dropping) h = seededDrop(h, dropoutSeed());
    // The mask and positions, copied: a checkpointed block rebuilds the attention mask and rotary tables from them
    // in the backward pass (the forward's tensors are gone by then), and the caller may reuse its arrays.
    const maskCopy = Float32Array.from(mask);
    const posCopy = Int32Array.from(positions);
    const prefix = opts.prefix;
    if (prefix && !(Number.isInteger(prefix.length) && prefix.length > 0))
      throw new Error(`forwardEmbeddings: prefix length must be a positive integer, got ${prefix.length}`);
    if (opts.captureKv && checkpoint)
      throw new Error("forwardEmbeddings: captureKv does not work with activation checkpointing");
    const makeAux = () => this.blockAux(maskCopy, posCopy, b, t, prefix?.length ?? 0);
    const aux = makeAux();
    const dims: BlockDims = { batch: b, length: t, heads: c.nHeads };
    // Inference (no tape, no key/value capture, no MoE probe collecting aux losses): each block runs in its own
    // tidy scope, so its intermediates are freed when it returns instead of when the caller's scope ends. An
    // eval pass then holds one block's activations at a time (it held all of them before: 20 MB of a 50 MB
    // kit-moe eval pass at 4 x 64 tokens).
    const scoped = !recordingGradients() && !opts.captureKv && currentProbe() === null;
    const runBlock = (f: () => tf.Tensor2D) => (scoped ? tf.tidy(f) : f());
    for (let i = 0; i < c.nLayers; i++) {
      if (i > 0 && opts.layerHook) h = opts.layerHook(i, h);
      let drop: BlockDropout = (m) => m;
      if (dropping) {
        const seeds = [dropoutSeed(), dropoutSeed()] as const;
        drop = (m, which) => seededDrop(m, seeds[which]);
      }
      const w = this.blockWeights(i);
      const pre = prefix ? prefix.layer(i) : null;
      const ctx: BlockContext = { config: c, dims, aux, weightGrad, drop, layer: i, experts: this.expertSource };
      const input = h;
      h = runBlock(() =>
        checkpoint
          ? this.checkpointedBlock(input, w, ctx, makeAux, pre)
          : this.family.block(input, w, { ...ctx, aux: withCapture(withLayerPrefix(aux, pre), i, opts.captureKv) }),
      );
    }
    const out = this.family.finalNormApply(
      h,
      this.family.finalNorm.map((n) => this.param(n)),
      c,
      weightGrad,
    );
    return tf.reshape(out, [b, t, d]);
  }

  /** Block i's weights in the family's blockParams order. */
  private blockWeights(i: number): BlockWeights {
    const f = this.family;
    const names = f.blockParamsAt ? f.blockParamsAt(this.config, i) : f.blockParams(this.config);
    const full = names.map((name) => `${f.blockPrefix}${i}.${name}`);
    return full.filter((n) => !this.omitted.has(n)).map((n) => this.param(n));
  }

  /** The attention mask (and rotary tables) every block of one forward pass shares. */
  private blockAux(
    mask: Float32Array,
    positions: Int32Array,
    batch: number,
    length: number,
    prefixLength: number,
  ): BlockAux {
    const a = arch(this.config);
    const m = attentionMask(mask, batch, length, prefixLength);
    if (a.family === "gpt2") return { mask: m, rotary: null };
    const width = Math.floor(a.headDim * a.rotaryPct);
    return { mask: m, rotary: rotaryTables(positions, width, a.ropeTheta) };
  }

  /**
   * The block as one custom op whose inputs are [h] (frozen backbone: the weights are constants, closed over) or
   * [h, ...the block's 12 weights] (trainable). Its forward runs the block inside tf.customGrad, which records no
   * inner op on the tape, so the block's intermediates are freed as soon as it returns; only a copy of h is saved.
   * Its gradient re-runs the block under tf.grads with the upstream dy, giving d(h) (and d(weights)). The
   * recomputation uses the same weights, the same dropout seeds and an attention bias rebuilt from the same mask,
   * so it reproduces the forward pass exactly. A layer's key/value prefix (trainable) joins the inputs after h:
   * [h, keys, values, ...weights], so its gradient flows through the recomputation too.
   */
  private checkpointedBlock(
    h: tf.Tensor2D,
    w: BlockWeights,
    ctx: BlockContext,
    makeAux: () => BlockAux,
    pre: LayerPrefix | null,
  ): tf.Tensor2D {
    const weightGrad = ctx.weightGrad;
    const np = pre ? 2 : 0; // prefix inputs after h
    // args: [h, (keys, values)?, (weights)?]
    const run = (args: readonly tf.Tensor[], aux: BlockAux) =>
      this.family.block(args[0] as tf.Tensor2D, weightGrad ? args.slice(1 + np) : w, {
        ...ctx,
        aux: withLayerPrefix(aux, pre ? { keys: args[1] as tf.Tensor2D, values: args[2] as tf.Tensor2D } : null),
      });
    const op = customOp<tf.Tensor[], tf.Tensor2D>((inputs, save) => {
      save(inputs.slice(0, 1 + np));
      return {
        value: run(inputs, ctx.aux),
        grad: (dy, saved) =>
          tf.tidy(() => {
            const auxAgain = makeAux();
            const xs = weightGrad ? [...saved, ...w] : [...saved];
            const f = (...args: tf.Tensor[]) => run(args, auxAgain);
            return gradientsInsideBackward(() => tf.grads(f)(xs, dy));
          }),
      };
    });
    const prefixInputs = pre ? [pre.keys, pre.values] : [];
    return weightGrad ? op(h, ...prefixInputs, ...w) : op(h, ...prefixInputs);
  }

  /** LM logits for hidden rows: [N, D] -> [N, V], through the tied token-embedding matrix or the untied head. */
  logits(hidden: tf.Tensor2D): tf.Tensor2D {
    const weightGrad = !this.isFrozen;
    if (arch(this.config).tiedHead && transposedInPlace()) {
      // E [V, D] read in place as the [D, V] head; its gradient comes back as [V, D] (no transposes)
      return linearTransposed(hidden, this.tokenEmbedding() as tf.Tensor2D, null, { weightGrad });
    }
    return linear(hidden, this.outputMatrix(), null, { weightGrad });
  }

  /** The untied head [D, V], or E^T [D, V] (cached while frozen: the transpose is then a constant). */
  private outputMatrix(): tf.Tensor2D {
    if (!arch(this.config).tiedHead) return this.param(this.family.headName) as tf.Tensor2D;
    const e = this.tokenEmbedding() as tf.Tensor2D;
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

let tagCounter = 0;
function uniqueTag(): number {
  return tagCounter++;
}
