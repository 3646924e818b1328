/** A tiny random mixture-of-experts checkpoint (GShard top-2, 4 experts in blocks 0 and 2) for tests. */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { saveCheckpoint } from "../../../lib/backbone/checkpoint";
import type { TransformerConfig } from "../../../lib/backbone/config";
import { Transformer } from "../../../lib/backbone/transformer";
import { Tokenizer } from "../../../lib/tokenizer/tokenizer";
import { tinyCheckpointDir } from "../../tuning/fixture";

export function tinyMoeConfig(vocabSize: number, k: 1 | 2 = 2): Partial<TransformerConfig> {
  return {
    vocabSize,
    maxLen: 96,
    dModel: 16,
    nLayers: 3,
    nHeads: 2,
    dFF: 32,
    numExperts: 4,
    expertsPerToken: k,
    moeLayers: [0, 2],
    capacityFactor: 1.0,
  };
}

/** Writes a fresh tiny MoE checkpoint folder (a new temp folder per call); returns it. */
export function tinyMoeCheckpoint(seed = 5, k: 1 | 2 = 2): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kit-tiny-moe-"));
  const tok = Tokenizer.fromFile(path.join(tinyCheckpointDir(), "tokenizer.json"));
  const model = Transformer.create(tinyMoeConfig(tok.vocabSize, k), seed);
  // a sharper router than the 0.02 initialisation, so routing is uneven and capacity drops happen
  for (const name of model.names())
    if (name.endsWith("mlp.router.weight")) model.param(name).assign(model.param(name).mul(40));
  saveCheckpoint(dir, model, tok, { name: "tiny-moe", card: "# tiny-moe\ntest fixture\n" });
  model.dispose();
  return dir;
}
