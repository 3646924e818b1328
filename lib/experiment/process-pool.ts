/**
 * A tiny process pool: each task runs in a fresh Node child process (child_process.fork of one
 * worker script), at most `size` at a time, so grid cells can use several cores and each training
 * run starts from a clean tfjs engine (no leaked tensors or kernels between runs; a crash or OOM
 * only fails that task).
 *
 * Parent side:
 *   const pool = new ProcessPool<Cell, RunRecord>({ script: require.resolve("./cell-worker"), size: 2 });
 *   await runGrid(cells, { resultsPath, runCell: (cell) => pool.run(cell), concurrency: 2 });
 *   await pool.close();
 * Worker script (compiled JS):
 *   serveWorker<Cell, RunRecord>(async (cell) => trainAndEvaluate(cell));
 *
 * Protocol over the IPC channel (JSON serialisation, so inputs/outputs must be plain JSON data):
 * parent -> child { type: "task", input }; child -> parent { type: "result", output } or
 * { type: "error", message, stack }; then the child exits. A child that exits without answering
 * (crash, OOM, kill) rejects the task with its exit code/signal and the tail of its stderr. A worker
 * whose parent dies sees the IPC channel close and exits, so no orphans keep training.
 */
import { fork, type ChildProcess } from "node:child_process";
import { envForConcurrency } from "../backend/kernels/threads";

export interface ProcessPoolOptions {
  /** Path of the worker script (a .js file that calls serveWorker). */
  script: string;
  /** Maximum concurrent child processes (integer >= 1). */
  size?: number;
  /** Extra command-line arguments for the script. */
  args?: string[];
  /** Node flags for children, e.g. ["--max-old-space-size=4096"] (default: none, not the parent's). */
  execArgv?: string[];
  /** Environment for children (default: the parent's); KIT_THREADS is set to cores / size unless given. */
  env?: NodeJS.ProcessEnv;
  /** Kill a task's child after this many ms (default: no limit). */
  timeoutMs?: number;
  /** Prefix for each line the children print, so interleaved logs stay readable (default: "[worker pid] "). */
  logPrefix?: boolean;
}

export const PROCESS_POOL_DEFAULTS = Object.freeze({ size: 1, logPrefix: true });

/** Bytes of a child's stderr kept for error messages. */
const STDERR_TAIL_BYTES = 4000;

/** A task failed inside its worker, or its worker died. */
export class WorkerTaskError extends Error {
  constructor(
    message: string,
    readonly workerStack?: string,
  ) {
    super(message);
    this.name = "WorkerTaskError";
  }
}

type ToChild<I> = { type: "task"; input: I };
type FromChild<O> = { type: "result"; output: O } | { type: "error"; message: string; stack?: string };

export class ProcessPool<I, O> {
  private readonly opts: Required<Omit<ProcessPoolOptions, "timeoutMs" | "env">> &
    Pick<ProcessPoolOptions, "timeoutMs" | "env">;
  private readonly waiting: Array<() => void> = [];
  private readonly children = new Set<ChildProcess>();
  private active = 0;
  private closed = false;

  constructor(options: ProcessPoolOptions) {
    if (typeof options?.script !== "string" || options.script === "") {
      throw new Error(
        `ProcessPool: script must be a path to a worker .js file, got ${JSON.stringify(options?.script)}`,
      );
    }
    const size = options.size ?? PROCESS_POOL_DEFAULTS.size;
    if (!Number.isInteger(size) || size < 1) throw new Error(`ProcessPool: size must be an integer >= 1, got ${size}`);
    if (options.timeoutMs !== undefined && !(options.timeoutMs > 0)) {
      throw new Error(`ProcessPool: timeoutMs must be > 0, got ${options.timeoutMs}`);
    }
    this.opts = {
      script: options.script,
      size,
      args: options.args ?? [],
      execArgv: options.execArgv ?? [],
      // concurrent children share the cores: each gets its share of BLAS threads unless the caller chose
      env: envForConcurrency(size, options.env ?? process.env),
      timeoutMs: options.timeoutMs,
      logPrefix: options.logPrefix ?? PROCESS_POOL_DEFAULTS.logPrefix,
    };
  }

  /** Number of tasks currently running in child processes. */
  get running(): number {
    return this.active;
  }

  /** Runs `input` through the worker script in a new child process; resolves with its output. */
  async run(input: I): Promise<O> {
    if (this.closed) throw new Error("ProcessPool: run() after close()");
    if (this.active >= this.opts.size) await new Promise<void>((resolve) => this.waiting.push(resolve));
    if (this.closed) throw new Error("ProcessPool: closed while the task was waiting for a free worker");
    this.active++;
    try {
      return await this.runInChild(input);
    } finally {
      this.active--;
      this.waiting.shift()?.();
    }
  }

  /** Kills running children and rejects waiting tasks; the pool cannot be used afterwards. */
  async close(): Promise<void> {
    this.closed = true;
    for (const resolve of this.waiting.splice(0)) resolve();
    const exits = [...this.children].map(
      (c) =>
        new Promise<void>((resolve) => {
          if (c.exitCode !== null || c.signalCode !== null) return resolve();
          c.once("exit", () => resolve());
          c.kill("SIGTERM");
        }),
    );
    await Promise.all(exits);
  }

