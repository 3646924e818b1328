/** Builds a cell's tuning method on its backbone: the method context (prompt options, init tokens) from the cell. */
import type { LoadedBackbone } from "../backbone/checkpoint";
import { frequentTokenIds } from "../prompt/initializers";
import type { PreparedTask } from "../tasks/prepared-task";
import type { Method, Tuned } from "../tuning/method";
import type { CellOptions } from "./cell-options";
import type { Cell } from "./grid";

export { frequentTokenIds };

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
    prefix: { projection: o.prefixProjection, hidden: o.prefixHidden, positions: o.prefixPositions },
    contentFree: task.contentFreeSequences(),
  });
}
