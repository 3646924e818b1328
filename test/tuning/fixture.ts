/** A tiny backbone + tokenizer checkpoint for tuning tests (trained tokenizer, random weights). */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { loadCheckpoint, saveCheckpoint, LoadedBackbone } from "../../lib/backbone/checkpoint";
import { Transformer } from "../../lib/backbone/transformer";
import { trainBpe } from "../../lib/tokenizer/bpe-trainer";
import { Tokenizer } from "../../lib/tokenizer/tokenizer";

const TEXT = [
  "the film was good and the food was great",
  "the service was bad and it was not worth it",
  "all in all it was good, great acting and a good story",
  "no, it was not good at all, a bad and boring film",
  "this message is about money and business offers",
  "this message is about public and general news",
  "happy and sad are different words, big and large are equal",
];

let cachedDir: string | null = null;

/** Writes (once per process) a checkpoint folder with a 300-token tokenizer and a 2-layer model. */
export function tinyCheckpointDir(): string {
  if (cachedDir) return cachedDir;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kit-tiny-ckpt-"));
  const tok = Tokenizer.fromJSON(trainBpe(TEXT, { vocabSize: 300, minFrequency: 1 }));
  const model = Transformer.create(
    { vocabSize: tok.vocabSize, maxLen: 96, dModel: 16, nLayers: 2, nHeads: 2, dFF: 32 },
    11,
  );
  saveCheckpoint(dir, model, tok, { name: "tiny", card: "# tiny\ntest fixture\n" });
  model.dispose();
  cachedDir = dir;
  return dir;
}

export function loadTiny(): LoadedBackbone {
  return loadCheckpoint(tinyCheckpointDir());
}
