/**
 * Deterministic train/dev/test splitting with de-duplication.
 *
 * Steps, in order:
 *   1. De-duplicate on a normalised key (NFKC, lower case, whitespace collapsed, trimmed; for pairs
 *      the key covers both segments, optionally order-free). The first occurrence is kept. If the
 *      same key carries different labels, every copy is dropped (the label is ambiguous).
 *   2. Group by label (or one group when `stratify` is false), sort each group by key so the result
 *      does not depend on input order, and shuffle it with an Rng seeded from (seed, label).
 *   3. Per group: the first round(n * testFraction) go to test, the next round(n * devFraction) to
 *      dev, the rest to train. So every kept example lands in exactly one split and a duplicated
 *      sentence can never sit in both train and test.
 *   4. Each split is shuffled (seeded) so labels are interleaved.
 */
import { Rng, seedFromString } from "../../backend/random";
import type { Example } from "./example";

export interface SplitOptions {
  /** Any integer; 0 is a real seed. */
  readonly seed: number;
  /** Fraction of each label group put in dev, in [0, 1). */
  readonly devFraction: number;
  /** Fraction of each label group put in test, in [0, 1); devFraction + testFraction < 1. */
  readonly testFraction: number;
  /** Split each label separately so every split keeps the label proportions (default true). */
  readonly stratify?: boolean;
  /** Treat (text, textB) and (textB, text) as the same example when de-duplicating (default false). */
  readonly unorderedPairs?: boolean;
}

export const DEFAULT_SPLIT_OPTIONS: Readonly<Required<SplitOptions>> = Object.freeze({
  seed: 0,
  devFraction: 0.1,
  testFraction: 0.2,
  stratify: true,
  unorderedPairs: false,
});

/** Fill defaults and validate; errors name the bad field and value. */
export function resolveSplitOptions(opts: Partial<SplitOptions> = {}): Required<SplitOptions> {
  const r = { ...DEFAULT_SPLIT_OPTIONS, ...dropUndefined(opts) };
  if (!Number.isInteger(r.seed)) throw new Error(`split option seed must be an integer, got ${r.seed}`);
  for (const field of ["devFraction", "testFraction"] as const) {
    const v = r[field];
    if (typeof v !== "number" || !Number.isFinite(v) || v < 0 || v >= 1) {
      throw new Error(`split option ${field} must be a number in [0, 1), got ${v}`);
    }
  }
  if (r.devFraction + r.testFraction >= 1) {
    throw new Error(
      `split options devFraction + testFraction must be < 1 (something must be left for train), got ${r.devFraction} + ${r.testFraction}`,
    );
  }
  if (typeof r.stratify !== "boolean") throw new Error(`split option stratify must be a boolean, got ${r.stratify}`);
  if (typeof r.unorderedPairs !== "boolean") {
    throw new Error(`split option unorderedPairs must be a boolean, got ${r.unorderedPairs}`);
  }
  return r;
}

export interface SplitResult {
  readonly train: Example[];
  readonly dev: Example[];
  readonly test: Example[];
  /** Examples dropped because an identical (normalised) example came earlier with the same label. */
  readonly duplicatesDropped: number;
  /** Examples dropped because their normalised text occurs with more than one label. */
  readonly conflictsDropped: number;
}

/** Normalised identity of an example's text(s), used for de-duplication. */
export function dedupeKey(ex: Pick<Example, "text" | "textB">, unorderedPairs = false): string {
  const a = normalizeForKey(ex.text);
  if (ex.textB === undefined) return a;
  const b = normalizeForKey(ex.textB);
  const [x, y] = unorderedPairs && b < a ? [b, a] : [a, b];
  return `${x}\u0000${y}`;
}

function normalizeForKey(s: string): string {
  return s.normalize("NFKC").toLowerCase().replace(/\s+/g, " ").trim();
}

/**
 * Drop duplicates (keeping the first) and label conflicts (dropping every copy).
 * Throws on duplicate ids, which would make examples impossible to tell apart downstream.
 */
