/**
 * Where notebooks write: full runs append to reports/notebooks/<name>-results.jsonl (resumed by later runs);
 * quick runs use reports/notebooks/quick/<name>-results.jsonl, so their tiny settings never mix with real
 * results. Absolute paths from the project root, whatever the kernel's working directory.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { projectRoot } from "../experiment/project-paths";

function checkName(name: string): void {
  if (typeof name !== "string" || !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) {
    throw new Error(
      `notebook name must be letters, digits, '.', '_' or '-' (e.g. "02-prompt-vs-finetune"), got ${JSON.stringify(name)}`,
    );
  }
}

/** reports/notebooks/[quick/]<name>-results.jsonl under the project root. */
export function resultsPathFor(name: string, quick: boolean, root: string = projectRoot()): string {
  checkName(name);
  return path.join(root, "reports", "notebooks", ...(quick ? ["quick"] : []), `${name}-results.jsonl`);
}

/** The prompt library folder: reports/prompts (quick runs: reports/prompts/quick). */
export function promptLibraryDir(quick: boolean, root: string = projectRoot()): string {
  return path.join(root, "reports", "prompts", ...(quick ? ["quick"] : []));
}

/**
 * Full-mode results files already under reports/: every notebook's reports/notebooks/<name>-results.jsonl and
 * every bench or grid run's reports/<run>/results.jsonl (quick runs excluded), then the shipped ones under
 * results/. Notebooks pass these to runCells' `reuseFrom`, so a run that another notebook or the bench already
 * made is not trained twice.
 */
export function earlierResultsFiles(root: string = projectRoot()): string[] {
  return [...resultsFilesIn(path.join(root, "reports")), ...shippedResultsFiles(root)];
}

/**
 * The records shipped in git under results/ (results/notebooks/<name>-results.jsonl and results/<run>/results.jsonl:
 * the runs behind the README's figures), after everything under reports/. A fresh clone's notebooks reuse them on
 * the shipped backbones (the weights fingerprint must match) and say so in each record's `reusedFrom`; delete or
 * move them to measure everything again.
 */
export function shippedResultsFiles(root: string = projectRoot()): string[] {
  return resultsFilesIn(path.join(root, "results"));
}

/** <dir>/notebooks/<name>-results.jsonl, then <dir>/<run>/results.jsonl, each sorted; quick runs left out. */
function resultsFilesIn(dir: string): string[] {
  const out: string[] = [];
  const nbDir = path.join(dir, "notebooks");
  if (fs.existsSync(nbDir)) {
    for (const f of fs.readdirSync(nbDir).sort()) if (f.endsWith("-results.jsonl")) out.push(path.join(nbDir, f));
  }
  if (fs.existsSync(dir)) {
    for (const d of fs.readdirSync(dir).sort()) {
      if (d === "notebooks" || d.includes("quick")) continue;
      const f = path.join(dir, d, "results.jsonl");
      if (fs.existsSync(f)) out.push(f);
    }
  }
  return out;
}
