/**
 * npm run perf [-- --reference] [--iters N] [--warmup N] [--shapes ref,kit-nano,...] [--steps prompt,full,...] [--profile]
 *
 * Times a prompt-tuning step, a full fine-tuning step and an evaluation forward pass for the reference shape
 * (batch 16 x 64 tokens, width 128, 2 layers, 4 heads, vocabulary 2000) and for each shipped backbone's shape,
 * printing ms/step, tokens/s, peak tensor bytes and the wasm heap size. With --reference it runs bench/reference_torch.py (eager
 * PyTorch, same architecture and steps) in the same run and prints kit/PyTorch throughput ratios. With
 * --profile it prints where each step's kernel time goes (tf.profile). Rows "prompt-ckpt" and "full-ckpt" time the same
 * steps with activation checkpointing (kit only: the PyTorch reference has no such rows), and a line per shape
 * gives the peak-memory ratios with and without it. PyTorch runs right after the kit on each shape; --rounds N
 * repeats everything and keeps each row's fastest round (the machine's speed drifts on shared hosts). The line per
 * shape also prints the prompt/full FLOP ratio, the bound for prompt tuning's step time. --steps times only the
 * listed steps (e.g. `--steps prompt,full,eval` for a large shape, where each step takes seconds). Writes
 * reports/perf/latest.json.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { tf, initBackend } from "../lib/backend/backend";
import { resolveConfig } from "../lib/backbone/config";
import { BACKBONE_SIZES } from "../lib/backbone/sizes";
import { configFromJson } from "../lib/backbone/checkpoint";
import { projectRoot } from "../lib/experiment/run-cell";
import { writeJsonAtomic } from "../lib/io/atomic-write";
import { parseArgs } from "../scripts/args";
import { PerfShape, StepKind, prepareStep, stepFlops } from "./perf-steps";
import { kernelSetLabel } from "../lib/backend/kernels/kernel-set";

const USAGE =
  "usage: npm run perf [-- --reference] [--iters N] [--warmup N] [--shapes ref,kit-nano,kit-small,kit-base,gpt2-small] [--steps prompt,full,eval,prompt-ckpt,full-ckpt] [--profile] [--rounds N]";
/** The steps bench/reference_torch.py also times. */
const STEPS: StepKind[] = ["prompt", "full", "eval"];
/** Every timed step: the reference's, then the kit-only activation-checkpointing variants. */
const TIMED: StepKind[] = [...STEPS, "prompt-ckpt", "full-ckpt"];

interface Row {
  shape: string;
  step: StepKind;
  msPerStep: number;
  tokensPerSecond: number;
  peakTensorBytes: number;
  /** the tfjs wasm heap's size after this row (it only grows: the process's high-water mark so far), or null. */
  heapBytes: number | null;
  trainableParams: number;
  backend: string;
  referenceMsPerStep?: number;
  referenceThreads?: number;
  ratio?: number;
}

function shapes(names: string[], root: string): PerfShape[] {
  return names.map((name) => {
    if (name === "gpt2-small") {
      // GPT-2 small's shape (124M parameters) at batch 8 x 128; MLP activation as the PyTorch reference (quick GELU)
      const config = resolveConfig({
        vocabSize: 50257,
        maxLen: 1024,
        dModel: 768,
        nLayers: 12,
        nHeads: 12,
        dFF: 3072,
        activation: "quick_gelu",
      });
      return { name, config, batch: 8, seqLen: 128, promptLen: 16 };
    }
    if (name === "ref") {
      return {
        name,
        config: resolveConfig({ vocabSize: 2000, maxLen: 128, dModel: 128, nLayers: 2, nHeads: 4, dFF: 512 }),
        batch: 16,
        seqLen: 64,
        promptLen: 16,
      };
    }
    const cfgPath = path.join(root, "models", name, "config.json");
    const config = fs.existsSync(cfgPath)
      ? configFromJson(JSON.parse(fs.readFileSync(cfgPath, "utf8")), cfgPath)
      : resolveConfig(
          (BACKBONE_SIZES as Record<string, object>)[name] ??
            (() => {
              throw new Error(`unknown shape '${name}'`);
            })(),
        );
    return { name, config, batch: 16, seqLen: 64, promptLen: 16 };
  });
}

/**
 * Bytes of the tfjs wasm backend's linear memory (max 4 GB - 64 KB in tfjs-backend-wasm 4.22), or null on another
 * backend. "peak MB" is tfjs's own count, which counts a buffer once per tensor viewing it (reshapes, saved clones);
 * the heap is what the process really holds, and never shrinks.
 */
