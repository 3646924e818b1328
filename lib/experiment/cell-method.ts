/** Builds a cell's tuning method on its backbone: the method context (prompt options, init tokens) from the cell. */
import type { LoadedBackbone } from "../backbone/checkpoint";
import type { PreparedTask } from "../tasks/prepared-task";
import type { Method, Tuned } from "../tuning/method";
import type { CellOptions } from "./cell-options";
import type { Cell } from "./grid";

/** Frequent task tokens (most frequent first), skipping special tokens and rare ones. */
export function frequentTokenIds(ids: readonly number[], skip: ReadonlySet<number>, max = 500): number[] {
  const counts = new Map<number, number>();
  for (const id of ids) if (!skip.has(id)) counts.set(id, (counts.get(id) ?? 0) + 1);
  return [...counts.entries()]
    .sort((a, b) => b[1] - a[1] || a[0] - b[0])
    .slice(0, max)
    .map(([id]) => id);
}

/** `method` built for `cell` on `backbone` (prompt initialised from `task`'s frequent tokens or label words). */
export function buildCellMethod(
  method: Method,
  cell: Cell,
  o: CellOptions,
  backbone: LoadedBackbone,
  task: PreparedTask,
): Tuned {
  const tok = backbone.tokenizer;
  const special = new Set([tok.padId, tok.bosId, tok.eosId, tok.unkId]);
  return method.build({
    model: backbone.model,
    padId: tok.padId,
    candidates: task.verbalizer.tokenIds,
    seed: cell.seed,
    prompt: { length: o.promptLength, init: o.promptInit, position: o.promptPosition, initRange: o.initRange },
    frequentIds: frequentTokenIds(task.trainingTokenIds(tok), special),
    labelTokenIds: task.verbalizer.firstWordIds(),
  });
}
