/**
 * What a prompt model accepts as a task: a shipped task's name, a user task's data (loadTaskFile), or a task
 * already bound to a tokenizer (PreparedTask); and when two tasks may share one prompt.
 */
import { isPlainObject, oneOf } from "../io/validate";
import type { TaskData } from "../tasks/data/example";
import { loadTask, TASK_NAMES, type TaskName } from "../tasks/data/registry";
import { PreparedTask } from "../tasks/prepared-task";
import type { Tokenizer } from "../tokenizer/tokenizer";

/** A shipped task by name ("yelp"), a user task's data (loadTaskFile), or a task already bound to a tokenizer. */
export type TaskInput = string | TaskData | PreparedTask;

/** The task bound to `tokenizer`; shipped tasks are split with `dataSeed`. `where` prefixes messages. */
export function prepareTask(task: TaskInput, tokenizer: Tokenizer, dataSeed: number, where: string): PreparedTask {
  if (task instanceof PreparedTask) return task;
  if (typeof task === "string") {
    const name = oneOf(task, `${where}: task`, TASK_NAMES as readonly TaskName[]);
    return new PreparedTask(loadTask(name, { seed: dataSeed }), tokenizer);
  }
  if (isPlainObject(task) && Array.isArray((task as TaskData).train) && Array.isArray((task as TaskData).labels)) {
    return new PreparedTask(task as TaskData, tokenizer);
  }
  throw new Error(
    `${where}: task must be a task name (${TASK_NAMES.join(", ")}), task data (loadTaskFile) or a PreparedTask, got ${JSON.stringify(task)}`,
  );
}

/** Same labels and label words: then one task's prompt scores another's inputs the same way. */
export function sameLabelWords(a: PreparedTask, b: PreparedTask): boolean {
  return (
    a.labels.join("\u0000") === b.labels.join("\u0000") &&
    JSON.stringify(a.verbalizer.tokenIds) === JSON.stringify(b.verbalizer.tokenIds)
  );
}
