/**
 * The short path to prompt tuning, for researchers coming from PEFT (`get_peft_model` +
 * `print_trainable_parameters`):
 *
 *   const model = kit.promptTuning(backbone, { length: 20, init: "class-label", position: "front", task: "yelp" });
 *   model.printTrainableParameters();       // trainable params: 2,560 || all params: ... || trainable%: ...
 *   await model.fit("yelp", { steps: 300 });
 *   model.evaluate("yelp");                  // test accuracy, macro-F1, MCC
 *   model.save("yelp.safetensors");          // kit.loadPromptModel(backbone, "yelp.safetensors") loads it back
 *                                            // (load-prompt-model.ts)
 *
 * Prefix tuning (`kit.prefixTuning(backbone, { length: 20, projection: true })`) is the same model with trainable
 * per-layer keys and values instead of a soft prompt (lib/tuning/methods/prefix-tuning.ts); it saves to its own
 * prefix file (lib/prompt/prefix-file.ts), which loadPromptModel also reads.
 *
 * A PromptModel is a method of the registry (lib/tuning/methods: `prompt-tuning`, `deep-prompt-tuning` or
 * `prefix-tuning`) built
 * on a frozen backbone, trained by the kit's trainer (lib/train/trainer.ts) and scored by the same rank
 * classification as every grid cell. Where the prompt goes into the input: lib/prompt/splice.ts; how it trains:
 * lib/train/trainer.ts.
 *
 * A model is bound to one task's label words (rank classification scores them): the task given at creation, else
 * the first one fit/evaluate sees. A task with the same labels and label words (e.g. amazon and yelp) may be used
 * after it, as in two-stage prompt tuning.
 */
import { tf } from "../backend/backend";
import { loadCheckpoint, type LoadedBackbone } from "../backbone/checkpoint";
import type { ClassificationMetrics } from "../eval/metrics";
import { backboneDir, DEFAULT_LR, evaluateItems } from "../experiment/run-cell";
import { oneOf, positiveInt } from "../io/validate";
import { frequentTokenIds } from "../prompt/initializers";
import { parsePosition, PROMPT_SLOTS, positionName } from "../prompt/positions";
import { savePrompt, type PromptMeta } from "../prompt/prompt-file";
import { savePrefix } from "../prompt/prefix-file";
import { prefixParamCount, prefixShapeOf, type PrefixEncoder } from "../prompt/prefix-encoder";
import type { PromptLibrary, LibraryEntry } from "../prompt/library";
import type { PromptSet, PromptSettings } from "../prompt/soft-prompt";
import type { PreparedTask, Split } from "../tasks/prepared-task";
import { train } from "../train/trainer";
import type { Tuned } from "../tuning/method";
import { getMethod } from "../tuning/methods";
import { classLoss } from "../tuning/rank-scorer";
import { resolveFitOptions, scheduleFor, type FitHooks, type FitOptions, type FitResult } from "./fit-options";
import { resolvePromptConfig, type PromptConfig, type ResolvedPromptConfig } from "./prompt-config";
import { prepareTask, sameLabelWords, type TaskInput } from "./task-input";
import { formatTrainableParameters, trainableParameters, type TrainableParameters } from "./trainable-parameters";

export type { PromptConfig } from "./prompt-config";
export type { TaskInput } from "./task-input";

/** Texts scored per forward pass by predict. */
const PREDICT_BATCH = 32;

/** The prompt methods a PromptModel can be. */
export const PROMPT_MODEL_METHODS = ["prompt-tuning", "deep-prompt-tuning", "prefix-tuning"] as const;
export type PromptModelMethod = (typeof PROMPT_MODEL_METHODS)[number];

export interface SaveOptions {
  /** numbers worth keeping with the prompt (e.g. test metrics). */
  readonly metrics?: Readonly<Record<string, number>>;
  readonly extra?: Readonly<Record<string, unknown>>;
}

