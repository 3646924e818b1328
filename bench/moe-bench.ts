/**
 * npm run moe-bench [-- --batch B] [--length T] [--iters N] [--prompt-len P] [--checkpoint DIR] [--out FILE.json]
 *
 * Memory / speed trade-off of offloaded experts (lib/backbone/moe/expert-store.ts) on a kit-moe-shaped model.
 * For expert budgets 100%, 50%, 25% and the smallest that works (the largest single expert), and for three
 * engines: "infmoe" (overlapped reads, resident experts first, prefetch, lookahead eviction), "lru" (the same
 * schedule with LRU eviction) and "naive" (load-on-miss in expert order, no prefetch, LRU), it prints peak tensor
 * bytes (eval pass; prompt step), peak RSS, eval tokens/s, prompt-tuning step tokens/s, cache hit rate and bytes read, each relative to
 * the all-resident model, and writes reports/moe/latest.json.
 *
 * Each configuration runs in its own child process (so peak RSS is its own). Speed is given twice: tokens/s of
 * the fastest timed pass (wall clock: what overlapping reads with compute improves) and tokens per CPU-second of
 * the process over all timed passes (the work done, robust to other load on the machine). Peak tensor bytes come
 * from one profiled eval pass and prompt step (profiling slows kernels, so those passes are not timed). On a shared machine set KIT_THREADS=1: BLAS
 * threads that wait for a busy core slow small expert products down ten-fold, whatever the engine. Without --checkpoint the model is a
 * randomly initialised kit-moe written to a temporary folder (kit-moe is not pre-trained yet): a random router
 * spreads tokens almost uniformly, so nearly every expert is needed in every block, the hardest case for a cache
 * (a trained router is more skewed and its routing statistics predict better).
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { tf, initBackend } from "../lib/backend/backend";
import { Rng } from "../lib/backend/random";
import { crossEntropy } from "../lib/backend/cross-entropy";
import { embeddingLookup } from "../lib/backend/embedding";
import { loadCheckpoint, saveCheckpoint, type LoadedBackbone } from "../lib/backbone/checkpoint";
import { loadOffloaded, type OffloadedBackbone } from "../lib/backbone/moe/offload";
import { MOE_SIZES } from "../lib/backbone/sizes";
import { Transformer } from "../lib/backbone/transformer";
import { projectRoot } from "../lib/experiment/project-paths";
import { writeJsonAtomic } from "../lib/io/atomic-write";
import { randomUniform } from "../lib/prompt/initializers";
import { PromptSet } from "../lib/prompt/soft-prompt";
import { spliceBatch } from "../lib/prompt/splice";
import { Tokenizer } from "../lib/tokenizer/tokenizer";
import { AdamW } from "../lib/train/adamw";
import { parseArgs } from "../scripts/args";
import { relativeToResident, type MoeEngine, type MoeMeasure } from "../lib/experiment/moe-bench-report";

const USAGE =
  "usage: npm run moe-bench [-- --batch B] [--length T] [--iters N] [--prompt-len P] [--checkpoint DIR] [--out FILE.json]";
const ENGINES = {
  infmoe: { policy: "lookahead", schedule: "overlap" },
  lru: { policy: "lru", schedule: "overlap" },
  naive: { policy: "lru", schedule: "naive" },
} as const;
type Engine = MoeEngine;

type Measure = MoeMeasure;

interface Settings {
  dir: string;
  batch: number;
  length: number;
  iters: number;
  promptLen: number;
}

function batchIds(vocab: number, b: number, t: number, seed: number): { ids: Int32Array; targets: Int32Array } {
  const rng = new Rng(seed);
  const ids = Int32Array.from({ length: b * t }, () => rng.int(vocab));
  const targets = Int32Array.from({ length: b * t }, () => rng.int(vocab));
  return { ids, targets };
}

/** One configuration, in this process: warm-up, then timed eval passes and prompt-tuning steps. */
async function measureOne(s: Settings, engine: Engine, budget: string): Promise<Measure> {
  await initBackend();
  const b: LoadedBackbone | OffloadedBackbone =
    engine === "resident" ? loadCheckpoint(s.dir) : loadOffloaded(s.dir, budget, ENGINES[engine]);
  const store = "store" in b ? (b as OffloadedBackbone).store : null;
  b.model.freeze();
  const d = b.config.dModel;
  const { batch: bs, length: t, promptLen: p } = s;
  const evalBatches = Array.from({ length: s.iters }, (_, i) => batchIds(b.tokenizer.vocabSize, bs, t, 10 + i));
  const evalOnce = (i: number) =>
    tf.tidy(() => {
      const x = evalBatches[i % evalBatches.length]!;
      const h = b.model.forwardEmbeddings(b.model.embed(x.ids, bs, t), new Uint8Array(bs * t).fill(1));
      b.model.logits(tf.reshape(h, [bs * t, d]) as tf.Tensor2D).dataSync();
    });
  const prompts = PromptSet.create({ front: p, middle: 0, back: 0 }, d, randomUniform(0.5), "random-uniform", 0);
  const opt = new AdamW(prompts.variables(), { clipNorm: 0 });
  const ones = new Float32Array(bs * t).fill(1);
  const textRows = Int32Array.from({ length: bs * t }, (_, i) => Math.floor(i / t) * (p + t) + p + (i % t));
  const promptStep = (i: number) => {
    const x = evalBatches[i % evalBatches.length]!;
    const seqs = Array.from({ length: bs }, (_, r) => ({
      pieces: [
        { kind: "slot" as const, slot: "front" as const },
        { kind: "tokens" as const, ids: Array.from(x.ids.subarray(r * t, (r + 1) * t)) },
      ],
    }));
    opt.step(() => {
      const sp = spliceBatch(b.model, seqs, prompts, 0);
      const h = b.model.forwardEmbeddings(sp.x, sp.mask);
      const rows = embeddingLookup(textRows, tf.reshape(h, [bs * (p + t), d]) as tf.Tensor2D, { tableGrad: true });
      return crossEntropy(b.model.logits(rows), x.targets, ones);
    }, 1e-3);
  };
  evalOnce(0); // warm-up (kernels, caches)
  promptStep(0);
  store?.resetStats();
  // Per pass: wall time (the fastest pass is kept: on a shared machine the slow ones measure other processes)
  // and the process's CPU time (main thread and reading thread together: the work done, whatever the load).
  const timed = (f: (i: number) => void) => {
    let fastest = Infinity;
    const cpu0 = process.cpuUsage();
    for (let i = 0; i < s.iters; i++) {
      const t0 = performance.now();
      f(i);
      fastest = Math.min(fastest, (performance.now() - t0) / 1000);
    }
    const cpu = process.cpuUsage(cpu0);
    return { fastest, cpuPerPass: (cpu.user + cpu.system) / 1e6 / s.iters };
  };
  const ev = timed(evalOnce);
  const evalStats = store ? { ...store.stats } : null;
  const pr = timed(promptStep);
  // peak tensor bytes from one profiled pass of each (profiling slows kernels down, so it is not timed)
  const peakEval = (await tf.profile(() => evalOnce(0))).peakBytes;
  const peakPrompt = (await tf.profile(() => promptStep(0))).peakBytes;
  const m: Measure = {
    engine,
    budget,
    budgetBytes: store ? store.budgetBytes : null,
    evalTokensPerSecond: (bs * t) / ev.fastest,
    promptTokensPerSecond: (bs * t) / pr.fastest,
    evalTokensPerCpuSecond: (bs * t) / ev.cpuPerPass,
    promptTokensPerCpuSecond: (bs * t) / pr.cpuPerPass,
    peakTensorBytes: peakEval,
    peakPromptTensorBytes: peakPrompt,
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
    hitRate: evalStats ? evalStats.hits / Math.max(1, evalStats.hits + evalStats.misses) : null,
    bytesRead: evalStats ? evalStats.bytesRead : 0,
    waitMs: evalStats ? evalStats.waitMs : 0,
  };
  opt.dispose();
  prompts.dispose();
  store?.close();
  b.model.dispose();
  return m;
}

