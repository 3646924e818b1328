/**
 * The first cell of every notebook in one call: read the quick switch (KIT_QUICK=1), initialise the tfjs backend,
 * inline plotly.js once (figures below are then small), and print one status line. A named notebook also gets its
 * results file (reports/notebooks/[quick/]<name>-results.jsonl, see paths.ts).
 */
import { backendLabel, initBackend, type BackendInfo } from "../backend/backend";
import type { DisplaySink } from "../viz/display";
import { initPlotly } from "../viz/show";
import { resultsPathFor } from "./paths";

export interface NotebookStart {
  /** KIT_QUICK=1: tiny settings that check the plumbing (what CI runs); else the full settings. */
  readonly quick: boolean;
  readonly backend: BackendInfo;
  /** the notebook's results file, or null for a notebook started without a name. */
  readonly resultsPath: string | null;
}

export interface StartOptions {
  /** names the results file (e.g. "02-prompt-vs-finetune"). */
  readonly name?: string;
  /** inline plotly.js (default true). */
  readonly plotly?: boolean;
  readonly env?: NodeJS.ProcessEnv;
  readonly root?: string;
  /** where plotly goes (default: the notebook, else the console). */
  readonly sink?: DisplaySink;
  /** receives the status line (default console.log). */
  readonly log?: (line: string) => void;
}

/** Whether KIT_QUICK asks for quick mode ("1"); any other value than unset, "" or "0" is refused. */
export function quickMode(env: NodeJS.ProcessEnv = process.env): boolean {
  const v = (env["KIT_QUICK"] ?? "").trim();
  if (v === "1") return true;
  if (v === "" || v === "0") return false;
  throw new Error(
    `KIT_QUICK must be 1 (quick settings) or 0 / unset (full settings), got ${JSON.stringify(env["KIT_QUICK"])}`,
  );
}

export async function startNotebook(opts: StartOptions = {}): Promise<NotebookStart> {
  const quick = quickMode(opts.env ?? process.env);
  const resultsPath = opts.name === undefined ? null : resultsPathFor(opts.name, quick, opts.root);
  const backend = await initBackend();
  if (opts.plotly ?? true) initPlotly({ sink: opts.sink });
  const line = `backend ${backendLabel(backend)}; ${quick ? "QUICK settings (KIT_QUICK=1)" : "full settings"}${resultsPath ? `; results ${resultsPath}` : ""}`;
  (opts.log ?? console.log)(line);
  return { quick, backend, resultsPath };
}