export class PromptModel {
  readonly method: PromptModelMethod;
  readonly backbone: LoadedBackbone;
  private readonly config: ResolvedPromptConfig;
  private readonly ownsBackbone: boolean;
  private bound: { task: PreparedTask; tuned: Tuned } | null = null;
  private disposed = false;
  private lastFit: { options: FitOptions; result: FitResult } | null = null;

  /** Use promptTuning / deepPromptTuning / loadPromptModel. */
  constructor(method: PromptModelMethod, backbone: LoadedBackbone | string, config: PromptConfig = {}) {
    this.method = oneOf(method, "prompt model method", PROMPT_MODEL_METHODS);
    this.config = resolvePromptConfig(config, method);
    this.ownsBackbone = typeof backbone === "string";
    this.backbone = typeof backbone === "string" ? loadCheckpoint(backboneDir(backbone)) : backbone;
    try {
      if (config.task !== undefined) this.bind(config.task);
    } catch (err) {
      this.dispose();
      throw err;
    }
  }

  /** Length, initializer and position of the prompt (as run records state them: deep prompts say "(every layer)"). */
  get settings(): PromptSettings {
    if (this.method === "prefix-tuning") {
      const c = this.config;
      return {
        length: c.length,
        init: c.projection ? `mlp(hidden ${c.hidden ?? this.backbone.config.dModel})` : c.init,
        position: "key/value prefix (every layer)",
      };
    }
    const position = positionName(parsePosition(this.config.position, this.config.length));
    return {
      length: this.config.length,
      init: this.config.init,
      position: this.method === "deep-prompt-tuning" ? `${position} (every layer)` : position,
    };
  }

  /** The task the model is bound to, or null before the first fit/evaluate (when none was given). */
  get task(): PreparedTask | null {
    return this.bound?.task ?? null;
  }

  /** Prompt layers: 1, or the backbone's layer count for deep prompts and prefixes. */
  get layers(): number {
    return this.method === "prompt-tuning" ? 1 : this.backbone.config.nLayers;
  }

  /**
   * Trainable values against all parameters (backbone + what trains): P x D per layer for prompts; for prefixes
   * P x L x 2 x (key/value heads x head dim), or with the projection its embedding and MLP weights and biases.
   */
  trainableParameters(): TrainableParameters {
    const c = this.backbone.config;
    const trainable =
      this.method === "prefix-tuning"
        ? prefixParamCount(
            prefixShapeOf(c, this.config.length),
            this.config.projection ? { hidden: this.config.hidden ?? c.dModel } : null,
          )
        : this.layers * this.config.length * c.dModel;
    return trainableParameters(trainable, this.backbone.model.paramCount());
  }

  /** PEFT's line: "trainable params: 2,560 || all params: ... || trainable%: ..." */
  summary(): string {
    return formatTrainableParameters(this.trainableParameters());
  }

  printTrainableParameters(): void {
    console.log(this.summary());
  }

