/**
 * npm run pretrain -- --size kit-small [--steps N] [--batch B] [--length T] [--lr X] [--seed S]
 *                     [--minutes M] [--run-dir DIR] [--out DIR] [--tokenizer FILE] [--checkpoint]
 *                     [--teacher models/SMALLER [--ki-alpha A] [--ki-end-step N] [--ki-temperature T] [--ki-top-k K]]
 *
 * Builds (or reuses) the corpus, trains (or reuses) the shared tokenizer, pre-trains a causal LM with a progress
 * line, checkpoints every --ckpt-seconds and resumes after a kill (same command), evaluates validation
 * perplexity on held-out documents, and writes the checkpoint folder with its model card.
 *
 * --teacher DIR turns on knowledge inheritance (lib/pretrain/knowledge-inheritance.ts) from a smaller pretrained
 * checkpoint sharing the tokenizer: loss (1 - a_t) LM + a_t T^2 KL(teacher || student), a_t falling linearly
 * from --ki-alpha (default 0.5) at step 0 to 0 at --ki-end-step (default half of --steps), temperature
 * --ki-temperature (default 1), teacher cut to its top --ki-top-k tokens (default 0 = full vocabulary). The
 * teacher and the KI settings define the run: the default run and output folders become
 * runs/pretrain/SIZE-ki-TEACHER and models/SIZE-ki-TEACHER, and a KI run and a scratch run never resume as
 * each other. Without --teacher nothing changes.
 *
 * --checkpoint turns on activation checkpointing (each transformer block is recomputed in the backward pass
 * instead of keeping its activations: lower peak memory, slower steps, same values). Unrelated to the run-state
 * checkpoints written every --ckpt-seconds; a run may resume with or without it.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { initBackend } from "../lib/backend/backend";
import { LoadedBackbone, loadCheckpoint, saveCheckpoint } from "../lib/backbone/checkpoint";
import { fingerprint } from "../lib/backbone/fingerprint";
import { sizeConfig } from "../lib/backbone/sizes";
import { buildCorpus } from "../lib/data/corpus";
import { trainBpe } from "../lib/tokenizer/bpe-trainer";
import { Tokenizer } from "../lib/tokenizer/tokenizer";
import { modelCard } from "../lib/pretrain/model-card";
import { PretrainOptions, formatSeconds, pretrain, validationLoss } from "../lib/pretrain/pretrainer";
import { encodeCorpusFile } from "../lib/pretrain/token-stream";
import { evaluationBatches } from "../lib/pretrain/batches";
import { KiOptions, assertTeacherFits, kiLoss, resolveKiOptions } from "../lib/pretrain/knowledge-inheritance";
import { KiRunRecord, assertKiRunMatches, kiCardNotes, kiRunName, kiRunRecord } from "../lib/pretrain/ki-run";
import { canonicalJson } from "../lib/experiment/cell-id";
import { parseArgs } from "./args";

const USAGE = "usage: npm run pretrain -- --size kit-nano|kit-small|kit-base [--steps N] [--batch B] [--length T] [--lr X] [--seed S] [--minutes M [--finish-on-deadline]] [--checkpoint] " +
  "[--teacher models/SMALLER [--ki-alpha A] [--ki-end-step N] [--ki-temperature T] [--ki-top-k K]]";

const KI_FLAGS = ["ki-alpha", "ki-end-step", "ki-temperature", "ki-top-k"] as const;

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2), {
    size: { type: "string", required: true },
    steps: { type: "int", default: 3000 },
    batch: { type: "int", default: 8 },
    length: { type: "int", default: 128 },
    lr: { type: "float", default: 2e-3 },
    seed: { type: "int", default: 0 },
    warmup: { type: "int", default: 100 },
    "weight-decay": { type: "float", default: 0.01 },
    "eval-every": { type: "int", default: 250 },
    "eval-tokens": { type: "int", default: 65536 },
    "ckpt-seconds": { type: "float", default: 120 },
    "log-every": { type: "int", default: 10 },
    minutes: { type: "float", default: 0 },
    "finish-on-deadline": { type: "bool", default: false },
    checkpoint: { type: "bool", default: false },
    "run-dir": { type: "string", default: "" },
    out: { type: "string", default: "" },
    tokenizer: { type: "string", default: ".cache/tokenizer-2048.json" },
    "vocab-size": { type: "int", default: 2048 },
    corpus: { type: "string", default: ".cache/corpus" },
    teacher: { type: "string", default: "" },
    "ki-alpha": { type: "float" },
    "ki-end-step": { type: "int" },
    "ki-temperature": { type: "float" },
    "ki-top-k": { type: "int" },
  }, USAGE);
  const size = args.size as string;
  const config = sizeConfig(size);
  const teacherDir = args.teacher as string;
  if (!teacherDir) {
    const stray = KI_FLAGS.filter((f) => args[f] !== undefined);
    if (stray.length > 0) throw new Error(`${stray.map((f) => `--${f}`).join(", ")} need --teacher (knowledge inheritance)\n${USAGE}`);
  }
  const info = await initBackend();
  console.error(`backend: ${info.name} ${info.version}`);
  const ki = teacherDir ? loadTeacher(teacherDir, config, args) : null;
  const name = ki ? kiRunName(size, ki.teacher.name) : size;
  const runDir = (args["run-dir"] as string) || path.join("runs", "pretrain", name);
  const outDir = (args.out as string) || path.join("models", name);
  if (ki) {
    if ((args.length as number) > ki.teacher.config.maxLen) {
      throw new Error(`${teacherDir}: --length ${args.length} exceeds the teacher's maximum length ${ki.teacher.config.maxLen}`);
    }
    console.error(
      `knowledge inheritance from ${ki.teacher.name} (${teacherDir}, ${ki.teacher.fingerprint}): a_t ${ki.options.alphaStart} -> 0 ` +
        `at step ${ki.options.alphaEndStep}, temperature ${ki.options.temperature}, ` +
        `${ki.options.topK === null ? "full vocabulary" : `top ${ki.options.topK} teacher tokens`}`,
    );
  }
  assertKiRunMatches(runDir, ki?.record ?? null);

  const manifest = await buildCorpus({ outDir: args.corpus as string });
  const trainFile = path.join(args.corpus as string, "train.txt");
  const valFile = path.join(args.corpus as string, "val.txt");
  const tokPath = args.tokenizer as string;
  if (!fs.existsSync(tokPath)) {
    console.error(`training a ${args["vocab-size"]}-token BPE tokenizer on ${trainFile} ...`);
    const lines = fs.readFileSync(trainFile, "utf8").split("\n").filter((l) => l.trim() !== "");
    fs.mkdirSync(path.dirname(tokPath), { recursive: true });
    Tokenizer.fromJSON(trainBpe(lines, { vocabSize: args["vocab-size"] as number })).save(tokPath);
  }
  const tokenizer = Tokenizer.fromFile(tokPath);
  if (tokenizer.vocabSize !== config.vocabSize) {
    throw new Error(`${tokPath}: tokenizer has ${tokenizer.vocabSize} tokens, ${size} expects ${config.vocabSize}`);
  }
  if (ki && canonicalJson(ki.teacher.tokenizer.toJSON()) !== canonicalJson(tokenizer.toJSON())) {
    throw new Error(
      `${path.join(teacherDir, "tokenizer.json")}: the teacher's tokenizer differs from ${tokPath}; ` +
        `knowledge inheritance needs teacher and student to share one tokenizer`,
    );
  }
  const cacheDir = path.join(args.corpus as string, "tokens");
  const train = encodeCorpusFile(trainFile, tokenizer, cacheDir);
  const val = encodeCorpusFile(valFile, tokenizer, cacheDir);
  console.error(`corpus: ${train.length} training tokens, ${val.length} validation tokens`);

  const options: PretrainOptions & { ki?: KiRunRecord } = {
    config,
    seed: args.seed as number,
    steps: args.steps as number,
    batch: args.batch as number,
    length: args.length as number,
    lr: args.lr as number,
    warmupSteps: args.warmup as number,
    minLrRatio: 0.1,
    weightDecay: args["weight-decay"] as number,
    clipNorm: 1,
    evalEvery: args["eval-every"] as number,
    evalTokens: args["eval-tokens"] as number,
    ckptSeconds: args["ckpt-seconds"] as number,
    logEvery: args["log-every"] as number,
    checkpoint: args.checkpoint as boolean,
    // The KI record rides along in the options written to ckpt/state.json (checked by assertKiRunMatches).
    ...(ki ? { ki: ki.record } : {}),
  };
  const deadline = (args.minutes as number) > 0 ? Date.now() + (args.minutes as number) * 60_000 : Infinity;
  let interrupted = false;
  const onSignal = () => {
    console.error("signal received: checkpointing and stopping ...");
    interrupted = true;
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  const result = await pretrain(runDir, train, val, options, {
    shouldStop: () => interrupted || Date.now() > deadline,
    ...(ki ? { loss: kiLoss(ki.teacher.model, ki.options) } : {}),
  });
  const cutShort = !result.finished && !interrupted && args["finish-on-deadline"] === true;
  if (!result.finished && !cutShort) {
    console.error(`stopped at step ${result.state.step}/${options.steps}; run the same command to resume`);
    process.exitCode = interrupted ? 130 : 0;
    return;
  }
  const finalVal = validationLoss(result.model, evaluationBatches(val, options.batch, options.length, val.length));
  const fp = fingerprint(result.model);
  const sources = manifest.sources.map((s) => `${s.name} (${s.package}@${s.version}, ${s.licence})`).join("; ");
  const card = modelCard({
    name,
    config,
    state: result.state,
    finalValLoss: finalVal,
    command: `npm run pretrain -- ${process.argv.slice(2).join(" ")}`,
    corpus: { description: sources, trainTokens: train.length, valTokens: val.length },
    fingerprint: fp,
    notes: [
      ...(cutShort
        ? [
            `Stopped by its time budget (--minutes ${args.minutes}) at step ${result.state.step} of ${options.steps} planned: ` +
              `the learning rate had not finished its cosine decay. Resuming with the same command and a larger budget continues the run.`,
          ]
        : []),
      ...(ki ? kiCardNotes(ki.record, teacherDir) : []),
    ],
  });
  saveCheckpoint(outDir, result.model, tokenizer, {
    name,
    card,
    metadata: { val_loss: finalVal.toFixed(6), tokens_seen: String(result.state.tokensSeen) },
  });
  console.error(
    `saved ${outDir}: val ppl ${Math.exp(finalVal).toFixed(2)} after ${result.state.tokensSeen} tokens in ${formatSeconds(result.state.wallSeconds)}`,
  );
}

/** Loads and checks the teacher checkpoint and resolves the KI settings from the --ki-* flags. */
function loadTeacher(
  dir: string,
  student: PretrainOptions["config"],
  args: Record<string, string | number | boolean>,
): { teacher: LoadedBackbone; options: KiOptions; record: KiRunRecord } {
  const teacher = loadCheckpoint(dir);
  const topK = (args["ki-top-k"] as number | undefined) ?? 0;
  if (topK < 0) throw new Error(`option --ki-top-k: expected 0 (full vocabulary) or a positive integer, got ${topK}`);
  let options: KiOptions;
  try {
    options = resolveKiOptions({
      alphaStart: (args["ki-alpha"] as number | undefined) ?? 0.5,
      alphaEndStep: (args["ki-end-step"] as number | undefined) ?? Math.floor((args.steps as number) / 2),
      temperature: (args["ki-temperature"] as number | undefined) ?? 1,
      topK: topK === 0 ? null : topK,
    });
  } catch (err) {
    throw new Error(`${(err as Error).message} (from --ki-alpha / --ki-end-step / --ki-temperature / --ki-top-k)`);
  }
  assertTeacherFits(teacher.config, student, options, dir);
  teacher.model.freeze();
  return { teacher, options, record: kiRunRecord(teacher, options) };
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
