/**
 * What must hold for a knowledge-inheritance result and for the quick demo, whatever the losses (notebook 06's
 * closing checks): recorded savings follow from the recorded curves, both arms were evaluated at the same steps
 * and ran every step; the demo trained, KI changed the student and never the teacher.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { CHECKPOINT_FILES, loadCheckpoint } from "../backbone/checkpoint";
import { computeSaved } from "../pretrain/compute-saved";
import type { KiExperimentResult } from "../pretrain/ki-experiment";
import { check } from "./checks";
import type { KiDemo } from "./ki-demo";

const close = (a: number | null, b: number | null) => (a === null ? b === null : b !== null && Math.abs(a - b) < 1e-9);
const stepsOf = (c: readonly { step: number }[]) => c.map((p) => p.step).join(",");

/** Throws, naming the file and seed, when a recorded result does not follow from its own curves. */
export function checkKiResult(file: string, r: KiExperimentResult): void {
  for (const s of r.seeds) {
    const again = computeSaved(s.scratch.curve, s.ki.curve);
    const where = `${file}: seed ${s.seed}`;
    check(
      close(again.kiSteps, s.saving.kiSteps) && close(again.saved, s.saving.saved) && again.target === s.saving.target,
      () =>
        `${where}: recorded saving ${JSON.stringify(s.saving)} does not follow from the curves (${JSON.stringify(again)})`,
    );
    check(stepsOf(s.scratch.curve) === stepsOf(s.ki.curve), `${where}: the two arms were evaluated at different steps`);
    check(
      s.scratch.steps === r.options.steps && s.ki.steps === r.options.steps,
      `${where}: a run did not take all ${r.options.steps} steps`,
    );
  }
}

/** Throws unless both demo arms were evaluated where planned, learned, left the teacher intact and differ. */
export function checkKiDemo(d: KiDemo): void {
  for (const [name, c] of [
    ["scratch", d.scratch],
    ["KI", d.ki],
  ] as const) {
    check(
      stepsOf(c) === d.evalSteps.join(","),
      `demo ${name} curve evaluated at ${stepsOf(c)}, expected ${d.evalSteps.join(",")}`,
    );
    check(
      c.every((p) => Number.isFinite(p.valLoss)),
      `demo ${name}: non-finite validation loss`,
    );
    check(
      c[c.length - 1]!.valLoss < c[0]!.valLoss,
      `demo: the ${name} run did not learn (${c[0]!.valLoss} -> ${c[c.length - 1]!.valLoss})`,
    );
  }
  check(d.teacherAfter === d.teacherBefore, "demo: the teacher's weights changed during KI");
  check(!d.sameWeights, "demo: the KI student ended with the scratch student's weights");
}

/**
 * A note when the teacher a result was taught by has changed since (models/<teacher> now has other weights), or
 * null when it is the same or not shipped here. Loads the checkpoint to compute its fingerprint.
 */
export function teacherDriftNote(file: string, r: KiExperimentResult, root: string): string | null {
  const shipped = path.join(root, "models", r.teacher.name);
  if (!fs.existsSync(path.join(shipped, CHECKPOINT_FILES.weights))) return null;
  const now = loadCheckpoint(shipped);
  now.model.dispose();
  return now.fingerprint === r.teacher.fingerprint
    ? null
    : `note: ${file} was taught by ${r.teacher.name} ${r.teacher.fingerprint}; ${shipped} is now ${now.fingerprint}`;
}