  /**
   * Trains the prompt on the task's train split, keeping the prompt that scores best on its dev split (the
   * first `maxDev` examples); the backbone stays frozen. Returns steps, the kept step and its dev accuracy, the
   * learning curve and ms per step.
   */
  async fit(task: TaskInput, options: Partial<FitOptions> & FitHooks = {}): Promise<FitResult> {
    const o = resolveFitOptions(options, `${this.method} fit`);
    const { task: t, tuned } = this.bind(task);
    const trainItems = t.items("train");
    const dev = t.items("dev").slice(0, o.maxDev ?? undefined);
    if (dev.length === 0)
      throw new Error(`${this.method} fit: task '${t.name}' has no dev examples to select the prompt on`);
    const lr = o.lr ?? DEFAULT_LR[this.method]!;
    const lossFor = (batch: number[]) => {
      const chosen = batch.map((i) => trainItems[i]!);
      return classLoss(
        tuned.scores(
          chosen.map((x) => x.seq),
          true,
        ),
        chosen.map((x) => x.gold),
      );
    };
    const r = await train(
      tuned.trainable,
      lossFor,
      trainItems.length,
      () => evaluateItems(tuned, dev, t.labels.length, o.evalBatchSize).accuracy,
      {
        steps: o.steps,
        batchSize: o.batchSize,
        schedule: scheduleFor(o.schedule, lr, o.warmupSteps, o.steps),
        weightDecay: o.weightDecay,
        clipNorm: o.clipNorm,
        optimizer: o.optimizer,
        evalEvery: o.evalEvery,
        patience: o.patience,
        seed: o.seed ?? this.config.seed,
      },
      { onStep: o.onStep, onEval: o.onEval },
    );
    const result: FitResult = {
      steps: r.steps,
      bestStep: r.bestStep,
      bestDevAccuracy: r.bestScore,
      stoppedEarly: r.stoppedEarly,
      curve: r.curve.map((c) => ({
        step: c.step,
        trainLoss: c.trainLoss,
        ...(c.devScore !== undefined ? { devAccuracy: c.devScore } : {}),
      })),
      msPerStep: r.msPerStep,
    };
    const { onStep: _s, onEval: _e, ...recorded } = o;
    this.lastFit = { options: { ...recorded, lr }, result };
    return result;
  }

  /** Accuracy, macro-F1 and MCC on a split (default test), first `max` examples (default all). */
  evaluate(
    task?: TaskInput,
    opts: { split?: Split; max?: number | null; batchSize?: number } = {},
  ): ClassificationMetrics {
    const { task: t, tuned } = this.bind(task);
    const split = oneOf(opts.split ?? "test", `${this.method} evaluate: split`, ["train", "dev", "test"] as const);
    const max =
      opts.max === undefined || opts.max === null ? null : positiveInt(opts.max, `${this.method} evaluate: max`);
    const items = t.items(split).slice(0, max ?? undefined);
    if (items.length === 0) throw new Error(`${this.method} evaluate: task '${t.name}' has no ${split} examples`);
    return evaluateItems(
      tuned,
      items,
      t.labels.length,
      positiveInt(opts.batchSize ?? 32, `${this.method} evaluate: batchSize`),
    );
  }

  /** The predicted label of each text (pair tasks: [text, textB]). */
  predict(texts: readonly (string | readonly [string, string])[], task?: TaskInput): string[] {
    const { task: t, tuned } = this.bind(task);
    if (!Array.isArray(texts))
      throw new Error(
        `${this.method} predict: texts must be an array of strings (pair tasks: [text, textB] pairs), got ${JSON.stringify(texts)}`,
      );
    texts.forEach((x, i) => {
      const parts = typeof x === "string" ? [x] : Array.isArray(x) && x.length === 2 ? x : null;
      if (!parts || parts.some((p) => typeof p !== "string" || p.trim() === "")) {
        throw new Error(
          `${this.method} predict: text ${i} must be a non-empty string${t.template.isPair ? " or a [text, textB] pair" : ""}, got ${JSON.stringify(x)}`,
        );
      }
    });
    // The template renders an example; its label is not read (any of the task's labels will do).
    const seqs = texts.map((x, i) =>
      t.template.render(
        typeof x === "string"
          ? { id: `input ${i}`, text: x, label: t.labels[0]! }
          : { id: `input ${i}`, text: x[0], textB: x[1], label: t.labels[0]! },
      ),
    );
    const out: string[] = [];
    for (let i = 0; i < seqs.length; i += PREDICT_BATCH) {
      const best = tf.tidy(
        () => tf.argMax(tuned.scores(seqs.slice(i, i + PREDICT_BATCH), false), 1).dataSync() as Int32Array,
      );
      best.forEach((c) => out.push(t.labels[c]!));
    }
    return out;
  }

  /** The prompt's layers (input layer first; one for prompt tuning). Owned by the model: do not dispose. */
  promptLayers(): PromptSet[] {
    const { tuned } = this.requireBound("promptLayers");
    if (!tuned.prompts)
      throw new Error(`${this.method}: the model holds key/value prefixes, not prompt layers; use prefixEncoder()`);
    return [tuned.prompts, ...(tuned.deepPrompts ?? [])];
  }

