/**
 * Prompt ensembles on one frozen backbone (Lester et al. 2021 §7): load N prompts trained for the same task (e.g.
 * several seeds, from a prompt library), score a split with all of them in one batched forward pass per batch of
 * examples (lib/tuning/ensemble-scorer.ts), then combine and compare with lib/eval/ensemble.ts.
 *
 *   const ens = kit.loadEnsemble(backbone, library, ids);          // N prompts, same task and layout
 *   const s = kit.scoreEnsemble(backbone, ens.members, "yelp");     // [N][B][C] scores + gold labels
 *   kit.compareEnsemble(s.scores, s.gold, "mean-logprob");          // ensemble vs each member, with CIs
 */
import { tf } from "../backend/backend";
import type { LoadedBackbone } from "../backbone/checkpoint";
import { positiveInt, oneOf } from "../io/validate";
import type { LibraryEntry, PromptLibrary } from "../prompt/library";
import type { PromptSet } from "../prompt/soft-prompt";
import { checkSameLayout } from "../prompt/splice-ensemble";
import type { Split } from "../tasks/prepared-task";
import { ensembleClassScores } from "../tuning/ensemble-scorer";
import { classScores } from "../tuning/rank-scorer";
import { prepareTask, type TaskInput } from "./task-input";

export interface LoadedEnsemble {
  /** the member prompts (caller disposes them, or calls dispose()). */
  readonly members: PromptSet[];
  readonly entries: LibraryEntry[];
  readonly task: string;
  dispose(): void;
}

/** Loads library entries `ids` as ensemble members: same task, labels and prompt layout; deep prompts refused. */
export function loadEnsemble(backbone: LoadedBackbone, library: PromptLibrary, ids: readonly string[]): LoadedEnsemble {
  if (ids.length === 0) throw new Error("prompt ensemble: give at least one library entry id");
  const identity = { name: backbone.name, fingerprint: backbone.fingerprint, width: backbone.config.dModel };
  const members: PromptSet[] = [];
  const entries: LibraryEntry[] = [];
  try {
    for (const id of ids) {
      const e = library.entry(id);
      const first = entries[0];
      if (first && (e.task !== first.task || e.labels.join("\u0000") !== first.labels.join("\u0000"))) {
        throw new Error(
          `prompt ensemble: entry '${id}' is for task '${e.task}', entry '${first.id}' for '${first.task}' (an ensemble's members share one task)`,
        );
      }
      const loaded = library.load(id, identity);
      members.push(loaded.prompts);
      if (loaded.deep.length > 0) {
        loaded.deep.forEach((p) => p.dispose());
        throw new Error(`prompt ensemble: entry '${id}' is a deep prompt; ensembles batch input-layer prompts only`);
      }
      entries.push(e);
    }
    checkSameLayout(members);
  } catch (err) {
    members.forEach((p) => p.dispose());
    throw err;
  }
  return { members, entries, task: entries[0]!.task, dispose: () => members.forEach((p) => p.dispose()) };
}

export interface EnsembleScoreOptions {
  readonly split?: Split;
  /** first `max` examples of the split (default all). */
  readonly max?: number | null;
  /** examples per forward pass (each pass holds members x batchSize rows; default 16). */
  readonly batchSize?: number;
  /** data split seed of a shipped task (default 0, as in every grid cell). */
  readonly dataSeed?: number;
}

export interface EnsembleScores {
  /** [N members][B examples][C labels] rank-classification scores. */
  readonly scores: number[][][];
  readonly gold: number[];
  readonly labels: readonly string[];
  /** forward passes run (one per batch of examples, all members at once). */
  readonly forwardPasses: number;
  readonly ms: number;
}

function resolve(o: EnsembleScoreOptions): { split: Split; max: number | null; batchSize: number; dataSeed: number } {
  return {
    split: oneOf(o.split ?? "test", "prompt ensemble: split", ["train", "dev", "test"] as const),
    max: o.max === undefined || o.max === null ? null : positiveInt(o.max, "prompt ensemble: max"),
    batchSize: positiveInt(o.batchSize ?? 16, "prompt ensemble: batchSize"),
    dataSeed: o.dataSeed ?? 0,
  };
}

/**
 * Scores a split with every member: `separate: true` runs one forward pass per member instead (the reference the
 * batched scores are checked against, and the cost of N task models).
 */
export function scoreEnsemble(
  backbone: LoadedBackbone,
  members: readonly PromptSet[],
  task: TaskInput,
  opts: EnsembleScoreOptions & { separate?: boolean } = {},
): EnsembleScores {
  const o = resolve(opts);
  checkSameLayout(members);
  const t = prepareTask(task, backbone.tokenizer, o.dataSeed, "prompt ensemble");
  const items = t.items(o.split).slice(0, o.max ?? undefined);
  if (items.length === 0) throw new Error(`prompt ensemble: task '${t.name}' has no ${o.split} examples`);
  const cands = t.verbalizer.tokenIds;
  const pad = backbone.tokenizer.padId;
  const scores: number[][][] = members.map(() => []);
  let passes = 0;
  const start = performance.now();
  for (let i = 0; i < items.length; i += o.batchSize) {
    const seqs = items.slice(i, i + o.batchSize).map((x) => x.seq);
    if (opts.separate) {
      members.forEach((m, n) => {
        const s = tf.tidy(() =>
          classScores(backbone.model, m, seqs, cands, { padId: pad, training: false }).arraySync(),
        );
        scores[n]!.push(...s);
        passes++;
      });
    } else {
      const s = tf.tidy(() => ensembleClassScores(backbone.model, members, seqs, cands, pad).arraySync());
      s.forEach((rows, n) => scores[n]!.push(...rows));
      passes++;
    }
  }
  return {
    scores,
    gold: items.map((x) => x.gold),
    labels: t.labels,
    forwardPasses: passes,
    ms: performance.now() - start,
  };
}

export interface EnsembleCost {
  readonly members: number;
  /** bytes of one member prompt (float32). */
  readonly promptBytes: number;
  /** backbone once + N prompts. */
  readonly ensembleBytes: number;
  /** N fine-tuned copies of the backbone. */
  readonly fineTunedBytes: number;
  /** forward passes per batch: 1 for the ensemble, N for N fine-tuned models. */
  readonly ensemblePassesPerBatch: number;
  readonly fineTunedPassesPerBatch: number;
}

/** Storage and passes of an N-prompt ensemble against N fine-tuned models of the same backbone. */
export function ensembleCost(backbone: LoadedBackbone, members: readonly PromptSet[]): EnsembleCost {
  const backboneBytes = backbone.model.paramCount() * 4;
  const promptBytes = members[0]!.paramCount() * 4;
  return {
    members: members.length,
    promptBytes,
    ensembleBytes: backboneBytes + members.length * promptBytes,
    fineTunedBytes: members.length * backboneBytes,
    ensemblePassesPerBatch: 1,
    fineTunedPassesPerBatch: members.length,
  };
}
