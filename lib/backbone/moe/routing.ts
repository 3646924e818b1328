/**
 * Routing decisions of one MoE block, in plain arrays: which expert(s) each row goes to, which assignments fit
 * the capacity, and the statistics the load-balancing loss and the offloading schedule need. The decisions are
 * discrete (no gradient); the gates' values are recomputed as tensors from the router probabilities (moe-mlp.ts)
 * so the router still gets its gradient through them.
 *
 *   top-k: the k largest probabilities of a row (ties: the lower expert id first)
 *   capacity C = ceil(capacityFactor * k * N / E); assignments claim slots rank by rank (every row's first
 *   choice, in row order, then every row's second choice, as GShard), and an assignment to a full expert is
 *   dropped: its gate contributes nothing, and a row with every assignment dropped passes through the residual.
 */

export interface Routing {
  /** rows N and experts per row k. */
  readonly rows: number;
  readonly k: number;
  /** choice[n * k + r]: expert of row n's r-th choice. */
  readonly choice: Int32Array;
  /** kept[n * k + r]: 1 if that assignment fits the capacity. */
  readonly kept: Uint8Array;
  /** rowsOf[e]: the rows assigned (and kept) to expert e, ascending. */
  readonly rowsOf: Int32Array[];
  /** slotOf[e]: for each of rowsOf[e], the flat assignment index n * k + r. */
  readonly slotOf: Int32Array[];
  /** the experts with at least one kept row, ascending. */
  readonly needed: number[];
  readonly capacity: number;
  /** assignments dropped for capacity, and rows with every assignment dropped. */
  readonly droppedAssignments: number;
  readonly droppedRows: number;
}

/** probs: [N, E] row-major router probabilities. */
export function route(probs: Float32Array, rows: number, experts: number, k: 1 | 2, capacityFactor: number): Routing {
  if (probs.length !== rows * experts)
    throw new Error(`route: ${probs.length} probabilities for [${rows}, ${experts}]`);
  const choice = new Int32Array(rows * k);
  for (let n = 0; n < rows; n++) {
    let best = 0;
    let second = -1;
    const o = n * experts;
    for (let e = 1; e < experts; e++) {
      const p = probs[o + e]!;
      if (p > probs[o + best]!) {
        second = best;
        best = e;
      } else if (k === 2 && (second < 0 || p > probs[o + second]!)) second = e;
    }
    if (k === 2 && second < 0) second = best === 0 ? 1 : 0;
    choice[n * k] = best;
    if (k === 2) choice[n * k + 1] = second;
  }
  const capacity = Math.ceil((capacityFactor * k * rows) / experts);
  const kept = new Uint8Array(rows * k);
  const count = new Int32Array(experts);
  for (let r = 0; r < k; r++) {
    for (let n = 0; n < rows; n++) {
      const e = choice[n * k + r]!;
      if (count[e]! < capacity) {
        kept[n * k + r] = 1;
        count[e]!++;
      }
    }
  }
  const rowsOf: Int32Array[] = [];
  const slotOf: Int32Array[] = [];
  const fill = new Int32Array(experts);
  for (let e = 0; e < experts; e++) {
    rowsOf.push(new Int32Array(count[e]!));
    slotOf.push(new Int32Array(count[e]!));
  }
  for (let n = 0; n < rows; n++) {
    for (let r = 0; r < k; r++) {
      const s = n * k + r;
      if (!kept[s]) continue;
      const e = choice[s]!;
      rowsOf[e]![fill[e]!] = n;
      slotOf[e]![fill[e]!++] = s;
    }
  }
  let droppedAssignments = 0;
  let droppedRows = 0;
  for (let n = 0; n < rows; n++) {
    let keptHere = 0;
    for (let r = 0; r < k; r++) keptHere += kept[n * k + r]!;
    droppedAssignments += k - keptHere;
    if (keptHere === 0) droppedRows++;
  }
  const needed: number[] = [];
  for (let e = 0; e < experts; e++) if (count[e]! > 0) needed.push(e);
  return { rows, k, choice, kept, rowsOf, slotOf, needed, capacity, droppedAssignments, droppedRows };
}

/** f_e: fraction of rows whose first choice is e (before capacity), as in Switch Transformer's loss. */
export function firstChoiceFractions(r: Routing, experts: number): Float32Array {
  const f = new Float32Array(experts);
  for (let n = 0; n < r.rows; n++) f[r.choice[n * r.k]!]! += 1 / r.rows;
  return f;
}