  /** Prefix tuning: the trained key/value prefixes. Owned by the model: do not dispose. */
  prefixEncoder(): PrefixEncoder {
    const { tuned } = this.requireBound("prefixEncoder");
    if (!tuned.prefix)
      throw new Error(`${this.method}: the model holds a soft prompt, not prefixes; use promptLayers()`);
    return tuned.prefix;
  }

  /** Metadata a saved prompt carries: task, labels, settings, backbone identity, and the last fit's options. */
  meta(opts: SaveOptions = {}): PromptMeta {
    const { task } = this.requireBound("save");
    return {
      task: task.name,
      labels: task.labels,
      settings: this.settings,
      backbone: { name: this.backbone.name, fingerprint: this.backbone.fingerprint },
      metrics: opts.metrics ?? {},
      extra: {
        method: this.method,
        seed: this.config.seed,
        dataSeed: this.config.dataSeed,
        ...(this.config.initText !== undefined ? { initText: this.config.initText } : {}),
        ...(this.method === "prefix-tuning"
          ? {
              projection: this.config.projection,
              ...(this.config.projection ? { hidden: this.config.hidden } : {}),
              positions: this.config.positions,
            }
          : {}),
        ...(this.lastFit ? { fit: this.lastFit.options, steps: this.lastFit.result.steps } : {}),
        ...opts.extra,
      },
    };
  }

  /**
   * Writes the prompt (every layer) to a safetensors prompt file; prefixes go to a prefix file (lib/prompt/prefix-file.ts,
   * a projected prefix collapsed to its keys and values).
   */
  save(file: string, opts: SaveOptions = {}): void {
    const meta = this.meta(opts); // first: names "save" when there is no prompt yet
    if (this.method === "prefix-tuning") savePrefix(file, this.prefixEncoder(), meta);
    else savePrompt(file, this.promptLayers(), meta);
  }

  /** Adds the prompt (every layer) to a prompt library; returns its entry. */
  saveTo(library: PromptLibrary, opts: SaveOptions = {}): LibraryEntry {
    const meta = this.meta(opts);
    if (this.method === "prefix-tuning")
      throw new Error(`prefix-tuning saveTo: the prompt library holds soft prompts; save prefixes with save(file)`);
    return library.add(this.promptLayers(), meta);
  }

