/**
 * Worker-process entry for the process pool: runs one grid cell in a fresh process (its own tfjs engine), so
 * cells run in parallel on several cores and no state leaks between runs.
 */
import { initBackend } from "../backend/backend";
import type { Cell } from "./grid";
import type { RunRecord } from "./record";
import { serveWorker } from "./process-pool";
import { runCell } from "./run-cell";

serveWorker<Cell, RunRecord>(async (cell) => {
  await initBackend();
  return runCell(cell);
});
