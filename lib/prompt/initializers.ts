/**
 * Soft-prompt initializers: each is a function (length P, width D, seed) -> Float32Array [P*D], built by a
 * small factory from what it needs (the embedding table, frequent token ids, label-word ids, a text's ids).
 * Lester et al. 2021 compare random uniform, sampled vocabulary and class-label initialisation; CPM-2 also
 * recommends initialising from vocabulary embeddings.
 */
import { Rng, uniformArray } from "../backend/random";

export type Initializer = (length: number, width: number, seed: number) => Float32Array;

/** What an initializer may read: the backbone's token-embedding table (row-major [V, D]). */
export interface EmbeddingTable {
  readonly data: Float32Array;
  readonly vocab: number;
  readonly width: number;
}

export const PROMPT_INITS = ["random-uniform", "sampled-vocab", "class-label", "text"] as const;
export type PromptInitKind = (typeof PROMPT_INITS)[number];

function row(table: EmbeddingTable, id: number): Float32Array {
  if (!(id >= 0 && id < table.vocab))
    throw new Error(`token id ${id} is outside the embedding table (${table.vocab} rows)`);
  return table.data.subarray(id * table.width, (id + 1) * table.width);
}

function checkWidth(table: EmbeddingTable, width: number): void {
  if (width !== table.width) throw new Error(`prompt width ${width} differs from the embedding width ${table.width}`);
}

/** U(-range, range) per coordinate (Lester et al. use range 0.5). */
export function randomUniform(range: number): Initializer {
  if (!(range > 0)) throw new Error(`random-uniform range must be > 0, got ${range}`);
  return (length, width, seed) => uniformArray(new Rng(seed), length * width, -range, range);
}

/**
 * Each prompt vector is the embedding of a token drawn (without replacement while possible) from `candidates`,
 * which should be the most frequent tokens (e.g. top 5,000 in Lester et al.), not the first rows of the table.
 */
export function sampledVocab(table: EmbeddingTable, candidates: readonly number[]): Initializer {
  if (candidates.length === 0) throw new Error("sampled-vocab initialisation needs at least one candidate token");
  return (length, width, seed) => {
    checkWidth(table, width);
    const out = new Float32Array(length * width);
    const rng = new Rng(seed);
    let pool: number[] = [];
    for (let p = 0; p < length; p++) {
      if (pool.length === 0) pool = rng.shuffle([...candidates]);
      out.set(row(table, pool.pop()!), p * width);
    }
    return out;
  };
}

/**
 * The first slots hold the class labels' embeddings (a multi-token label word is the mean of its tokens'
 * embeddings), one slot per label in label order; the remaining slots are filled as `fill` would fill them.
 */
export function classLabel(
  table: EmbeddingTable,
  labelTokenIds: readonly (readonly number[])[],
  fill: Initializer,
): Initializer {
  if (labelTokenIds.length === 0) throw new Error("class-label initialisation needs at least one label");
  return (length, width, seed) => {
    checkWidth(table, width);
    const out = fill(length, width, seed);
    const n = Math.min(length, labelTokenIds.length);
    for (let c = 0; c < n; c++) {
      const ids = labelTokenIds[c]!;
      if (ids.length === 0) throw new Error(`label ${c} has no tokens`);
      const mean = new Float32Array(width);
      for (const id of ids) {
        const r = row(table, id);
        for (let d = 0; d < width; d++) mean[d]! += r[d]! / ids.length;
      }
      out.set(mean, c * width);
    }
    return out;
  };
}

/** The embeddings of a text's tokens, in order; a short text is followed by `fill` slots, a long one truncated. */
export function fromText(table: EmbeddingTable, textIds: readonly number[], fill: Initializer): Initializer {
  if (textIds.length === 0) throw new Error("text initialisation needs a non-empty text");
  return (length, width, seed) => {
    checkWidth(table, width);
    const out = fill(length, width, seed);
    for (let p = 0; p < Math.min(length, textIds.length); p++) out.set(row(table, textIds[p]!), p * width);
    return out;
  };
}

/**
 * Candidates for sampled-vocabulary initialisation: the distinct ids of a text sample, most frequent first
 * (ties by id), skipping `skip` (special tokens), at most `max` of them.
 */
export function frequentTokenIds(ids: readonly number[], skip: ReadonlySet<number>, max = 500): number[] {
  const counts = new Map<number, number>();
  for (const id of ids) if (!skip.has(id)) counts.set(id, (counts.get(id) ?? 0) + 1);
  return [...counts.entries()]
    .sort((a, b) => b[1] - a[1] || a[0] - b[0])
    .slice(0, max)
    .map(([id]) => id);
}
