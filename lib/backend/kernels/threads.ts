/**
 * How many BLAS threads a process of the kit uses (no tfjs import: process pools use it before any model loads).
 *
 * Two cores shared by two concurrent runs must not each start two BLAS threads: process pools give each child
 * KIT_THREADS = cores / concurrency.
 */
import * as os from "node:os";

export function cores(): number {
  return Math.max(1, typeof os.availableParallelism === "function" ? os.availableParallelism() : os.cpus().length);
}

/** BLAS threads for this process: KIT_THREADS, else OPENBLAS_NUM_THREADS, else the number of cores. */
export function blasThreads(env: NodeJS.ProcessEnv = process.env): number {
  for (const key of ["KIT_THREADS", "OPENBLAS_NUM_THREADS"]) {
    const raw = env[key];
    if (raw === undefined || raw.trim() === "") continue;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 1) throw new Error(`${key}=${JSON.stringify(raw)}: expected a positive integer`);
    return n;
  }
  return cores();
}

/**
 * The environment for `concurrency` child processes (or worker threads) that share this machine's cores: each gets
 * KIT_THREADS = cores / concurrency (at least 1) unless the caller already set KIT_THREADS.
 */
export function envForConcurrency(concurrency: number, env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  if (env["KIT_THREADS"] !== undefined && env["KIT_THREADS"].trim() !== "") return env;
  return { ...env, KIT_THREADS: String(Math.max(1, Math.floor(cores() / Math.max(1, concurrency)))) };
}
