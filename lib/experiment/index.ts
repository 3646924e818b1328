/**
 * Experiment grids: definition (grid), identity (cell-id), result records (record), the resumable
 * runner (runner, run-lock), worker processes (process-pool) and across-seed summaries (summary,
 * gaps). Model-free: nothing here loads tfjs except environment.ts, which is not re-exported
 * (import it from "./environment" in code that trains).
 */
export * from "./cell-id";
export * from "./grid";
export * from "./record";
export * from "./runner";
export * from "./process-pool";
export * from "./summary";
export * from "./gaps";
export * from "./recommended-budgets";
export * from "./floors";
