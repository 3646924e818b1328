/**
 * Notebook 08 (the prompt library) in a few calls: one transfer grid whose default-init cells also fill a prompt
 * library (one prompt per task and seed, saved with the cell's test metrics), prompt ensembles of those seeds,
 * a PEFT export/import round trip, and the transfer matrix with prompt similarity as a predictor.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { LoadedBackbone } from "../backbone/checkpoint";
import { compareEnsemble, type EnsembleComparison, type EnsembleRule } from "../eval/ensemble";
import { cosineSimilarity, spearman } from "../eval/similarity";
import { expandGrid } from "../experiment/grid";
import type { RunRecord } from "../experiment/record";
import { runCell } from "../experiment/run-cell";
import { transferCells, transferMatrix, type TransferEntry, type TransferSpec } from "../experiment/transfer";
import { formatBytes } from "../experiment/summary";
import { PromptLibrary } from "../prompt/library";
import { exportLibraryEntry, importPeftAdapter, peftBackboneOf } from "../prompt/peft";
import { PromptSet } from "../prompt/soft-prompt";
import { ensembleCost, loadEnsemble, scoreEnsemble, type EnsembleCost } from "../prompt-model/prompt-ensemble";
import type { Figure } from "../viz/figure";
import type { TableRecord } from "../viz/table";
import { runStudy } from "./study";
import { interval, signed } from "./tables";

/** Library id of the default-init prompt of `task` trained with `seed`. */
export function libraryId(task: string, seed: number): string {
  return `${task}-seed${seed}`;
}

/**
 * Runs the transfer grid (transferCells) in this process; every default-init cell's trained prompt is added to
 * `library` as `<task>-seed<seed>` with the cell's test metrics. Resumed cells keep the prompt saved when they
 * ran; a missing one is an error (delete the results file to retrain).
 */
export async function runLibraryStudy(
  spec: TransferSpec,
  library: PromptLibrary,
  opts: { quick: boolean; log?: (line: string) => void; libraryOnlyTasks?: readonly string[] },
): Promise<RunRecord[]> {
  const extra = opts.libraryOnlyTasks ?? [];
  const cells = [
    ...transferCells(spec),
    // tasks that only fill the library (and ensembles): default-init cells, no transfer partners
    ...(extra.length === 0
      ? []
      : expandGrid({
          name: spec.name,
          backbones: [spec.backbone],
          tasks: [...extra],
          methods: ["prompt-tuning"],
          seeds: [...spec.seeds],
          fixed: { ...(spec.fixed ?? {}) },
          options: { stage1Task: [null] },
        })),
  ];
  const out = await runStudy(cells, {
    name: spec.name,
    quick: opts.quick,
    workers: 0,
    reuseFrom: [],
    log: opts.log,
    runner: async (cell, progress) => {
      let arrays: Map<"front" | "middle" | "back", Float32Array> | null = null;
      let width = 0;
      const record = await runCell(cell, {
        ...progress,
        onTrained: (tuned) => {
          if (cell.options["stage1Task"] === null && tuned.prompts) {
            arrays = tuned.prompts.arrays();
            width = tuned.prompts.width;
          }
        },
      });
      if (arrays !== null) {
        const p = PromptSet.fromArrays(arrays, width, record.prompt?.init ?? "sampled-vocab");
        try {
          library.add(
            p,
            {
              task: cell.task,
              labels: Object.keys(record.testLabels ?? {}),
              settings: record.prompt!,
              backbone: record.backbone,
              metrics: { ...record.metrics, ...(record.devMetrics ? { devAccuracy: record.devMetrics.accuracy } : {}) },
              extra: { method: cell.method, seed: cell.seed, cellId: cell.cellId, steps: record.steps },
            },
            { name: libraryId(cell.task, cell.seed), overwrite: true },
          );
        } finally {
          p.dispose();
        }
      }
      return record;
    },
  });
  const missing = spec.tasks
    .flatMap((t) => spec.seeds.map((s) => libraryId(t, s)))
    .filter((id) => library.search({}).every((e) => e.id !== id));
  if (missing.length > 0)
    throw new Error(
      `${library.dir}: no saved prompt for ${missing.join(", ")} (their cells were resumed from an earlier run; delete the results file to retrain them)`,
    );
  return out.records;
}

