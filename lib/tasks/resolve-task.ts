/**
 * One entry point for "the task named here", whatever it is: a built-in name ("imdb") or a file task object
 * (file-task.ts). Both come out in the same shape the experiment layer already uses for built-in tasks:
 * TaskData (examples split into train/dev/test) plus the TaskSpec (template + verbalizer) that PreparedTask
 * binds to a tokenizer.
 *
 *   const task = await resolveTask(ref, baseDir, { dataSeed });   // ref: "imdb" or { name, file, ... }
 *   const prepared = prepareTask(task, backbone.tokenizer);        // PreparedTask, as for built-in tasks
 *   task.identity.config                                           // goes into the cell config (cell id)
 *   prepared.truncation()                                          // truncated examples, for the record
 */
import * as path from "node:path";
import type { Tokenizer } from "../tokenizer/tokenizer";
import type { TaskData } from "./data/example";
import { loadTask, type TaskName } from "./data/registry";
import { DEFAULT_SPLIT_OPTIONS } from "./data/split";
import { loadTaskFileBytes } from "./data/task-file";
import {
  checkVerbalizerLabels,
  fileTaskIdentity,
  normalizeFileTask,
  parseTaskRef,
  readTaskFileBytes,
  taskFilePath,
  TaskSpecError,
  type TaskIdentity,
} from "./file-task";
import { PreparedTask } from "./prepared-task";
import { defaultSpec, TASK_SPECS, type TaskSpec } from "./task-specs";

/** A task ready to be bound to a tokenizer. */
export interface ResolvedTask {
  /** Display name ("imdb", "party"). */
  readonly name: string;
  readonly kind: "builtin" | "file";
  /** What identifies the task in cell ids and records (file tasks: content hash + options). */
  readonly identity: TaskIdentity;
  readonly data: TaskData;
  /** Template and verbalizer (the built-in task's own, or the file task's with defaults filled in). */
  readonly spec: TaskSpec;
}

export interface ResolveTaskOptions {
  /** Seed of the train/dev/test split (the cell option dataSeed); default 0. */
  readonly dataSeed?: number;
  /** Where the task was named, in the user's words (e.g. "grid.json tasks[1]", "--task"); default "task". */
  readonly where?: string;
  /**
   * The identity computed when the grid was set up (taskIdentity): if the file's content changed since, the
   * task is refused naming both hashes, so a cell never runs on other data than its id says.
   */
  readonly expectIdentity?: TaskIdentity;
}

/**
 * Resolves a built-in task name or a file task object (a file task's `file` is relative to `baseDir`) into data +
 * spec. Errors: TaskSpecError for a bad reference (naming `where` and the field), TaskFileError for a bad file
 * (naming the file, line/row and field), both before any model work.
 */
export async function resolveTask(
  ref: unknown,
  baseDir: string,
  options: ResolveTaskOptions = {},
): Promise<ResolvedTask> {
  const where = options.where ?? "task";
  const dataSeed = options.dataSeed ?? DEFAULT_SPLIT_OPTIONS.seed;
  if (!Number.isSafeInteger(dataSeed))
    throw new TaskSpecError(`${where}: dataSeed must be an integer, got ${dataSeed}`);
  const parsed = parseTaskRef(ref, where);
  if (typeof parsed === "string") {
    const data = loadTask(parsed as TaskName, { seed: dataSeed });
    const spec =
      TASK_SPECS[parsed] ??
      defaultSpec(
        data.labels,
        data.train.some((e) => e.textB !== undefined),
      );
    const identity: TaskIdentity = Object.freeze({
      name: parsed,
      key: parsed,
      config: parsed,
      sha256: null,
      file: null,
    });
    return Object.freeze({ name: parsed, kind: "builtin", identity, data, spec });
  }

  const spec = normalizeFileTask(parsed, where);
  const abs = taskFilePath(spec, baseDir);
  const bytes = readTaskFileBytes(abs, spec, baseDir, where);
  const identity = fileTaskIdentity(spec, bytes, abs);
  const expected = options.expectIdentity;
  if (expected && expected.sha256 !== null && expected.sha256 !== identity.sha256) {
    throw new TaskSpecError(
      `${where}: task "${spec.name}": ${abs} changed since the grid was set up (sha256 ${expected.sha256.slice(0, 16)}… then, ` +
        `${identity.sha256!.slice(0, 16)}… now); its cells would run on other data than their ids say. Start the grid again ` +
        `(new data gives new cell ids; records of the old data stay valid for the old data).`,
    );
  }
  // Messages name the file as the user knows it: relative to the current directory when it is inside it.
  const rel = path.relative(process.cwd(), abs);
  const shown = rel === "" || rel.startsWith("..") || path.isAbsolute(rel) ? abs : rel;
  const data = await loadTaskFileBytes(shown, bytes, {
    name: spec.name,
    textColumn: spec.textColumn,
    ...(spec.textBColumn !== null ? { textBColumn: spec.textBColumn } : {}),
    labelColumn: spec.labelColumn,
    ...(spec.labels !== null ? { labels: spec.labels } : {}),
    encoding: spec.encoding,
    ...(spec.format !== null ? { format: spec.format } : {}),
    seed: dataSeed,
    devFraction: spec.split.devFraction,
    testFraction: spec.split.testFraction,
    stratify: spec.split.stratify,
  });
  let verbalizer = spec.verbalizer;
  if (verbalizer)
    checkVerbalizerLabels(verbalizer, data.labels, `${where}.verbalizer`, spec.labels ? `${where}.labels` : abs);
  else verbalizer = defaultSpec(data.labels, spec.textBColumn !== null).verbalizer;
  return Object.freeze({
    name: spec.name,
    kind: "file",
    identity,
    data,
    spec: Object.freeze({ template: spec.template, verbalizer }),
  });
}

/** Binds a resolved task to a tokenizer (label words that encode to nothing are refused there). */
export function prepareTask(task: ResolvedTask, tokenizer: Tokenizer): PreparedTask {
  return new PreparedTask(task.data, tokenizer, task.spec);
}
