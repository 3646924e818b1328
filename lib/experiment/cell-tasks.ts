/**
 * The data of a cell: its task (few-shot sampled when asked), the train / dev / test items it uses, and for
 * two-stage prompt tuning the stage-1 task, checked to share the cell task's labels and label words.
 *
 * A task is a built-in name or a file task bound by expandGrid (cell.tasks[key]): both load through resolveTask,
 * a file task held to the identity its cell id was made from (a file changed since is refused).
 */
import type { Tokenizer } from "../tokenizer/tokenizer";
import { PROMPT_SLOTS, parsePosition } from "../prompt/positions";
import type { TaskData } from "../tasks/data/example";
import { loadTask, TASK_NAMES, type TaskName } from "../tasks/data/registry";
import { type TruncationCount, type PreparedTask, type TaskItem } from "../tasks/prepared-task";
import { prepareTask, resolveTask, type ResolvedTask } from "../tasks/resolve-task";
import type { Method } from "../tuning/method";
import type { CellOptions } from "./cell-options";
import { fewShot } from "./few-shot";
import type { Cell } from "./grid";

export interface CellTasks {
  readonly task: PreparedTask;
  readonly train: readonly TaskItem[];
  /** the first `maxDev` dev items (early stopping). */
  readonly dev: readonly TaskItem[];
  /** the first `maxTest` test items. */
  readonly test: readonly TaskItem[];
  /** two-stage prompt tuning: stage 1's task and its items; null for one stage. */
  readonly stage1: {
    readonly name: string;
    readonly train: readonly TaskItem[];
    readonly dev: readonly TaskItem[];
  } | null;
  /** how many examples the template cut, per split (for the record). */
  readonly truncation: TruncationCount;
  /** gold labels of `test`, counted per label name (for the record). */
  readonly testLabels: Record<string, number>;
}

/** Throws naming the task list when `name` is not a shipped task. */
export function loadTaskData(name: string, dataSeed: number): TaskData {
  if (!(TASK_NAMES as readonly string[]).includes(name)) {
    throw new Error(`unknown task '${name}': expected one of ${TASK_NAMES.join(", ")}`);
  }
  return loadTask(name as TaskName, { seed: dataSeed });
}

/**
 * Loads a task the cell names (its task or stage1Task): a file task from its binding in `cell.tasks`, held to the
 * identity the cell id was made from; otherwise a built-in name.
 */
export async function resolveCellTask(cell: Cell, key: string, dataSeed: number, field: string): Promise<ResolvedTask> {
  const where = `cell ${cell.cellId}: ${field}`;
  const binding = cell.tasks?.[key];
  if (binding === undefined) {
    if (!(TASK_NAMES as readonly string[]).includes(key)) {
      throw new Error(
        `${where}: unknown task '${key}': expected one of ${TASK_NAMES.join(", ")} or a file task object (bound by expandGrid)`,
      );
    }
    return resolveTask(key, process.cwd(), { dataSeed, where });
  }
  return resolveTask(binding.ref, process.cwd(), { dataSeed, where, expectIdentity: binding.identity });
}

/** Loads and tokenizes the cell's task(s); throws naming the cell when a prompt slot or stage-1 task does not fit. */
export async function prepareCellTasks(cell: Cell, o: CellOptions, method: Method, tok: Tokenizer): Promise<CellTasks> {
  const resolved = await resolveCellTask(cell, cell.task, o.dataSeed, "task");
  const data = o.trainPerClass !== null ? fewShot(resolved.data, o.trainPerClass, cell.seed) : resolved.data;
  const task = prepareTask({ ...resolved, data }, tok);
  if (method.trainsPrompt) checkPromptSlots(cell, o, task, cell.task);
  let stage1: CellTasks["stage1"] = null;
  if (o.stage1Task !== null) {
    const s1 = prepareTask(await resolveCellTask(cell, o.stage1Task, o.dataSeed, "option stage1Task"), tok);
    const words = (t: PreparedTask) => JSON.stringify(t.verbalizer.tokenIds);
    if (words(s1) !== words(task) || s1.labels.join() !== task.labels.join()) {
      throw new Error(
        `cell ${cell.cellId}: stage1Task '${o.stage1Task}' must have the same labels and label words as '${cell.task}' ` +
          `(got ${JSON.stringify(s1.verbalizer.words)} vs ${JSON.stringify(task.verbalizer.words)})`,
      );
    }
    checkPromptSlots(cell, o, s1, o.stage1Task);
    stage1 = { name: o.stage1Task, train: s1.items("train"), dev: s1.items("dev").slice(0, o.maxDev ?? undefined) };
  }
  const test = task.items("test").slice(0, o.maxTest ?? undefined);
  const testLabels: Record<string, number> = Object.fromEntries(task.labels.map((l) => [l, 0]));
  for (const item of test) testLabels[task.labels[item.gold]!]! += 1;
  return {
    task,
    train: task.items("train"),
    dev: task.items("dev").slice(0, o.maxDev ?? undefined),
    test,
    stage1,
    truncation: task.truncation(),
    testLabels,
  };
}

/** Throws naming the cell, task and template when the prompt position needs a slot the task's template lacks. */
function checkPromptSlots(cell: Cell, o: CellOptions, task: PreparedTask, taskName: string): void {
  const lengths = parsePosition(o.promptPosition, o.promptLength);
  const missing = PROMPT_SLOTS.filter((slot) => lengths[slot] > 0 && !task.template.slots().includes(slot));
  if (missing.length > 0) {
    throw new Error(
      `cell ${cell.cellId}: prompt position '${o.promptPosition}' needs slot(s) ${missing.join(", ")}, but task '${taskName}' offers only ` +
        `${task.template.slots().join(", ")} (template ${JSON.stringify(task.template.spec.pattern)})`,
    );
  }
}
