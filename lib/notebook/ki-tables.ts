/**
 * Tables and sentences of a knowledge-inheritance experiment (notebook 06): the recorded experiments, the compute
 * saved per seed (with the mean only when every seed reached the target), and the prompt-tuning check on the two
 * students. Rows are plain objects for viz.showTable.
 */
import * as path from "node:path";
import type { KiExperimentResult, KiSeedResult } from "../pretrain/ki-experiment";

type Row = Record<string, string | number>;

/** "12.3%", or "not reached" for null. */
export function percentOrNotReached(x: number | null): string {
  return x === null ? "not reached" : `${(100 * x).toFixed(1)}%`;
}

const minutes = (s: number) => `${(s / 60).toFixed(1)} min`;
const lossPpl = (loss: number) => `${loss.toFixed(4)} (${Math.exp(loss).toFixed(1)})`;

/** A path relative to `root` when it lies inside it, else as given. */
export function relativeToRoot(file: string, root: string): string {
  const rel = path.relative(root, file);
  return rel.startsWith("..") || path.isAbsolute(rel) ? file : rel;
}

/** What to do when no result file exists: the command that makes one. */
export function kiMissingMessage(dir: string): string {
  return (
    `No knowledge-inheritance result in ${dir}. Produce one with ` +
    `"npx tsc -p . && node build/scripts/ki-experiment.js --student kit-small --teacher models/kit-nano --steps 1500 --seeds 0" ` +
    `(about half an hour per seed on 2 cores; resumable: rerun the same command after a kill), which writes ` +
    `results/ki/kit-small-ki-kit-nano-1500steps.json; or point KIT_KI_RESULTS at a result file or folder.`
  );
}

/** One row per result file: student, teacher (name, fingerprint), shared settings, KI schedule, teacher cost. */
export function kiExperimentRows(results: readonly { file: string; r: KiExperimentResult }[], root: string): Row[] {
  return results.map(({ file, r }) => ({
    file: relativeToRoot(file, root),
    student: `${r.student.name} (${r.student.nonEmbeddingParams.toLocaleString("en-US")} non-emb. params)`,
    teacher: `${r.teacher.name} (${r.teacher.nonEmbeddingParams.toLocaleString("en-US")}) ${r.teacher.fingerprint.slice(0, 19)}…`,
    steps: r.options.steps,
    "batch x length": `${r.options.batch} x ${r.options.length}`,
    lr: r.options.lr,
    seeds: r.seeds.map((s) => s.seed).join(", "),
    "a_0 -> 0 at step": `${r.options.kiAlpha} -> ${r.options.kiEndStep}`,
    "T / top-k": `${r.options.kiTemperature} / ${r.options.kiTopK ?? "full"}`,
    "teacher cost": percentOrNotReached(r.teacherOverhead),
    backend: r.backend,
    created: r.createdAt.slice(0, 16).replace("T", " "),
  }));
}

/** Per seed: target, steps to reach it, the three savings, final losses, train time; then the mean row. */
export function kiSavingRows(r: KiExperimentResult): Row[] {
  const rows: Row[] = r.seeds.map((s) => ({
    seed: s.seed,
    "target loss (ppl)": lossPpl(s.saving.target),
    "KI steps to target": s.saving.kiSteps === null ? "-" : `${s.saving.kiSteps.toFixed(0)} / ${s.saving.scratchSteps}`,
    saved: percentOrNotReached(s.saving.saved),
    "saved incl. teacher": percentOrNotReached(s.saving.savedWithTeacher),
    "saved (wall clock)": percentOrNotReached(s.saving.savedWallClock),
    "final val loss scratch (ppl)": lossPpl(s.scratch.finalValLoss),
    "final val loss KI (ppl)": lossPpl(s.ki.finalValLoss),
    "train time scratch / KI": `${minutes(s.scratch.trainSeconds)} / ${minutes(s.ki.trainSeconds)}`,
  }));
  const m = r.summary;
  rows.push({
    seed: "mean",
    "target loss (ppl)": "",
    "KI steps to target": `${m.reached}/${m.seeds} reached`,
    saved: percentOrNotReached(m.meanSaved),
    "saved incl. teacher": percentOrNotReached(m.meanSavedWithTeacher),
    "saved (wall clock)": percentOrNotReached(m.meanSavedWallClock),
    "final val loss scratch (ppl)": lossPpl(m.meanFinalValLoss.scratch),
    "final val loss KI (ppl)": lossPpl(m.meanFinalValLoss.ki),
    "train time scratch / KI": "",
  });
  return rows;
}

/** The seed's saving in one sentence. */
export function kiSavingSentence(r: KiExperimentResult, s: KiSeedResult): string {
  const target = s.saving.target.toFixed(4);
  if (s.saving.kiSteps === null)
    return `seed ${s.seed}: the KI run never reached the scratch run's final validation loss ${target} within ${r.options.steps} steps.`;
  return (
    `seed ${s.seed}: the KI run reached the scratch run's final validation loss ${target} (ppl ${Math.exp(s.saving.target).toFixed(1)}) ` +
    `after ${s.saving.kiSteps.toFixed(0)} of ${s.saving.scratchSteps} steps: ${percentOrNotReached(s.saving.saved)} of the steps saved, ` +
    `${percentOrNotReached(s.saving.savedWithTeacher)} after paying for the teacher's forward passes.`
  );
}

/** The prompt-tuning check: per method (scratch vs KI student, paired difference), and every run; null without one. */
export function ptCheckTables(r: KiExperimentResult): { summary: Row[]; runs: Row[] } | null {
  const pt = r.ptCheck;
  if (pt === null) return null;
  const signed = (x: number) => `${x >= 0 ? "+" : ""}${x.toFixed(3)}`;
  return {
    summary: pt.summary.map((x) => ({
      method: x.method,
      seeds: x.seeds,
      "scratch test acc.": x.scratchAccuracy.toFixed(3),
      "KI test acc.": x.kiAccuracy.toFixed(3),
      "KI − scratch": signed(x.kiMinusScratch),
    })),
    runs: pt.rows.map((x) => ({
      seed: x.seed,
      student: x.student,
      method: x.method,
      "test acc.": x.testAccuracy.toFixed(3),
      "dev acc.": x.devAccuracy === null ? "-" : x.devAccuracy.toFixed(3),
      seconds: x.wallSeconds.toFixed(0),
    })),
  };
}