/** Clears a quick run's library (quick runs start clean, like their results files). */
export function freshLibrary(dir: string, quick: boolean): PromptLibrary {
  if (quick) fs.rmSync(dir, { recursive: true, force: true });
  return new PromptLibrary(dir);
}

export interface EnsembleStudyRow {
  readonly task: string;
  readonly comparisons: Record<EnsembleRule, EnsembleComparison>;
  readonly cost: EnsembleCost;
  /** ms to score the test examples: members batched in one pass per batch, and one pass per member. */
  readonly msBatched: number;
  readonly msSeparate: number;
  /** largest |batched - separate| score difference (the two must agree). */
  readonly maxScoreDiff: number;
  readonly examples: number;
}

/** Ensembles each task's seed prompts and compares them with their members on the test split. */
export function ensembleStudy(
  backbone: LoadedBackbone,
  library: PromptLibrary,
  tasks: readonly string[],
  seeds: readonly number[],
  opts: { maxTest?: number | null; dataSeed?: number } = {},
): EnsembleStudyRow[] {
  return tasks.map((task) => {
    const ens = loadEnsemble(
      backbone,
      library,
      seeds.map((s) => libraryId(task, s)),
    );
    try {
      const o = { max: opts.maxTest ?? null, dataSeed: opts.dataSeed ?? 0 };
      const batched = scoreEnsemble(backbone, ens.members, task, o);
      const separate = scoreEnsemble(backbone, ens.members, task, { ...o, separate: true });
      let maxScoreDiff = 0;
      batched.scores.forEach((m, n) =>
        m.forEach((row, i) =>
          row.forEach((v, c) => (maxScoreDiff = Math.max(maxScoreDiff, Math.abs(v - separate.scores[n]![i]![c]!)))),
        ),
      );
      return {
        task,
        comparisons: {
          "mean-logprob": compareEnsemble(batched.scores, batched.gold, "mean-logprob"),
          "majority-vote": compareEnsemble(batched.scores, batched.gold, "majority-vote"),
        },
        cost: ensembleCost(backbone, ens.members),
        msBatched: batched.ms,
        msSeparate: separate.ms,
        maxScoreDiff,
        examples: batched.gold.length,
      };
    } finally {
      ens.dispose();
    }
  });
}

/** One table row per task and rule: ensemble, members, and the paired gaps with 95% CIs (over test examples). */
export function ensembleTable(rows: readonly EnsembleStudyRow[]): TableRecord[] {
  return rows.flatMap((r) =>
    (Object.values(r.comparisons) as EnsembleComparison[]).map((c) => ({
      task: r.task,
      rule: c.rule,
      ensemble: c.ensembleAccuracy.toFixed(4),
      members: c.memberAccuracy.map((a) => a.toFixed(3)).join(" / "),
      "vs mean member": signed(c.vsMeanMember),
      "vs best member": `${signed(c.vsBest.mean)} ${interval(c.vsBest)}`,
      "vs each member (CI)": c.vsMember.map((s) => interval(s, 3)).join(" "),
    })),
  );
}

/** Storage and time of each ensemble against N fine-tuned copies of the backbone. */
export function ensembleCostTable(rows: readonly EnsembleStudyRow[]): TableRecord[] {
  return rows.map((r) => ({
    task: r.task,
    members: r.cost.members,
    "one prompt": formatBytes(r.cost.promptBytes),
    "backbone + N prompts": formatBytes(r.cost.ensembleBytes),
    "N fine-tuned models": formatBytes(r.cost.fineTunedBytes),
    "passes per batch (ensemble / N models)": `${r.cost.ensemblePassesPerBatch} / ${r.cost.fineTunedPassesPerBatch}`,
    "ms batched": r.msBatched.toFixed(0),
    "ms one pass per member": r.msSeparate.toFixed(0),
    "max |score diff|": r.maxScoreDiff.toExponential(1),
  }));
}

