/**
 * npm run lm-eval -- --model DIR [--model DIR ...] [--length T] [--batch B] [--json]
 *
 * Held-out language-modelling scores of kit-tokenizer checkpoints, comparable across corpora and tokenizers: the
 * reference held-out text (the validation documents of the SOTU + Moby-Dick + WordNet corpus the first shipped
 * backbones were scored on; lib/pretrain/held-out.ts) and the current corpus's validation split, each as loss
 * (nats/token), perplexity and bits per byte. Both texts are built from installed packages on first use
 * (.cache/corpus-reference, .cache/corpus).
 */
import * as path from "node:path";
import { initBackend } from "../lib/backend/backend";
import { loadCheckpoint } from "../lib/backbone/checkpoint";
import { buildCorpus } from "../lib/data/corpus";
import { HeldOutScore, referenceHeldOutFile, scoreHeldOut } from "../lib/pretrain/held-out";
import { integer } from "../lib/io/validate";
import { parseArgs } from "./args";

const USAGE = "usage: npm run lm-eval -- --model DIR[,DIR...] [--length T] [--batch B] [--json]";

async function main(): Promise<void> {
  const args = parseArgs(
    process.argv.slice(2),
    {
      model: { type: "string", required: true },
      length: { type: "int", default: 128 },
      batch: { type: "int", default: 8 },
      json: { type: "bool", default: false },
    },
    USAGE,
  );
  const dirs = (args.model as string).split(",").filter((d) => d !== "");
  const batch = integer(args.batch, "--batch", { min: 1 });
  const length = integer(args.length, "--length", { min: 2 });
  await initBackend();
  const reference = await referenceHeldOutFile();
  await buildCorpus({ outDir: path.join(".cache", "corpus") });
  const current = path.join(".cache", "corpus", "val.txt");
  const cacheDir = path.join(".cache", "corpus", "tokens");
  for (const dir of dirs) {
    const b = loadCheckpoint(dir);
    if (length > b.config.maxLen)
      throw new Error(`--length ${length} exceeds ${dir}'s maximum length ${b.config.maxLen}`);
    const scores = {
      reference: scoreHeldOut(b.model, b.tokenizer, reference, { batch, length, cacheDir }),
      current: scoreHeldOut(b.model, b.tokenizer, current, { batch, length, cacheDir }),
    };
    if (args.json) {
      console.log(JSON.stringify({ model: dir, name: b.name, fingerprint: b.fingerprint, ...scores }));
    } else {
      const line = (label: string, s: HeldOutScore) =>
        `  ${label.padEnd(28)} loss ${s.loss.toFixed(4)}  ppl ${s.perplexity.toFixed(2).padStart(7)}  ` +
        `${s.bitsPerByte.toFixed(4)} bits/byte  (${s.tokens} tokens, ${s.bytes} bytes)`;
      console.log(`${dir} (${b.name}, ${b.fingerprint.slice(0, 19)}...)`);
      console.log(line("reference held-out text", scores.reference));
      console.log(line("current corpus validation", scores.current));
    }
    b.model.dispose();
  }
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
