/**
 * Train (or reuse) the byte-level BPE tokenizer on a built corpus (lib/data/corpus.ts) and write
 *   <outPath>                 tokenizer.json (Hugging Face format)
 *   <outPath>.stats.json      what it was trained on (train.txt SHA-256), options, trainer
 *                             timings, and tokens per character measured with the library on
 *                             the held-out val.txt.
 * Only train.txt is used for training. Reuse: if both files exist and the stats record the same
 * train.txt hash and options, the existing tokenizer is loaded instead of retraining.
 *
 * CLI: node build/lib/tokenizer/train-tokenizer.js [corpusDir=.cache/corpus] [vocabSize=2048] [outPath=.cache/tokenizer-<vocabSize>.json]
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { CorpusManifest, readCorpusParagraphs } from "../data/corpus";
import { writeJsonAtomic } from "../io/atomic-write";
import { BpeTrainOptions, BpeTrainStats, resolveBpeTrainOptions, trainBpeWithStats } from "./bpe-trainer";
import { Tokenizer } from "./tokenizer";

export interface TokenizerTrainingRecord {
  corpus: { dir: string; trainSha256: string; trainBytes: number; valSha256: string };
  options: BpeTrainOptions;
  trainer: BpeTrainStats;
  /** Library (run-time) encoding of val.txt paragraphs. */
  validation: { paragraphs: number; characters: number; tokens: number; tokensPerCharacter: number; encodeMs: number };
}

/** Train on `<corpusDir>/train.txt` unless an up-to-date tokenizer already exists at `outPath`. */
export function trainTokenizerFromCorpus(opts: {
  corpusDir: string;
  outPath: string;
  vocabSize?: number;
  minFrequency?: number;
}): { tokenizer: Tokenizer; record: TokenizerTrainingRecord; reused: boolean } {
  const options = resolveBpeTrainOptions({ vocabSize: opts.vocabSize, minFrequency: opts.minFrequency });
  const manifestPath = path.join(opts.corpusDir, "manifest.json");
  let manifest: CorpusManifest;
  try {
    manifest = JSON.parse(fs.readFileSync(manifestPath, "utf8"));
  } catch (err) {
    throw new Error(`${manifestPath}: cannot read corpus manifest (build the corpus first): ${(err as Error).message}`);
  }
  const statsPath = `${opts.outPath}.stats.json`;
  const previous = readRecord(statsPath);
  if (
    previous &&
    fs.existsSync(opts.outPath) &&
    previous.corpus.trainSha256 === manifest.files.train.sha256 &&
    previous.options.vocabSize === options.vocabSize &&
    previous.options.minFrequency === options.minFrequency
  ) {
    return { tokenizer: Tokenizer.fromFile(opts.outPath), record: previous, reused: true };
  }

  const trainLines = readCorpusParagraphs(path.join(opts.corpusDir, manifest.files.train.file));
  const { tokenizer: json, stats } = trainBpeWithStats(trainLines, options);
  const tokenizer = Tokenizer.fromJSON(json, opts.outPath);

  const valLines = readCorpusParagraphs(path.join(opts.corpusDir, manifest.files.val.file));
  const t0 = performance.now();
  let tokens = 0;
  let characters = 0;
  for (const line of valLines) {
    tokens += tokenizer.encode(line).length;
    characters += line.length;
  }
  const record: TokenizerTrainingRecord = {
    corpus: {
      dir: opts.corpusDir,
      trainSha256: manifest.files.train.sha256,
      trainBytes: manifest.files.train.bytes,
      valSha256: manifest.files.val.sha256,
    },
    options,
    trainer: stats,
    validation: {
      paragraphs: valLines.length,
      characters,
      tokens,
      tokensPerCharacter: characters > 0 ? tokens / characters : 0,
      encodeMs: performance.now() - t0,
    },
  };
  fs.mkdirSync(path.dirname(path.resolve(opts.outPath)), { recursive: true });
  tokenizer.save(opts.outPath);
  writeJsonAtomic(statsPath, record);
  return { tokenizer, record, reused: false };
}

function readRecord(file: string): TokenizerTrainingRecord | null {
  try {
    return JSON.parse(fs.readFileSync(file, "utf8"));
  } catch {
    return null;
  }
}

if (require.main === module) {
  const [corpusDir = ".cache/corpus", vocab = "2048", outPath] = process.argv.slice(2);
  const vocabSize = Number(vocab);
  try {
    const { record, reused } = trainTokenizerFromCorpus({
      corpusDir,
      vocabSize,
      outPath: outPath ?? `.cache/tokenizer-${vocabSize}.json`,
    });
    const t = record.trainer;
    console.log(reused ? "reused existing tokenizer" : "trained tokenizer");
    console.log(
      `vocab ${t.vocabSize} (merges ${t.merges}, stopped by ${t.stoppedBy}); train: ${t.characters} chars, ${t.words} words (${t.distinctWords} distinct) -> ${t.tokens} tokens, ${t.tokensPerCharacter.toFixed(4)} tokens/char`,
    );
    console.log(
      `trainer wall time ${(t.totalMs / 1000).toFixed(2)} s (count ${(t.countMs / 1000).toFixed(2)} s, merge ${(t.mergeMs / 1000).toFixed(2)} s)`,
    );
    const v = record.validation;
    console.log(
      `val (library encode): ${v.characters} chars -> ${v.tokens} tokens, ${v.tokensPerCharacter.toFixed(4)} tokens/char, ${(v.encodeMs / 1000).toFixed(2)} s`,
    );
  } catch (err) {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  }
}
