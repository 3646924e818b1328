/**
 * Held-out language-modelling figures that stay comparable when the corpus or the tokenizer changes.
 *
 * - The reference held-out text is the validation split of the corpus the first shipped backbones were trained on
 *   (SOTU + Moby-Dick + WordNet, same split rule and seed): adding sources (Brown) leaves those documents held out,
 *   so a continued or retrained backbone is scored on exactly the text the old cards were scored on.
 * - Bits per byte divide the summed next-token loss by the UTF-8 bytes of the text it covers, so two tokenizers
 *   (a 2,048-token BPE and a retrained one) can be compared: nats per token depend on how long a token is,
 *   bits per byte do not.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { Transformer } from "../backbone/transformer";
import { buildCorpus } from "../data/corpus";
import { CorpusSource, mobyDickSource, sotuSource, wordnetSource } from "../data/corpus-sources";
import type { Tokenizer } from "../tokenizer/tokenizer";
import { evaluationBatches } from "./batches";
import { validationLoss } from "./pretrainer";
import { encodeCorpusFile } from "./token-stream";

/** The sources of the corpus the first shipped backbones (kit-nano/small/base, 2026-11) were trained on. */
export function referenceCorpusSources(): CorpusSource[] {
  return [sotuSource(), mobyDickSource(), wordnetSource()];
}

export interface HeldOutScore {
  /** The text file scored. */
  readonly file: string;
  /** Mean next-token loss over the scored windows, nats per token. */
  readonly loss: number;
  readonly perplexity: number;
  /** Tokens in the whole file's stream (one <eos> per paragraph) and the tokens the scored windows covered. */
  readonly tokens: number;
  readonly scoredTokens: number;
  /** UTF-8 bytes of the text the stream encodes: each non-blank line plus its newline (the <eos>). */
  readonly bytes: number;
  /** loss * tokens / (bytes * ln 2): the scored windows' mean loss spread over the whole file's bytes. */
  readonly bitsPerByte: number;
}

/** UTF-8 bytes of the lines encodeCorpusFile encodes, each with its newline (which the <eos> stands for). */
export function encodedTextBytes(text: string): number {
  let bytes = 0;
  for (const line of text.split("\n")) if (line.trim() !== "") bytes += Buffer.byteLength(line, "utf8") + 1;
  return bytes;
}

/** Scores `file` with `model` in non-overlapping windows of `length` tokens (all of them, in batches of `batch`). */
export function scoreHeldOut(
  model: Transformer,
  tokenizer: Tokenizer,
  file: string,
  options: { batch: number; length: number; cacheDir: string },
): HeldOutScore {
  const stream = encodeCorpusFile(file, tokenizer, options.cacheDir);
  const batches = evaluationBatches(stream, options.batch, options.length, stream.length);
  if (batches.length === 0)
    throw new Error(
      `${file}: ${stream.length} tokens is less than one batch of ${options.batch} x ${options.length} to score`,
    );
  const loss = validationLoss(model, batches);
  const bytes = encodedTextBytes(fs.readFileSync(file, "utf8"));
  return {
    file,
    loss,
    perplexity: Math.exp(loss),
    tokens: stream.length,
    scoredTokens: batches.length * options.batch * options.length,
    bytes,
    bitsPerByte: (loss * stream.length) / (bytes * Math.LN2),
  };
}

/** Builds (or reuses) the reference corpus under `dir` and returns its validation file. */
export async function referenceHeldOutFile(dir = path.join(".cache", "corpus-reference")): Promise<string> {
  await buildCorpus({ outDir: dir, sources: referenceCorpusSources() });
  return path.join(dir, "val.txt");
}