/** A random kit-moe checkpoint (the shipped kit-small tokenizer when present, else a fresh tiny one). */
function randomKitMoe(root: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kit-moe-random-"));
  const tokFile = path.join(root, "models", "kit-small", "tokenizer.json");
  if (!fs.existsSync(tokFile)) throw new Error(`${tokFile}: missing (the bench uses the kit's shared tokenizer)`);
  const tok = Tokenizer.fromFile(tokFile);
  const model = Transformer.create(MOE_SIZES["kit-moe"], 0);
  saveCheckpoint(dir, model, tok, { name: "kit-moe-random", card: "# kit-moe (random weights, for moe-bench)\n" });
  model.dispose();
  return dir;
}

const pct = (x: number) => `${(100 * x).toFixed(0)}%`;
const mb = (x: number) => `${(x / 1e6).toFixed(1)} MB`;

async function main(): Promise<void> {
  const args = parseArgs(
    process.argv.slice(2),
    {
      batch: { type: "int", default: 4 },
      length: { type: "int", default: 64 },
      iters: { type: "int", default: 4 },
      "prompt-len": { type: "int", default: 8 },
      checkpoint: { type: "string", default: "" },
      one: { type: "string", default: "" },
      dir: { type: "string", default: "" },
      out: { type: "string", default: "" },
    },
    USAGE,
  );
  for (const k of ["batch", "length", "iters", "prompt-len"] as const)
    if ((args[k] as number) < 1) throw new Error(`--${k} must be a positive integer, got ${args[k]}\n${USAGE}`);
  const settings = (dir: string): Settings => ({
    dir,
    batch: args.batch as number,
    length: args.length as number,
    iters: args.iters as number,
    promptLen: args["prompt-len"] as number,
  });
  if (args.one) {
    const [engine, budget] = (args.one as string).split(":") as [Engine, string];
    console.log(JSON.stringify(await measureOne(settings(args.dir as string), engine, budget)));
    return;
  }
  await initBackend();
  const root = projectRoot();
  const random = !args.checkpoint;
  const dir = random ? randomKitMoe(root) : (args.checkpoint as string);
  const probe = loadOffloaded(dir, "100%");
  const minBytes = probe.store.expertBytes;
  const total = probe.store.totalBytes;
  probe.store.close();
  probe.model.dispose();
  const run = (engine: Engine, budget: string): Measure => {
    const r = spawnSync(
      process.execPath,
      [__filename, "--one", `${engine}:${budget}`, "--dir", dir, ...process.argv.slice(2)],
      { encoding: "utf8", maxBuffer: 1 << 24 },
    );
    if (r.status !== 0) throw new Error(`moe-bench ${engine} ${budget} failed:\n${r.stderr}`);
    return JSON.parse(r.stdout.trim().split("\n").pop()!) as Measure;
  };
  console.log(
    `moe-bench: ${random ? "a RANDOMLY INITIALISED kit-moe-shaped checkpoint (kit-moe is not pre-trained yet; a random router routes near-uniformly, unlike a trained one)" : dir}; ` +
      `experts ${mb(total)} in all, largest ${minBytes} bytes; eval batch ${args.batch} x ${args.length}, ${args.iters} timed passes and prompt steps`,
  );
  const base = run("resident", "all");
  const rows: Measure[] = [base];
  const budgets = ["100%", "50%", "25%", String(minBytes)];
  for (const budget of budgets) for (const engine of Object.keys(ENGINES) as Engine[]) rows.push(run(engine, budget));
  const rel = (m: Measure) => relativeToResident(m, base);
  console.log(
    "engine   budget        eval tok/s (x)  per CPU-s (x)   prompt tok/s (x)  per CPU-s (x)   peak tensors eval (x)  prompt (x)        peak RSS (x)       hit rate  read/pass",
  );
  for (const m of rows) {
    const r = rel(m);
    const label = m.budget === String(minBytes) ? `min ${pct(minBytes / total)}` : m.budget;
    console.log(
      `${m.engine.padEnd(8)} ${label.padEnd(12)}  ${m.evalTokensPerSecond.toFixed(0).padStart(6)} (${r.evalSpeed.toFixed(2)})` +
        `  ${m.evalTokensPerCpuSecond.toFixed(0).padStart(6)} (${r.evalCpu.toFixed(2)})` +
        `    ${m.promptTokensPerSecond.toFixed(0).padStart(6)} (${r.promptSpeed.toFixed(2)})` +
        `  ${m.promptTokensPerCpuSecond.toFixed(0).padStart(6)} (${r.promptCpu.toFixed(2)})` +
        `    ${mb(m.peakTensorBytes).padStart(9)} (${r.peakTensor.toFixed(2)})` +
        `   ${mb(m.peakPromptTensorBytes).padStart(9)} (${r.peakPromptTensor.toFixed(2)})` +
        `    ${mb(m.peakRssBytes).padStart(9)} (${r.peakRss.toFixed(2)})` +
        `    ${m.hitRate === null ? "   -" : pct(m.hitRate).padStart(4)}     ${mb(m.bytesRead / (args.iters as number))}`,
    );
  }
  const out = args.out ? path.resolve(args.out as string) : path.join(root, "reports", "moe", "latest.json");
  fs.mkdirSync(path.dirname(out), { recursive: true });
  writeJsonAtomic(out, {
    when: new Date().toISOString(),
    checkpoint: random ? "random kit-moe (not pre-trained)" : dir,
    settings: { batch: args.batch, length: args.length, iters: args.iters, promptLen: args["prompt-len"] },
    expertBytes: { total, largest: minBytes },
    rows: rows.map((m) => ({ ...m, relative: rel(m) })),
  });
  console.log(`wrote ${path.relative(root, out)}`);
  if (random) fs.rmSync(dir, { recursive: true, force: true });
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
