/**
 * The PEFT PREFIX_TUNING export against an independent reference: test/prompt/peft/peft_prefix_reference.py reads the
 * exported adapter folder, reshapes `prompt_embeddings` into past_key_values exactly as PEFT's get_prompt does (view
 * [B, P, L*2, heads, head_dim], permute [2, 0, 3, 1, 4], split into (key, value) per layer) and runs the tiny
 * Hugging Face-layout models of test/backbone/hf_reference.py as transformers runs a decoder with that cache (real
 * tokens at P, P+1, ...). The kit's forward pass with the same prefix trained as "after-prefix" must give the same
 * logits, on GPT-2, Llama with grouped-query attention, Qwen2 with one key/value head and GPT-NeoX; the same prefix
 * numbered "from-0" must not (what the exporter refuses).
 */
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { tf } from "../../../lib/backend/backend";
import { Rng, uniformArray } from "../../../lib/backend/random";
import { loadCheckpoint, type LoadedBackbone } from "../../../lib/backbone/checkpoint";
import { PrefixEncoder, prefixShapeOf, tableSize } from "../../../lib/prompt/prefix-encoder";
import { exportPrefixTuningAdapter, peftPrefixBackboneOf } from "../../../lib/prompt/peft";
import { tokens } from "../../../lib/prompt/sequence";
import { spliceBatch } from "../../../lib/prompt/splice";
import { hfReferenceCheckpoints, PYTHON } from "../../backbone/hf-fixtures";
import { setupBackend } from "../../helpers";

const TOL = 1e-4;
const SCRIPT = path.resolve(__dirname, "../../../../test/prompt/peft/peft_prefix_reference.py");
const VARIANTS = ["gpt2", "llama-gqa-untied", "qwen2-bf16-sharded", "neox-f16"];
const IDS = [
  [11, 57, 203, 9, 140],
  [33, 71],
  [250, 6, 98, 12],
];
const P = 3;

/** Logits of the real rows (flattened) of IDS with `enc`'s prefix. */
function kitLogits(b: LoadedBackbone, enc: PrefixEncoder): Float32Array {
  const v = b.config.vocabSize;
  return tf.tidy(() => {
    const sp = spliceBatch(
      b.model,
      IDS.map((row) => ({ pieces: [tokens(row)] })),
      null,
      0,
    );
    const h = b.model.forwardEmbeddings(sp.x, sp.mask, { prefix: enc.prefix() });
    const all = b.model.logits(tf.reshape(h, [sp.batch * sp.length, b.config.dModel]) as tf.Tensor2D).dataSync();
    const keep: number[] = [];
    for (let i = 0; i < sp.mask.length; i++) if (sp.mask[i]) for (let j = 0; j < v; j++) keep.push(all[i * v + j]!);
    return Float32Array.from(keep);
  });
}

function realRows(logits: number[][][]): number[] {
  const out: number[] = [];
  logits.forEach((seq, r) => seq.slice(0, IDS[r]!.length).forEach((l) => out.push(...l)));
  return out;
}

function maxDiff(got: Float32Array, want: number[]): { worst: number; at: number } {
  assert.equal(got.length, want.length, "logit count");
  let worst = 0;
  let at = -1;
  for (let i = 0; i < got.length; i++) {
    const d = Math.abs(got[i]! - want[i]!);
    if (!(d <= worst)) {
      worst = d;
      at = i;
    }
  }
  return { worst, at };
}

describe("PEFT PREFIX_TUNING export against the independent PyTorch reference", function () {
  this.timeout(180_000);
  let refs: { root: string; variants: string[] } | null = null;

  before(async function () {
    await setupBackend();
    refs = hfReferenceCheckpoints();
    if (!refs) {
      console.log("    (skipped: /usr/bin/python3 with torch is not available)");
      this.skip();
    }
  });

  it(`${VARIANTS.join(", ")}: PEFT's reshaping of the exported table, run with the real tokens at P.., gives the kit's logits within ${TOL}`, () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), "kit-peft-prefix-ref-"));
    const kit: Record<string, { after: Float32Array; from0: Float32Array }> = {};
    const jobs: { variant: string; adapter: string; ids: number[][]; lengths: number[] }[] = [];
    try {
      VARIANTS.forEach((variant, i) => {
        const b = loadCheckpoint(path.join(refs!.root, variant));
        try {
          b.model.freeze();
          const shape = prefixShapeOf(b.config, P);
          const table = uniformArray(new Rng(100 + i), tableSize(shape), -1, 1);
          const after = PrefixEncoder.fromTable(shape, table, "after-prefix");
          const from0 = PrefixEncoder.fromTable(shape, table, "from-0");
          kit[variant] = { after: kitLogits(b, after), from0: kitLogits(b, from0) };
          const adapter = path.join(out, variant);
          const meta = {
            task: "yelp",
            labels: ["negative", "positive"],
            settings: { length: P, init: "random-uniform", position: "key/value prefix (every layer)" },
            backbone: { name: b.name, fingerprint: b.fingerprint },
            metrics: {},
          };
          exportPrefixTuningAdapter(adapter, after, meta, peftPrefixBackboneOf(b));
          jobs.push({
            variant,
            adapter,
            ids: IDS.map((r) => [...r, ...Array(5 - r.length).fill(0)]),
            lengths: IDS.map((r) => r.length),
          });
          after.dispose();
          from0.dispose();
        } finally {
          b.model.dispose();
        }
      });
      const jobFile = path.join(out, "jobs.json");
      fs.writeFileSync(jobFile, JSON.stringify(jobs));
      const run = spawnSync(PYTHON, [SCRIPT, jobFile], { encoding: "utf8", timeout: 120_000 });
      assert.equal(run.status, 0, `${SCRIPT} failed:\n${run.stderr}`);
      const ref = JSON.parse(run.stdout.trim().split("\n").pop()!) as Record<string, number[][][]>;
      for (const variant of VARIANTS) {
        const want = realRows(ref[variant]!);
        const { worst, at } = maxDiff(kit[variant]!.after, want);
        assert.ok(worst <= TOL, `${variant}: max |kit - PEFT reference| = ${worst} at ${at}`);
        // numbered from 0, the same prefix computes something else: the difference the exporter refuses
        const moved = maxDiff(kit[variant]!.from0, want).worst;
        assert.ok(moved > 100 * TOL, `${variant}: "from-0" positions moved the logits by only ${moved}`);
      }
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  });
});