function wasmHeapBytes(): number | null {
  const b = tf.backend() as unknown as { wasm?: { HEAPU8?: Uint8Array } };
  return b.wasm?.HEAPU8 ? b.wasm.HEAPU8.buffer.byteLength : null;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

async function measure(
  shape: PerfShape,
  kind: StepKind,
  warmup: number,
  iters: number,
  profile: boolean,
): Promise<Omit<Row, "backend">> {
  const step = prepareStep(kind, shape);
  try {
    for (let i = 0; i < warmup; i++) step.run();
    const times: number[] = [];
    for (let i = 0; i < iters; i++) {
      const t0 = performance.now();
      step.run();
      times.push(performance.now() - t0);
    }
    const info = await tf.profile(() => step.run());
    if (profile) {
      const byKernel = new Map<string, number>();
      // tf.profile also lists op scopes (customGrad "forward"/"backward", "xyz__op", "unnamed scope") whose time
      // includes the kernels inside them; count backend kernels only.
      const isScope = (n: string) => n === "forward" || n === "backward" || n === "unnamed scope" || n.endsWith("__op");
      for (const k of info.kernels)
        if (!isScope(k.name)) byKernel.set(k.name, (byKernel.get(k.name) ?? 0) + (k.kernelTimeMs as number));
      const total = [...byKernel.values()].reduce((a, b) => a + b, 0);
      const top = [...byKernel.entries()].sort((a, b) => b[1] - a[1]).slice(0, 10);
      console.error(
        `profile ${shape.name}/${kind}: kernel time ${total.toFixed(1)} ms (profiled step, kernels synchronised)`,
      );
      for (const [k, ms] of top)
        console.error(
          `  ${k.padEnd(22)} ${ms.toFixed(1).padStart(7)} ms  ${((100 * ms) / total).toFixed(0).padStart(3)}%`,
        );
    }
    const ms = median(times);
    return {
      shape: shape.name,
      step: kind,
      msPerStep: ms,
      tokensPerSecond: (shape.batch * shape.seqLen) / (ms / 1000),
      peakTensorBytes: info.peakBytes,
      heapBytes: wasmHeapBytes(),
      trainableParams: step.trainableParams,
    };
  } finally {
    step.dispose();
  }
}

interface ReferenceOutput {
  torchVersion: string;
  sgemmGflops: { threads: number; gflops: number }[];
  best: { shape: string; step: string; threads: number; msPerStep: number; tokensPerSecond: number }[];
  blas?: { warning?: string };
}

function runReference(
  ps: PerfShape[],
  steps: StepKind[],
  warmup: number,
  iters: number,
  root: string,
): ReferenceOutput {
  const config = {
    shapes: ps.map((s) => ({
      name: s.name,
      vocab: s.config.vocabSize,
      dModel: s.config.dModel,
      nLayers: s.config.nLayers,
      nHeads: s.config.nHeads,
      dFF: s.config.dFF,
      maxLen: s.config.maxLen,
      batch: s.batch,
      seqLen: s.seqLen,
      promptLen: s.promptLen,
    })),
    steps,
    warmup,
    iters,
    threads: [1, 2],
    seed: 0,
  };
  const script = path.join(root, "bench", "reference_torch.py");
  const res = spawnSync("/usr/bin/python3", [script, "--json", JSON.stringify(config)], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
    maxBuffer: 64 << 20,
  });
  if (res.error)
    throw new Error(
      `could not run /usr/bin/python3 ${script}: ${res.error.message} (see bench/README.md for the Debian install)`,
    );
  if (res.status !== 0)
    throw new Error(
      `${script} exited with ${res.status} (see its message above; bench/README.md lists the install steps)`,
    );
  return JSON.parse(res.stdout) as ReferenceOutput;
}