export function dedupeExamples(
  examples: readonly Example[],
  unorderedPairs = false,
): { kept: Array<{ key: string; ex: Example }>; duplicatesDropped: number; conflictsDropped: number } {
  const ids = new Set<string>();
  const byKey = new Map<string, { first: Example; labels: Set<string>; count: number }>();
  for (const ex of examples) {
    if (ids.has(ex.id)) throw new Error(`duplicate example id "${ex.id}"`);
    ids.add(ex.id);
    const key = dedupeKey(ex, unorderedPairs);
    const entry = byKey.get(key);
    if (entry) {
      entry.labels.add(ex.label);
      entry.count += 1;
    } else {
      byKey.set(key, { first: ex, labels: new Set([ex.label]), count: 1 });
    }
  }
  const kept: Array<{ key: string; ex: Example }> = [];
  let duplicatesDropped = 0;
  let conflictsDropped = 0;
  for (const [key, entry] of byKey) {
    if (entry.labels.size > 1) {
      conflictsDropped += entry.count;
    } else {
      kept.push({ key, ex: entry.first });
      duplicatesDropped += entry.count - 1;
    }
  }
  return { kept, duplicatesDropped, conflictsDropped };
}

/** A 32-bit seed derived from the user seed and a tag, independent across tags. */
export function mixSeed(seed: number, tag: string): number {
  return seedFromString(`${seed}|${tag}`);
}

/** De-duplicate, then split deterministically by seed (see the module comment for the exact recipe). */
export function splitExamples(examples: readonly Example[], options: SplitOptions): SplitResult {
  const opts = resolveSplitOptions(options);
  const { kept, duplicatesDropped, conflictsDropped } = dedupeExamples(examples, opts.unorderedPairs);

  const groups = new Map<string, Array<{ key: string; ex: Example }>>();
  for (const item of kept) {
    const g = opts.stratify ? item.ex.label : "*";
    let list = groups.get(g);
    if (!list) groups.set(g, (list = []));
    list.push(item);
  }

  const train: Example[] = [];
  const dev: Example[] = [];
  const test: Example[] = [];
  for (const g of [...groups.keys()].sort()) {
    const items = groups.get(g)!;
    items.sort((p, q) => (p.key < q.key ? -1 : p.key > q.key ? 1 : 0));
    new Rng(mixSeed(opts.seed, `group:${g}`)).shuffle(items);
    const n = items.length;
    const nTest = Math.round(n * opts.testFraction);
    const nDev = Math.min(n - nTest, Math.round(n * opts.devFraction));
    items.forEach((item, i) => (i < nTest ? test : i < nTest + nDev ? dev : train).push(item.ex));
  }
  new Rng(mixSeed(opts.seed, "order:train")).shuffle(train);
  new Rng(mixSeed(opts.seed, "order:dev")).shuffle(dev);
  new Rng(mixSeed(opts.seed, "order:test")).shuffle(test);
  return { train, dev, test, duplicatesDropped, conflictsDropped };
}

/**
 * A seeded sample of at most `maxPerLabel` examples per label (all of a label when it has fewer).
 * Sorting by id first makes the sample independent of input order.
 */
export function capPerLabel(examples: readonly Example[], maxPerLabel: number, seed: number): Example[] {
  if (!Number.isInteger(maxPerLabel) || maxPerLabel < 1) {
    throw new Error(`maxPerLabel must be a positive integer, got ${maxPerLabel}`);
  }
  const byLabel = new Map<string, Example[]>();
  for (const ex of examples) {
    let list = byLabel.get(ex.label);
    if (!list) byLabel.set(ex.label, (list = []));
    list.push(ex);
  }
  const out: Example[] = [];
  for (const label of [...byLabel.keys()].sort()) {
    const list = byLabel.get(label)!;
    if (list.length <= maxPerLabel) {
      out.push(...list);
      continue;
    }
    list.sort((p, q) => (p.id < q.id ? -1 : p.id > q.id ? 1 : 0));
    new Rng(mixSeed(seed, `cap:${label}`)).shuffle(list);
    out.push(...list.slice(0, maxPerLabel).sort((p, q) => (p.id < q.id ? -1 : p.id > q.id ? 1 : 0)));
  }
  return out;
}

function dropUndefined<T extends object>(o: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}
