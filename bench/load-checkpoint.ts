/**
 * npm run bench:load [-- --dtype F32|F16|BF16] [--layers 12] [--width 768] [--vocab 50257] [--dir DIR]
 *
 * Load time and peak memory of a GPT-2-small-shaped (124M parameters) Hugging Face checkpoint: writes a random one
 * with bench/make_gpt2_checkpoint.py (once per shape and dtype, under the system temp folder unless --dir), then
 * loads it in a fresh Node process and reports wall time, the process's peak resident memory (maxRSS), the
 * weights' size on disk and as float32, and the tfjs tensor bytes. The loader reads tensors one at a time, so peak
 * memory should stay near one float32 copy of the weights (inside the wasm heap) plus the runtime.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseArgs } from "../scripts/args";

const USAGE =
  "usage: npm run bench:load [-- --dtype F32|F16|BF16] [--layers 12] [--width 768] [--vocab 50257] [--dir DIR]";

async function child(dir: string): Promise<void> {
  const { initBackend, tf } = await import("../lib/backend/backend");
  const { loadCheckpoint } = await import("../lib/backbone/checkpoint");
  await initBackend();
  const rssBefore = process.resourceUsage().maxRSS * 1024;
  const t0 = process.hrtime.bigint();
  const b = loadCheckpoint(dir);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const out = {
    seconds,
    params: b.model.paramCount(),
    tensorBytes: tf.memory().numBytes,
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
    rssBeforeLoadBytes: rssBefore,
    fingerprint: b.fingerprint,
  };
  console.log(JSON.stringify(out));
}

async function main(): Promise<void> {
  if (process.argv[2] === "--child") return child(process.argv[3]!);
  const a = parseArgs(
    process.argv.slice(2),
    {
      dtype: { type: "string", default: "F32" },
      layers: { type: "int", default: 12 },
      width: { type: "int", default: 768 },
      vocab: { type: "int", default: 50257 },
      dir: { type: "string" },
    },
    USAGE,
  );
  if (!["F32", "F16", "BF16"].includes(a.dtype as string))
    throw new Error(`--dtype must be F32, F16 or BF16, got ${JSON.stringify(a.dtype)}`);
  const dir =
    (a.dir as string | undefined) ?? path.join(os.tmpdir(), `kit-gpt2-${a.layers}x${a.width}-v${a.vocab}-${a.dtype}`);
  const weights = path.join(dir, "model.safetensors");
  if (!fs.existsSync(weights)) {
    console.error(`writing a random checkpoint to ${dir} ...`);
    const script = path.resolve(__dirname, "../../bench/make_gpt2_checkpoint.py");
    const args = [
      script,
      dir,
      "--dtype",
      String(a.dtype),
      "--layers",
      String(a.layers),
      "--width",
      String(a.width),
      "--vocab",
      String(a.vocab),
    ];
    const r = spawnSync("/usr/bin/python3", args, { stdio: "inherit" });
    if (r.status !== 0) throw new Error(`bench/make_gpt2_checkpoint.py failed (status ${r.status})`);
    // any tokenizer that fits the vocabulary: the shipped one (vocabulary 2048)
    fs.copyFileSync(path.resolve(__dirname, "../../models/kit-nano/tokenizer.json"), path.join(dir, "tokenizer.json"));
  }
  const r = spawnSync(process.execPath, [__filename, "--child", dir], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`loading failed:\n${r.stderr}`);
  const m = JSON.parse(r.stdout.trim().split("\n").pop()!) as Record<string, number>;
  const mb = (n: number) => `${(n / 2 ** 20).toFixed(0)} MB`;
  const fileBytes = fs.statSync(weights).size;
  console.log(
    `${a.layers} x ${a.width}, vocabulary ${a.vocab}, ${(m["params"]! / 1e6).toFixed(1)}M parameters, ${a.dtype} file ${mb(fileBytes)} ` +
      `(float32 weights ${mb(m["params"]! * 4)}): loaded in ${m["seconds"]!.toFixed(2)} s, ` +
      `peak RSS ${mb(m["peakRssBytes"]!)} (${mb(m["rssBeforeLoadBytes"]!)} before loading), tfjs tensors ${mb(m["tensorBytes"]!)}`,
  );
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
