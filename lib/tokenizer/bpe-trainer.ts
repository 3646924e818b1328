/**
 * Byte-level BPE trainer (GPT-2 style) that emits a Hugging Face tokenizer.json.
 *
 * Algorithm:
 *   1. normalise each line (tokenizer normaliser), split it into byte-level pre-tokens ("words")
 *      and count distinct words; merges never cross word boundaries;
 *   2. count adjacent symbol pairs over distinct words weighted by word frequency, remembering
 *      which words contain each pair;
 *   3. repeatedly take the most frequent pair (ties: smallest (left id, right id)), add the merged
 *      symbol, and update pair counts only in the words that contained the pair.
 * Pair counts live in a Map; a max-heap holds (count, pair) entries that may be stale. A pair's
 * count can only grow when it is created by the current merge (it then contains the new symbol and
 * gets a fresh heap entry), otherwise it only shrinks, so a popped entry whose count is out of date
 * is simply re-pushed with its current count. This makes each merge cost proportional to the
 * number of words it touches, not to the corpus size.
 */
import { BYTE_TO_CHAR, splitPreTokens, toByteLevel } from "./byte-level";
import { SPECIAL_TOKENS } from "./special-tokens";
import { BASE_VOCAB_SIZE, TokenizerJson, buildTokenizerJson } from "./tokenizer-json";
import { normalizeText } from "./text-normalizer";

/** Trainer options. */
export interface BpeTrainOptions {
  /** Final vocabulary size including the 4 special tokens and 256 byte symbols (260 ..= 65536). */
  vocabSize: number;
  /** Stop merging when the best pair occurs fewer than this many times. */
  minFrequency: number;
}

export const DEFAULT_BPE_TRAIN_OPTIONS: Readonly<BpeTrainOptions> = Object.freeze({ vocabSize: 2048, minFrequency: 2 });