  /** Releases the prompt variables (and the backbone, when this model loaded it by name). */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.bound?.tuned.dispose();
    this.bound = null;
    if (this.ownsBackbone) this.backbone.model.dispose();
  }

  private requireBound(what: string): { task: PreparedTask; tuned: Tuned } {
    if (this.disposed) throw new Error(`${this.method} ${what}: this prompt model was disposed; build a new one`);
    if (!this.bound)
      throw new Error(
        `${this.method} ${what}: the model has no prompt yet; give a task at creation or call fit(task) first`,
      );
    return this.bound;
  }

  /** Prepares `task` and builds the prompt on first use; later tasks must share the label words. */
  private bind(task: TaskInput | undefined): { task: PreparedTask; tuned: Tuned } {
    if (this.disposed) throw new Error(`${this.method}: this prompt model was disposed; build a new one`);
    if (task === undefined) return this.requireBound("evaluate/predict without a task");
    const prepared = this.prepare(task);
    if (this.bound) {
      if (!sameLabelWords(this.bound.task, prepared)) {
        throw new Error(
          `${this.method}: this prompt was built for task '${this.bound.task.name}' (labels ${JSON.stringify(this.bound.task.verbalizer.words)}); ` +
            `task '${prepared.name}' has other labels or label words (${JSON.stringify(prepared.verbalizer.words)}): build a new prompt model for it`,
        );
      }
      return { task: prepared, tuned: this.bound.tuned };
    }
    const lengths = parsePosition(this.config.position, this.config.length);
    const slotted = this.method !== "prefix-tuning"; // prefixes take no input slot
    const missing = PROMPT_SLOTS.filter((s) => slotted && lengths[s] > 0 && !prepared.template.slots().includes(s));
    if (missing.length > 0) {
      throw new Error(
        `${this.method}: position '${this.config.position}' needs slot(s) ${missing.join(", ")}, but task '${prepared.name}' offers only ` +
          `${prepared.template.slots().join(", ")} (template ${JSON.stringify(prepared.template.spec.pattern)})`,
      );
    }
    const tok = this.backbone.tokenizer;
    const tuned = getMethod(this.method).build({
      model: this.backbone.model,
      padId: tok.padId,
      candidates: prepared.verbalizer.tokenIds,
      seed: this.config.seed,
      prompt: {
        length: this.config.length,
        init: this.config.init,
        position: this.config.position,
        initRange: this.config.initRange,
        initText: this.config.initText,
      },
      frequentIds: frequentTokenIds(
        prepared.trainingTokenIds(tok),
        new Set([tok.padId, tok.bosId, tok.eosId, tok.unkId]),
      ),
      labelTokenIds: prepared.verbalizer.firstWordIds(),
      ...(this.config.initText !== undefined ? { initTextIds: tok.encode(this.config.initText) } : {}),
      prefix: { projection: this.config.projection, hidden: this.config.hidden, positions: this.config.positions },
      contentFree: prepared.contentFreeSequences(),
    });
    this.bound = { task: prepared, tuned };
    return this.bound;
  }

  private prepare(task: TaskInput): PreparedTask {
    if (typeof task === "string" && this.bound?.task.name === task) return this.bound.task;
    return prepareTask(task, this.backbone.tokenizer, this.config.dataSeed, this.method);
  }

  /** Overwrites the prompt with saved layers (same slot lengths); used by loadPromptModel. */
  assignLayers(layers: readonly PromptSet[]): void {
    const mine = this.promptLayers();
    if (layers.length !== mine.length)
      throw new Error(`${this.method}: the saved prompt has ${layers.length} layer(s), this model ${mine.length}`);
    mine.forEach((set, l) => {
      for (const s of PROMPT_SLOTS) {
        const v = set.slot(s);
        const w = layers[l]!.slot(s);
        if ((v === null) !== (w === null) || (v && w && v.shape[0] !== w.shape[0])) {
          throw new Error(
            `${this.method}: saved layer ${l} slot '${s}' has ${w?.shape[0] ?? 0} vectors, this model ${v?.shape[0] ?? 0}`,
          );
        }
        if (v && w) v.assign(w);
      }
    });
  }
}

/** Prompt tuning (Lester et al. 2021): a trainable [P, D] soft prompt on a frozen backbone (PEFT's get_peft_model). */
export function promptTuning(backbone: LoadedBackbone | string, config: PromptConfig = {}): PromptModel {
  return new PromptModel("prompt-tuning", backbone, config);
}

/**
 * Prefix tuning (Li & Liang 2021; P-tuning v2): P trainable keys and values per layer of a frozen backbone
 * (PEFT's PREFIX_TUNING); `projection: true` trains them through the reparameterisation MLP (hidden width `hidden`);
 * `positions: "after-prefix"` numbers the real tokens after the prefix as Hugging Face does, so the saved prefix can be
 * exported as a PEFT adapter (lib/prompt/peft/prefix-io.ts exportPeftPrefix).
 */
export function prefixTuning(backbone: LoadedBackbone | string, config: PromptConfig = {}): PromptModel {
  return new PromptModel("prefix-tuning", backbone, config);
}

/** Deep prompt tuning (P-tuning v2): a [P, D] prompt at the input of every block of a frozen backbone. */
export function deepPromptTuning(backbone: LoadedBackbone | string, config: PromptConfig = {}): PromptModel {
  return new PromptModel("deep-prompt-tuning", backbone, config);
}
