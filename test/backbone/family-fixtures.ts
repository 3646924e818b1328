/** Tiny random checkpoints of every family, saved by the kit in Hugging Face layout (one folder per family, per process). */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { saveCheckpoint } from "../../lib/backbone/checkpoint";
import type { TransformerConfig } from "../../lib/backbone/config";
import { Transformer } from "../../lib/backbone/transformer";
import { Tokenizer } from "../../lib/tokenizer/tokenizer";
import { tinyCheckpointDir } from "../tuning/fixture";

const BASE = { maxLen: 96, dModel: 16, nLayers: 2, nHeads: 4, dFF: 24 };

export const TINY_FAMILIES: Readonly<Record<string, Partial<TransformerConfig>>> = Object.freeze({
  gpt2: { ...BASE },
  llama: { ...BASE, family: "llama", activation: "silu", nKvHeads: 2, tiedHead: false },
  qwen2: { ...BASE, family: "llama", activation: "silu", nKvHeads: 1, qkvBias: true, outBias: false, mlpBias: false },
  gpt_neox: {
    ...BASE,
    family: "gpt_neox",
    activation: "gelu",
    rotaryPct: 0.5,
    tiedHead: false,
    parallelResidual: true,
  },
});

const dirs = new Map<string, string>();

export function tinyFamilyDir(name: string): string {
  const hit = dirs.get(name);
  if (hit) return hit;
  const tok = Tokenizer.fromFile(path.join(tinyCheckpointDir(), "tokenizer.json"));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `kit-tiny-${name}-`));
  const model = Transformer.create({ ...TINY_FAMILIES[name], vocabSize: tok.vocabSize }, 5);
  saveCheckpoint(dir, model, tok, { name: `tiny-${name}`, card: `# tiny ${name}\ntest fixture\n` });
  model.dispose();
  dirs.set(name, dir);
  return dir;
}