/** Fill defaults and validate; throws naming the bad field and value. */
export function resolveBpeTrainOptions(opts: Partial<BpeTrainOptions> = {}): BpeTrainOptions {
  const r: BpeTrainOptions = { ...DEFAULT_BPE_TRAIN_OPTIONS, ...stripUndefined(opts) };
  if (!Number.isInteger(r.vocabSize) || r.vocabSize < BASE_VOCAB_SIZE || r.vocabSize > 65536) {
    throw new Error(
      `BpeTrainOptions.vocabSize: expected an integer in [${BASE_VOCAB_SIZE}, 65536], got ${r.vocabSize}`,
    );
  }
  if (!Number.isInteger(r.minFrequency) || r.minFrequency < 1) {
    throw new Error(`BpeTrainOptions.minFrequency: expected an integer >= 1, got ${r.minFrequency}`);
  }
  return r;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** Measurements from one training run. */
export interface BpeTrainStats {
  lines: number;
  /** Characters (UTF-16 code units) of normalised input text. */
  characters: number;
  /** Pre-tokens (words with repetition) and distinct words. */
  words: number;
  distinctWords: number;
  /** Merge rules learned (can exceed vocabSize - 260 when two merges spell the same token). */
  merges: number;
  vocabSize: number;
  /** Tokens the training text encodes to with the final merges (sum over words of count * pieces). */
  tokens: number;
  tokensPerCharacter: number;
  /** Wall time in milliseconds: counting words, merging, total. */
  countMs: number;
  mergeMs: number;
  totalMs: number;
  /** Why merging stopped: "vocabSize" reached or best pair below "minFrequency" / "noPairs" left. */
  stoppedBy: "vocabSize" | "minFrequency" | "noPairs";
}

/** Train a byte-level BPE tokenizer on `lines` (each line is normalised first). */
export function trainBpe(lines: Iterable<string>, opts: Partial<BpeTrainOptions> = {}): TokenizerJson {
  return trainBpeWithStats(lines, opts).tokenizer;
}

/** As `trainBpe`, also returning sizes and timings.
 * Long on purpose: the merge loop updates the pair counts, the pair index and the word table together; split, that incremental state would pass through every helper and the O(changed pairs) update would be hard to follow.
 */
export function trainBpeWithStats(
  lines: Iterable<string>,
  opts: Partial<BpeTrainOptions> = {},
): { tokenizer: TokenizerJson; stats: BpeTrainStats } {
  const o = resolveBpeTrainOptions(opts);
  const t0 = performance.now();

  // 1. Count raw pre-tokens, then byte-map each distinct one once.
  const rawCounts = new Map<string, number>();
  let nLines = 0;
  let nChars = 0;
  let nWords = 0;
  for (const line of lines) {
    nLines++;
    const text = normalizeText(line);
    nChars += text.length;
    for (const piece of splitPreTokens(text)) {
      rawCounts.set(piece, (rawCounts.get(piece) ?? 0) + 1);
      nWords++;
    }
  }
  const charToId = new Map<string, number>();
  BYTE_TO_CHAR.forEach((c, b) => charToId.set(c, SPECIAL_TOKENS.length + b));
  // Distinct byte-level words in a deterministic order (sorted), as symbol-id arrays.
  const merged = new Map<string, number>();
  for (const [raw, n] of rawCounts) {
    const w = toByteLevel(raw);
    merged.set(w, (merged.get(w) ?? 0) + n);
  }
  rawCounts.clear();
  const wordStrings = [...merged.keys()].sort();
  const wordCount = new Float64Array(wordStrings.length);
  const words: Int32Array[] = wordStrings.map((w, i) => {
    wordCount[i] = merged.get(w)!;
    const sym = new Int32Array(w.length);
    for (let k = 0; k < w.length; k++) sym[k] = charToId.get(w[k]!)!;
    return sym;
  });
  merged.clear();
  const t1 = performance.now();

  // 2. Initial pair counts and pair -> words index.
  const SHIFT = 65536;
  const counts = new Map<number, number>();
  const where = new Map<number, number[]>();
  const addWhere = (pair: number, w: number) => {
    let list = where.get(pair);
    if (!list) where.set(pair, (list = []));
    if (list[list.length - 1] !== w) list.push(w);
  };
  words.forEach((sym, w) => {
    const c = wordCount[w]!;
    for (let k = 0; k + 1 < sym.length; k++) {
      const pair = sym[k]! * SHIFT + sym[k + 1]!;
      counts.set(pair, (counts.get(pair) ?? 0) + c);
      addWhere(pair, w);
    }
  });
  const heap = new PairHeap();
  for (const [pair, c] of counts) heap.push(c, pair);

  // 3. Merge loop.
  const tokenStr: string[] = [...SPECIAL_TOKENS, ...BYTE_TO_CHAR];
  const idOf = new Map<string, number>(tokenStr.map((t, i) => [t, i]));
  const banned = new Set<number>();
  const mergeList: [string, string][] = [];
  const seenAt = new Int32Array(words.length).fill(-1);
  let stoppedBy: BpeTrainStats["stoppedBy"] = "vocabSize";
  while (tokenStr.length < o.vocabSize) {
    if (heap.size === 0) {
      stoppedBy = "noPairs";
      break;
    }
    const { count, pair } = heap.pop();
    if (banned.has(pair)) continue;
    const actual = counts.get(pair) ?? 0;
    if (actual !== count) {
      if (actual > 0) heap.push(actual, pair);
      continue;
    }
    if (actual < o.minFrequency) {
      stoppedBy = "minFrequency";
      break;
    }
    const left = Math.floor(pair / SHIFT);
    const right = pair % SHIFT;
    const mergedStr = tokenStr[left]! + tokenStr[right]!;
    if (SPECIAL_TOKENS.includes(mergedStr)) {
      banned.add(pair); // e.g. the literal text "<pad>": must not become a second id for a special token
      continue;
    }
    // Two merge paths can spell the same token ("ab"+"c", "a"+"bc"): reuse its id, as HF does.
    let newId = idOf.get(mergedStr);
    if (newId === undefined) {
      newId = tokenStr.length;
      tokenStr.push(mergedStr);
      idOf.set(mergedStr, newId);
    }
    mergeList.push([tokenStr[left]!, tokenStr[right]!]);
    const step = mergeList.length;
    const touched = new Set<number>();
    for (const w of where.get(pair) ?? []) {
      if (seenAt[w] === step) continue;
      seenAt[w] = step;
      const sym = words[w]!;
      const c = wordCount[w]!;
      const next = applyMerge(sym, left, right, newId as number);
      if (next === sym) continue; // stale index entry: pair no longer in this word
      for (let k = 0; k + 1 < sym.length; k++) {
        const p = sym[k]! * SHIFT + sym[k + 1]!;
        const v = counts.get(p)! - c;
        if (v === 0) counts.delete(p);
        else counts.set(p, v);
      }
      for (let k = 0; k + 1 < next.length; k++) {
        const p = next[k]! * SHIFT + next[k + 1]!;
        counts.set(p, (counts.get(p) ?? 0) + c);
        if (next[k] === newId || next[k + 1] === newId) {
          addWhere(p, w);
          touched.add(p);
        }
      }
      words[w] = next;
    }
    where.delete(pair);
    counts.delete(pair);
    for (const p of touched) {
      const c = counts.get(p);
      if (c !== undefined && c > 0) heap.push(c, p);
    }
  }
  const t2 = performance.now();

  let nTokens = 0;
  words.forEach((sym, w) => (nTokens += sym.length * wordCount[w]!));
  const tokenizer = buildTokenizerJson(mergeList);
  const stats: BpeTrainStats = {
    lines: nLines,
    characters: nChars,
    words: nWords,
    distinctWords: words.length,
    merges: mergeList.length,
    vocabSize: tokenStr.length,
    tokens: nTokens,
    tokensPerCharacter: nChars > 0 ? nTokens / nChars : 0,
    countMs: t1 - t0,
    mergeMs: t2 - t1,
    totalMs: performance.now() - t0,
    stoppedBy,
  };
  return { tokenizer, stats };
}

/** Replace each non-overlapping (left, right) occurrence, scanning left to right; returns `sym` itself if none. */
function applyMerge(sym: Int32Array, left: number, right: number, newId: number): Int32Array {
  let out: number[] | undefined;
  for (let k = 0; k < sym.length; k++) {
    if (k + 1 < sym.length && sym[k] === left && sym[k + 1] === right) {
      out ??= Array.from(sym.subarray(0, k));
      out.push(newId);
      k++;
    } else if (out) {
      out.push(sym[k]!);
    }
  }
  return out ? Int32Array.from(out) : sym;
}

/** Binary max-heap of (count, pair): higher count first, then smaller pair key (deterministic ties). */
class PairHeap {
  private counts: number[] = [];
  private pairs: number[] = [];

  get size(): number {
    return this.counts.length;
  }

  private before(i: number, j: number): boolean {
    const ci = this.counts[i]!;
    const cj = this.counts[j]!;
    return ci > cj || (ci === cj && this.pairs[i]! < this.pairs[j]!);
  }

  private swap(i: number, j: number): void {
    const c = this.counts[i]!;
    this.counts[i] = this.counts[j]!;
    this.counts[j] = c;
    const p = this.pairs[i]!;
    this.pairs[i] = this.pairs[j]!;
    this.pairs[j] = p;
  }

  push(count: number, pair: number): void {
    this.counts.push(count);
    this.pairs.push(pair);
    let i = this.counts.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.before(i, parent)) break;
      this.swap(i, parent);
      i = parent;
    }
  }

  pop(): { count: number; pair: number } {
    const top = { count: this.counts[0]!, pair: this.pairs[0]! };
    const lastC = this.counts.pop()!;
    const lastP = this.pairs.pop()!;
    if (this.counts.length > 0) {
      this.counts[0] = lastC;
      this.pairs[0] = lastP;
      let i = 0;
      const n = this.counts.length;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let best = i;
        if (l < n && this.before(l, best)) best = l;
        if (r < n && this.before(r, best)) best = r;
        if (best === i) break;
        this.swap(i, best);
        i = best;
      }
    }
    return top;
  }
}