/** Exports library entry `id` as a PEFT adapter into `dir` and reads it back; true when bitwise equal. */
export function peftRoundTrip(
  backbone: LoadedBackbone,
  library: PromptLibrary,
  id: string,
  dir: string,
): { files: { config: string; weights: string }; bitwise: boolean; config: Record<string, unknown> } {
  const pb = peftBackboneOf(backbone);
  const files = exportLibraryEntry(library, id, dir, pb, { overwrite: true });
  const back = importPeftAdapter(dir, pb);
  const orig = library.load(id, pb);
  try {
    const a = orig.prompts.arrays().get("front")!;
    const b = back.prompts.arrays().get("front")!;
    const bitwise =
      a.length === b.length &&
      Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
    return { files, bitwise, config: JSON.parse(fs.readFileSync(files.config, "utf8")) as Record<string, unknown> };
  } finally {
    back.prompts.dispose();
    orig.prompts.dispose();
  }
}

export interface TransferStudy {
  readonly entries: TransferEntry[];
  /** mean over seeds of the cosine similarity of the source's and target's trained prompts, per entry. */
  readonly similarity: number[];
  /** Spearman's rho between similarity and mean gain over the off-diagonal pairs (NaN when constant). */
  readonly rho: number;
}

/** The transfer matrix of `records` and how well prompt similarity ranks the gains. */
export function transferStudy(
  records: readonly RunRecord[],
  library: PromptLibrary,
  backbone: LoadedBackbone,
  tasks: readonly string[],
  seeds: readonly number[],
): TransferStudy {
  const entries = transferMatrix(records, tasks);
  const id = { name: backbone.name, fingerprint: backbone.fingerprint, width: backbone.config.dModel };
  const vec = (task: string, seed: number) => {
    const p = library.load(libraryId(task, seed), id).prompts;
    const v = p.arrays().get("front")!;
    p.dispose();
    return v;
  };
  const similarity = entries.map(
    (e) => seeds.reduce((s, seed) => s + cosineSimilarity(vec(e.source, seed), vec(e.target, seed)), 0) / seeds.length,
  );
  const rho =
    entries.length >= 2
      ? spearman(
          similarity,
          entries.map((e) => e.gain.mean),
        )
      : NaN;
  return { entries, similarity, rho };
}

export function transferTable(t: TransferStudy): TableRecord[] {
  return t.entries.map((e, i) => ({
    "source -> target": `${e.source} -> ${e.target}`,
    "default init": e.baseline.mean.toFixed(4),
    "from source": e.transfer.mean.toFixed(4),
    gain: signed(e.gain.mean),
    "gain 95% CI": interval(e.gain),
    seeds: e.gain.n,
    "prompt cosine": t.similarity[i]!.toFixed(3),
  }));
}

/** Heatmap of mean gains: rows source, columns target (diagonal empty). */
export function transferHeatmap(t: TransferStudy, tasks: readonly string[], title: string): Figure {
  const z = tasks.map((s) =>
    tasks.map((tg) => t.entries.find((e) => e.source === s && e.target === tg)?.gain.mean ?? null),
  );
  const text = tasks.map((s) =>
    tasks.map((tg) => {
      const e = t.entries.find((x) => x.source === s && x.target === tg);
      return e ? `${signed(e.gain.mean, 3)}<br>${interval(e.gain, 3)}` : "";
    }),
  );
  const span = Math.max(1e-6, ...t.entries.map((e) => Math.abs(e.gain.mean)));
  return {
    data: [
      {
        type: "heatmap",
        z,
        x: [...tasks],
        y: [...tasks],
        text,
        texttemplate: "%{text}",
        colorscale: "RdBu",
        zmid: 0,
        zmin: -span,
        zmax: span,
        colorbar: { title: { text: "gain" } },
        hovertemplate: "source %{y} -> target %{x}<br>gain %{z:.4f}<extra></extra>",
      },
    ],
    layout: {
      title: { text: title },
      xaxis: { title: { text: "target task" } },
      yaxis: { title: { text: "source task (stage 1)" }, autorange: "reversed" },
    },
  };
}

/** Where a notebook's exported adapter goes: <library>/peft/<id>. */
export function adapterDir(library: PromptLibrary, id: string): string {
  return path.join(library.dir, "peft", id);
}
