/**
 * A knowledge-inheritance demo small enough for quick mode (notebook 06): the real code path — `pretrain` with the
 * `kiLoss` hook — on a toy student (1 layer, width 32, the teacher's vocabulary) taught by a shipped backbone, a
 * dozen steps on windows of tokenized Yelp text, from scratch and with KI, with a live validation curve. Its
 * numbers are toy numbers; it checks the plumbing, and that the teacher is never changed.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { loadCheckpoint } from "../backbone/checkpoint";
import { resolveConfig, totalParams } from "../backbone/config";
import { fingerprint } from "../backbone/fingerprint";
import { computeSaved, type ComputeSaved } from "../pretrain/compute-saved";
import type { TimedCurvePoint } from "../pretrain/ki-experiment";
import { kiLoss } from "../pretrain/knowledge-inheritance";
import { pretrain, type HistoryPoint, type PretrainOptions } from "../pretrain/pretrainer";
import { loadTask } from "../tasks/data/registry";
import type { Tokenizer } from "../tokenizer/tokenizer";
import { LiveCurve } from "../viz/live";

export interface KiDemo {
  /** validation curves of the two arms. */
  readonly scratch: TimedCurvePoint[];
  readonly ki: TimedCurvePoint[];
  /** the steps at which both arms were evaluated. */
  readonly evalSteps: number[];
  /** the teacher's weights fingerprint before and after (must be equal). */
  readonly teacherBefore: string;
  readonly teacherAfter: string;
  /** whether both students ended with the same weights (KI must change the student). */
  readonly sameWeights: boolean;
  readonly saving: ComputeSaved;
}

export interface KiDemoOptions {
  /** the teacher's checkpoint folder (e.g. models/kit-nano). */
  readonly teacherDir: string;
  readonly steps?: number;
  readonly log?: (line: string) => void;
}

const VAL_TOKENS = 2048;

/** Yelp train + dev reviews as one token stream (<eos> after each); the last VAL_TOKENS are held out. */
function yelpTokens(tok: Tokenizer): { train: Int32Array; val: Int32Array; documents: number } {
  const yelp = loadTask("yelp");
  const docs = [...yelp.train, ...yelp.dev];
  const ids: number[] = [];
  for (const e of docs) ids.push(...tok.encode(e.text), tok.eosId);
  const stream = Int32Array.from(ids);
  return {
    train: stream.subarray(0, stream.length - VAL_TOKENS),
    val: stream.subarray(stream.length - VAL_TOKENS),
    documents: docs.length,
  };
}

/** A 1-layer, width-32 student pre-trained for `steps` steps, evaluated every 2. */
function toyStudentOptions(vocabSize: number, steps: number): PretrainOptions {
  const config = resolveConfig({ vocabSize, maxLen: 64, dModel: 32, nLayers: 1, nHeads: 2, dFF: 64 });
  return {
    config,
    seed: 0,
    steps,
    batch: 4,
    length: 32,
    lr: 1e-2,
    warmupSteps: 2,
    minLrRatio: 0.1,
    weightDecay: 0.01,
    clipNorm: 1,
    evalEvery: 2,
    evalTokens: VAL_TOKENS,
    ckptSeconds: 3600,
    logEvery: steps,
  };
}

export async function runKiDemo(opts: KiDemoOptions): Promise<KiDemo> {
  const log = opts.log ?? console.log;
  const steps = opts.steps ?? 12;
  const teacher = loadCheckpoint(opts.teacherDir);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "kit-ki-demo-"));
  try {
    const { train, val, documents } = yelpTokens(teacher.tokenizer);
    const options = toyStudentOptions(teacher.config.vocabSize, steps);
    log(
      `${train.length} training / ${val.length} validation tokens from ${documents} Yelp reviews; ` +
        `toy student ${totalParams(options.config).toLocaleString("en-US")} params, teacher ${teacher.name} ${totalParams(teacher.config).toLocaleString("en-US")}`,
    );
    const live = new LiveCurve({
      title: `quick demo: validation loss of a toy student, from scratch vs with KI from ${teacher.name}`,
      xTitle: "optimizer step",
      yTitle: "validation loss (nats/token)",
    });
    const teacherBefore = teacher.fingerprint;
    const quiet = () => undefined; // the live curve shows the progress
    const scratch = await pretrain(path.join(tmp, "scratch"), train, val, options, {
      log: quiet,
      onEval: (p) => live.push("from scratch", p.step, p.valLoss),
    });
    const withKi = await pretrain(path.join(tmp, "ki"), train, val, options, {
      log: quiet,
      loss: kiLoss(teacher.model, { alphaStart: 0.5, alphaEndStep: Math.round((2 * steps) / 3) }),
      onEval: (p) => live.push("with KI", p.step, p.valLoss),
    });
    live.finish();
    const points = (h: readonly HistoryPoint[]) =>
      h.map((p) => ({ step: p.step, valLoss: p.valLoss, seconds: p.seconds }));
    const demo = {
      scratch: points(scratch.state.history),
      ki: points(withKi.state.history),
      evalSteps: Array.from({ length: Math.floor(steps / 2) }, (_, i) => 2 * (i + 1)),
      teacherBefore,
      teacherAfter: fingerprint(teacher.model),
      sameWeights: fingerprint(scratch.model) === fingerprint(withKi.model),
      saving: computeSaved(points(scratch.state.history), points(withKi.state.history)),
    };
    scratch.model.dispose();
    withKi.model.dispose();
    const s = demo.saving;
    log(
      `demo: scratch ${demo.scratch[0]!.valLoss.toFixed(3)} -> ${s.target.toFixed(3)}, KI ${demo.ki[0]!.valLoss.toFixed(3)} -> ${demo.ki[demo.ki.length - 1]!.valLoss.toFixed(3)}; ` +
        `KI reached the scratch run's final loss ${s.kiSteps === null ? "never" : `at step ${s.kiSteps.toFixed(1)}`} (toy numbers)`,
    );
    return demo;
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
    teacher.model.dispose();
  }
}