  private runInChild(input: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      const child = fork(this.opts.script, this.opts.args, {
        execArgv: this.opts.execArgv,
        env: this.opts.env,
        stdio: ["ignore", "pipe", "pipe", "ipc"],
        serialization: "json",
      });
      this.children.add(child);
      let settled = false;
      let answer: FromChild<O> | undefined;
      let stderrTail = "";
      const prefix = `[worker ${child.pid}] `;
      forwardLines(child.stdout!, process.stdout, this.opts.logPrefix ? prefix : "");
      forwardLines(child.stderr!, process.stderr, this.opts.logPrefix ? prefix : "", (text) => {
        stderrTail = (stderrTail + text).slice(-STDERR_TAIL_BYTES);
      });
      const fail = (err: Error): void => {
        if (settled) return;
        settled = true;
        reject(err);
      };
      const timer =
        this.opts.timeoutMs === undefined
          ? undefined
          : setTimeout(() => {
              fail(
                new WorkerTaskError(
                  `worker ${this.opts.script} (pid ${child.pid}) timed out after ${this.opts.timeoutMs} ms`,
                ),
              );
              child.kill("SIGKILL");
            }, this.opts.timeoutMs);
      child.on("message", (msg: FromChild<O>) => {
        answer = msg;
        if (settled) return;
        if (msg?.type === "result") {
          settled = true;
          resolve(msg.output);
        } else if (msg?.type === "error") {
          fail(new WorkerTaskError(`worker ${this.opts.script} (pid ${child.pid}): ${msg.message}`, msg.stack));
        } else {
          fail(
            new WorkerTaskError(
              `worker ${this.opts.script} (pid ${child.pid}) sent an unexpected message ${JSON.stringify(msg)?.slice(0, 200)}`,
            ),
          );
        }
        if (child.connected) child.disconnect();
      });
      child.on("error", (err) => fail(new WorkerTaskError(`worker ${this.opts.script}: cannot run: ${err.message}`)));
      // "close" (not "exit"): it comes after the IPC channel and stdio are drained, so a result
      // message sent just before exiting has been seen.
      child.on("close", (code, signal) => {
        if (timer !== undefined) clearTimeout(timer);
        this.children.delete(child);
        if (answer === undefined) {
          const how = signal !== null ? `was killed by ${signal}` : `exited with code ${code}`;
          const tail = stderrTail.trim() === "" ? "" : `; stderr ends with:\n${stderrTail.trimEnd()}`;
          fail(
            new WorkerTaskError(
              `worker ${this.opts.script} (pid ${child.pid}) ${how} before returning a result${tail}`,
            ),
          );
        }
      });
      const message: ToChild<I> = { type: "task", input };
      child.send(message, (err) => {
        if (err) fail(new WorkerTaskError(`worker ${this.opts.script}: cannot send the task: ${err.message}`));
      });
    });
  }
}

/**
 * Worker side: call once, synchronously, at the top level of the worker script (not after an
 * await: the task message may arrive before a late listener exists and be lost). Do async set-up
 * such as `await initBackend()` inside `handler`. Receives one task, runs `handler`, sends back the
 * output (or the error), and lets the process exit. Exits if the parent goes away (noticed when
 * the handler yields to the event loop).
 */
export function serveWorker<I, O>(handler: (input: I) => Promise<O> | O): void {
  if (typeof process.send !== "function") {
    throw new Error("serveWorker: this script must be started by ProcessPool (child_process.fork with an IPC channel)");
  }
  const send = (msg: FromChild<O>): Promise<void> =>
    new Promise((resolve) => {
      process.send!(msg, undefined, {}, () => resolve());
    });
  process.once("message", async (msg: ToChild<I>) => {
    if (msg?.type !== "task") {
      await send({
        type: "error",
        message: `expected a {type:"task"} message, got ${JSON.stringify(msg)?.slice(0, 200)}`,
      });
    } else {
      try {
        const output = await handler(msg.input);
        await send({ type: "result", output });
      } catch (err) {
        const e = err instanceof Error ? err : new Error(String(err));
        await send({ type: "error", message: e.message, stack: e.stack });
      }
    }
    if (process.connected) process.disconnect();
  });
  process.on("disconnect", () => {
    // Parent gone (or we are done): give pending stdio a moment, then leave even if timers remain.
    setTimeout(() => process.exit(), 50).unref();
  });
}

/** Copies a child stream to ours line by line, with a prefix; `tap` sees the raw text. */
function forwardLines(
  from: NodeJS.ReadableStream,
  to: NodeJS.WritableStream,
  prefix: string,
  tap?: (text: string) => void,
): void {
  let partial = "";
  from.setEncoding("utf8");
  from.on("data", (chunk: string) => {
    tap?.(chunk);
    const text = partial + chunk;
    const lines = text.split("\n");
    partial = lines.pop()!;
    for (const line of lines) to.write(`${prefix}${line}\n`);
  });
  from.on("end", () => {
    if (partial !== "") to.write(`${prefix}${partial}\n`);
  });
}