async function main(): Promise<void> {
  const args = parseArgs(
    process.argv.slice(2),
    {
      reference: { type: "bool", default: false },
      profile: { type: "bool", default: false },
      iters: { type: "int", default: 10 },
      warmup: { type: "int", default: 3 },
      shapes: { type: "string", default: "" },
      rounds: { type: "int", default: 1 },
      steps: { type: "string", default: TIMED.join(",") },
    },
    USAGE,
  );
  const rounds = args.rounds as number;
  if (rounds < 1) throw new Error(`--rounds must be at least 1, got ${rounds}`);
  const timed = (args.steps as string).split(",").map((k) => k.trim());
  for (const k of timed) {
    if (!(TIMED as string[]).includes(k))
      throw new Error(`--steps: '${k}' is not a step; expected some of ${TIMED.join(", ")}`);
  }
  const kinds = TIMED.filter((k) => timed.includes(k));
  const root = projectRoot();
  const shipped = fs.existsSync(path.join(root, "models"))
    ? fs
        .readdirSync(path.join(root, "models"))
        .filter((n) => fs.existsSync(path.join(root, "models", n, "config.json")))
        .sort()
    : [];
  const names = (args.shapes as string) ? (args.shapes as string).split(",") : ["ref", ...shipped];
  const ps = shapes(names, root);
  const info = await initBackend();
  const backend = `${info.name} ${info.version} + ${kernelSetLabel()} kernels`;
  console.error(
    `perf: backend ${backend}; shapes ${ps.map((s) => `${s.name} (batch ${s.batch} x ${s.seqLen} tokens, prompt ${s.promptLen})`).join(", ")}; ${args.warmup} warmup + ${args.iters} timed steps (median)`,
  );
  // Per shape, the kit's steps and then PyTorch's on the same shape, so that drift in the machine's speed (shared
  // hosts) hits both sides alike; with --rounds N the whole sequence repeats and each row keeps its fastest round.
  const rows: Row[] = [];
  let reference: ReferenceOutput | null = null;
  const keepFaster = (r: Row) => {
    const i = rows.findIndex((x) => x.shape === r.shape && x.step === r.step);
    if (i < 0) rows.push(r);
    else if (r.msPerStep < rows[i]!.msPerStep) rows[i] = r;
  };
  const refBest = new Map<string, ReferenceOutput["best"][number]>();
  for (let round = 0; round < rounds; round++) {
    for (const s of ps) {
      for (const k of kinds) {
        const r = await measure(s, k, args.warmup as number, args.iters as number, args.profile as boolean);
        keepFaster({ ...r, backend });
        console.error(`  ${s.name}/${k}: ${r.msPerStep.toFixed(1)} ms/step`);
      }
      if (args.reference && STEPS.some((k) => kinds.includes(k))) {
        console.error(`running the PyTorch reference (bench/reference_torch.py) on ${s.name} ...`);
        reference = runReference(
          [s],
          STEPS.filter((k) => kinds.includes(k)),
          args.warmup as number,
          args.iters as number,
          root,
        );
        for (const b of reference.best) {
          const key = `${b.shape}/${b.step}`;
          const prev = refBest.get(key);
          if (!prev || b.msPerStep < prev.msPerStep) refBest.set(key, b);
        }
      }
    }
  }
  for (const r of rows) {
    const best = refBest.get(`${r.shape}/${r.step}`);
    if (best) {
      r.referenceMsPerStep = best.msPerStep;
      r.referenceThreads = best.threads;
      r.ratio = r.tokensPerSecond / best.tokensPerSecond;
    }
  }
  console.log(formatTable(rows, reference !== null));
  for (const s of ps) {
    const get = (k: StepKind) => rows.find((r) => r.shape === s.name && r.step === k)!;
    if (!TIMED.every((k) => kinds.includes(k))) continue; // the ratios below need every step
    const peak = (a: StepKind, b: StepKind) => `${(get(a).peakTensorBytes / get(b).peakTensorBytes).toFixed(2)}x`;
    const time = (a: StepKind, b: StepKind) => `${(get(a).msPerStep / get(b).msPerStep).toFixed(2)}x`;
    const bound = stepFlops(s, "prompt") / stepFlops(s, "full");
    console.log(
      `${s.name}: prompt/full time ${time("prompt", "full")} (FLOP-ratio bound ${bound.toFixed(2)}x: no weight gradients, ` +
        `${s.promptLen} extra positions), prompt/full peak tensor memory ${peak("prompt", "full")}`,
    );
    console.log(
      `${s.name}: with activation checkpointing prompt-ckpt/full-ckpt peak tensor memory ${peak("prompt-ckpt", "full-ckpt")}, ` +
        `prompt-ckpt/full ${peak("prompt-ckpt", "full")}; ckpt/plain peak prompt ${peak("prompt-ckpt", "prompt")}, ` +
        `full ${peak("full-ckpt", "full")}; ckpt/plain time prompt ${time("prompt-ckpt", "prompt")}, full ${time("full-ckpt", "full")}`,
    );
  }
  const out = path.join(root, "reports", "perf");
  fs.mkdirSync(out, { recursive: true });
  const doc = {
    createdAt: new Date().toISOString(),
    backend,
    command: `npm run perf -- ${process.argv.slice(2).join(" ")}`.trim(),
    rows,
    reference: reference
      ? {
          torchVersion: reference.torchVersion,
          sgemmGflops: reference.sgemmGflops,
          blasWarning: reference.blas?.warning ?? null,
        }
      : null,
  };
  writeJsonAtomic(path.join(out, "latest.json"), doc);
  console.log(`\nwrote ${path.join(out, "latest.json")}`);
}

function formatTable(rows: Row[], withRef: boolean): string {
  const head = [
    "shape",
    "step",
    "ms/step",
    "tokens/s",
    "peak MB",
    "heap MB",
    "trainable",
    ...(withRef ? ["torch ms", "thr", "kit/torch"] : []),
  ];
  const body = rows.map((r) => [
    r.shape,
    r.step,
    r.msPerStep.toFixed(1),
    r.tokensPerSecond.toFixed(0),
    Number.isFinite(r.peakTensorBytes) ? (r.peakTensorBytes / 2 ** 20).toFixed(1) : "-",
    r.heapBytes !== null ? (r.heapBytes / 2 ** 20).toFixed(0) : "-",
    String(r.trainableParams),
    ...(withRef
      ? [
          r.referenceMsPerStep?.toFixed(1) ?? "-",
          String(r.referenceThreads ?? "-"),
          r.ratio !== undefined ? r.ratio.toFixed(2) + "x" : "-",
        ]
      : []),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
  return [line(head), widths.map((w) => "-".repeat(w)).join("  "), ...body.map(line)].join("\n");
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
