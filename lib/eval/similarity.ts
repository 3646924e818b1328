/**
 * Comparing trained prompts and rankings: cosine similarity of two prompts (flattened [P, D] vectors, as SPoT,
 * Vu et al. 2022, compares prompt embeddings) and Spearman's rank correlation (ties get average ranks; the
 * Pearson correlation of the ranks).
 */

/** Cosine of the angle between two equal-length vectors; throws on a length mismatch or a zero vector. */
export function cosineSimilarity(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`cosineSimilarity: vectors of length ${a.length} and ${b.length}`);
  if (a.length === 0) throw new Error("cosineSimilarity: empty vectors");
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  if (na === 0 || nb === 0) throw new Error("cosineSimilarity: a zero vector has no direction");
  return dot / Math.sqrt(na * nb);
}

/** 1-based ranks, ties sharing their average rank. */
export function ranks(values: readonly number[]): number[] {
  const order = values.map((v, i) => [v, i] as const).sort((x, y) => x[0] - y[0]);
  const out = new Array<number>(values.length);
  for (let i = 0; i < order.length;) {
    let j = i;
    while (j + 1 < order.length && order[j + 1]![0] === order[i]![0]) j++;
    const r = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) out[order[k]![1]] = r;
    i = j + 1;
  }
  return out;
}

function pearson(x: readonly number[], y: readonly number[]): number {
  const n = x.length;
  const mx = x.reduce((s, v) => s + v, 0) / n;
  const my = y.reduce((s, v) => s + v, 0) / n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    sxy += (x[i]! - mx) * (y[i]! - my);
    sxx += (x[i]! - mx) ** 2;
    syy += (y[i]! - my) ** 2;
  }
  if (sxx === 0 || syy === 0) return NaN;
  return sxy / Math.sqrt(sxx * syy);
}

/** Spearman's rho of paired values; NaN when either side is constant. Needs at least 2 finite pairs. */
export function spearman(x: readonly number[], y: readonly number[]): number {
  if (x.length !== y.length) throw new Error(`spearman: ${x.length} x values but ${y.length} y values`);
  if (x.length < 2) throw new Error(`spearman: needs at least 2 pairs, got ${x.length}`);
  [...x, ...y].forEach((v, i) => {
    if (!Number.isFinite(v)) throw new Error(`spearman: value ${i} is ${v}, expected a finite number`);
  });
  return pearson(ranks(x), ranks(y));
}
