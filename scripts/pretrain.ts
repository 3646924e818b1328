/**
 * npm run pretrain -- --size kit-small [--steps N] [--batch B] [--length T] [--lr X] [--seed S]
 *                     [--minutes M] [--run-dir DIR] [--out DIR [--overwrite]] [--tokenizer FILE] [--checkpoint]
 *                     [--teacher models/SMALLER [--ki-alpha A] [--ki-end-step N] [--ki-temperature T] [--ki-top-k K]]
 *
 * Builds (or reuses) the corpus, trains (or reuses) the shared tokenizer, pre-trains a causal LM with a progress
 * line, checkpoints every --ckpt-seconds and resumes after a kill (same command), evaluates validation
 * perplexity on held-out documents, and writes the checkpoint folder with its model card.
 *
 * Every flag is checked before anything runs, each message naming the flag. The checkpoint goes to
 * <run-dir>/model (default run folder runs/pretrain/SIZE), never into models/ unless named with --out, and
 * never over an existing checkpoint unless --overwrite is given (lib/pretrain/output-dir.ts): the shipped
 * backbones are replaced only on purpose, e.g. `--out models/kit-nano --overwrite`.
 *
 * --teacher DIR turns on knowledge inheritance (lib/pretrain/knowledge-inheritance.ts) from a smaller pretrained
 * checkpoint sharing the tokenizer: loss (1 - a_t) LM + a_t T^2 KL(teacher || student), a_t falling linearly
 * from --ki-alpha (default 0.5) at step 0 to 0 at --ki-end-step (default half of --steps), temperature
 * --ki-temperature (default 1), teacher cut to its top --ki-top-k tokens (default 0 = full vocabulary). The
 * teacher and the KI settings define the run: the default run folder becomes runs/pretrain/SIZE-ki-TEACHER (its
 * checkpoint in .../model), and a KI run and a scratch run never resume as each other. Without --teacher nothing changes.
 *
 * --checkpoint turns on activation checkpointing (each transformer block is recomputed in the backward pass
 * instead of keeping its activations: lower peak memory, slower steps, same values). Unrelated to the run-state
 * checkpoints written every --ckpt-seconds; a run may resume with or without it.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { initBackend } from "../lib/backend/backend";
import { CHECKPOINT_FILES, LoadedBackbone, loadCheckpoint, saveCheckpoint } from "../lib/backbone/checkpoint";
import { fingerprint } from "../lib/backbone/fingerprint";
import { PRETRAIN_SIZES, sizeConfig } from "../lib/backbone/sizes";
import { CorpusManifest, buildCorpus } from "../lib/data/corpus";
import { trainBpe } from "../lib/tokenizer/bpe-trainer";
import { Tokenizer } from "../lib/tokenizer/tokenizer";
import { modelCard } from "../lib/pretrain/model-card";
import { PretrainOptions, PretrainResult, pretrain, validationLoss } from "../lib/pretrain/pretrainer";
import { PRETRAIN_FLAGS, checkPretrainOptions, checkPretrainStreams } from "../lib/pretrain/pretrain-options";
import { resolveOutputDir } from "../lib/pretrain/output-dir";
import { formatDuration } from "../lib/io/format";
import { readJsonFile } from "../lib/io/json-file";
import {
  finiteNumber,
  fraction,
  isPlainObject,
  nonNegativeInt,
  nonNegativeNumber,
  oneOf,
  positiveInt,
  string,
} from "../lib/io/validate";
import { encodeCorpusFile } from "../lib/pretrain/token-stream";
import { evaluationBatches } from "../lib/pretrain/batches";
import { KiOptions, assertTeacherFits, kiLoss, resolveKiOptions } from "../lib/pretrain/knowledge-inheritance";
import { KiRunRecord, assertKiRunMatches, kiCardNotes, kiRunName, kiRunRecord } from "../lib/pretrain/ki-run";
import { canonicalJson } from "../lib/experiment/cell-id";
import { ArgSpec, parseArgs } from "./args";

const USAGE =
  "usage: npm run pretrain -- --size kit-nano|kit-small|kit-base|kit-moe [--steps N] [--batch B] [--length T] [--lr X] [--seed S] [--minutes M [--finish-on-deadline]] [--checkpoint] " +
  "[--run-dir DIR] [--out DIR [--overwrite]] " +
  "[--teacher models/SMALLER [--ki-alpha A] [--ki-end-step N] [--ki-temperature T] [--ki-top-k K]]";

const KI_FLAGS = ["ki-alpha", "ki-end-step", "ki-temperature", "ki-top-k"] as const;

const FLAGS: Record<string, ArgSpec> = {
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
  overwrite: { type: "bool", default: false },
  tokenizer: { type: "string", default: ".cache/tokenizer-2048.json" },
  "vocab-size": { type: "int", default: 2048 },
  corpus: { type: "string", default: ".cache/corpus" },
  teacher: { type: "string", default: "" },
  "ki-alpha": { type: "float" },
  "ki-end-step": { type: "int" },
  "ki-temperature": { type: "float" },
  "ki-top-k": { type: "int" },
};

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2), FLAGS, USAGE);
  const size = oneOf(args.size, "--size", PRETRAIN_SIZES);
  const config = sizeConfig(size);
  const options = trainingOptions(args, config);
  checkPretrainOptions(options, PRETRAIN_FLAGS);
  checkOtherFlags(args);
  const teacherDir = args.teacher as string;
  if (!teacherDir) {
    const stray = KI_FLAGS.filter((f) => args[f] !== undefined);
    if (stray.length > 0)
      throw new Error(`${stray.map((f) => `--${f}`).join(", ")} need --teacher (knowledge inheritance)\n${USAGE}`);
  }
  if (teacherDir && config.numExperts !== undefined)
    throw new Error(
      `--teacher: knowledge inheritance into a mixture-of-experts student (--size ${size}) is not supported`,
    );
  const kiOptions = teacherDir ? kiOptionsFromFlags(args) : null;
  // The run's name and folders need only the teacher's name; check them before the backend starts.
  const teacherName = teacherDir ? checkpointName(teacherDir) : null;
  const name = teacherName ? kiRunName(size, teacherName) : size;
  const runDir = (args["run-dir"] as string) || path.join("runs", "pretrain", name);
  const outOf = () =>
    resolveOutputDir({
      out: args.out as string,
      runDir,
      overwrite: args.overwrite as boolean,
      modelsDir: path.resolve("models"),
    });
  const outDir = outOf();
  const info = await initBackend();
  console.error(`backend: ${info.name} ${info.version}`);
  const ki = teacherDir && kiOptions ? loadTeacher(teacherDir, config, kiOptions) : null;
  if (ki) {
    if (options.length > ki.teacher.config.maxLen) {
      throw new Error(
        `${teacherDir}: --length ${options.length} exceeds the teacher's maximum length ${ki.teacher.config.maxLen}`,
      );
    }
    console.error(
      `knowledge inheritance from ${ki.teacher.name} (${teacherDir}, ${ki.teacher.fingerprint}): a_t ${ki.options.alphaStart} -> 0 ` +
        `at step ${ki.options.alphaEndStep}, temperature ${ki.options.temperature}, ` +
        `${ki.options.topK === null ? "full vocabulary" : `top ${ki.options.topK} teacher tokens`}`,
    );
  }
  assertKiRunMatches(runDir, ki?.record ?? null);

  const { manifest, tokenizer, train, val } = await loadData(
    args,
    size,
    config,
    ki ? { dir: teacherDir, teacher: ki.teacher } : null,
  );

  checkPretrainStreams(train, val, options, PRETRAIN_FLAGS);
  // The KI record rides along in the options written to ckpt/state.json (checked by assertKiRunMatches).
  const runOptions: PretrainOptions & { ki?: KiRunRecord } = { ...options, ...(ki ? { ki: ki.record } : {}) };
  const deadline = (args.minutes as number) > 0 ? Date.now() + (args.minutes as number) * 60_000 : Infinity;
  let interrupted = false;
  const onSignal = () => {
    console.error("signal received: checkpointing and stopping ...");
    interrupted = true;
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  const result = await pretrain(runDir, train, val, runOptions, {
    shouldStop: () => interrupted || Date.now() > deadline,
    ...(ki ? { loss: kiLoss(ki.teacher.model, ki.options) } : {}),
  });
  const cutShort = !result.finished && !interrupted && args["finish-on-deadline"] === true;
  if (!result.finished && !cutShort) {
    console.error(`stopped at step ${result.state.step}/${options.steps}; run the same command to resume`);
    process.exitCode = interrupted ? 130 : 0;
    return;
  }
  outOf(); // again: another process may have written there while this one trained
  writeModel({
    outDir,
    name,
    config,
    options,
    result,
    manifest,
    tokenizer,
    train,
    val,
    cutShort,
    ki: ki ? { record: ki.record, dir: teacherDir } : null,
    minutes: args.minutes as number,
  });
}

/** The corpus (built or reused), the tokenizer (trained or reused, checked against the size and the teacher) and the token streams. */
async function loadData(
  args: Record<string, string | number | boolean>,
  size: string,
  config: PretrainOptions["config"],
  ki: { dir: string; teacher: LoadedBackbone } | null,
): Promise<{ manifest: CorpusManifest; tokenizer: Tokenizer; train: Int32Array; val: Int32Array }> {
  const manifest = await buildCorpus({ outDir: args.corpus as string });
  const trainFile = path.join(args.corpus as string, "train.txt");
  const valFile = path.join(args.corpus as string, "val.txt");
  const tokPath = args.tokenizer as string;
  if (!fs.existsSync(tokPath)) {
    console.error(`training a ${args["vocab-size"]}-token BPE tokenizer on ${trainFile} ...`);
    const lines = fs
      .readFileSync(trainFile, "utf8")
      .split("\n")
      .filter((l) => l.trim() !== "");
    fs.mkdirSync(path.dirname(tokPath), { recursive: true });
    Tokenizer.fromJSON(trainBpe(lines, { vocabSize: args["vocab-size"] as number })).save(tokPath);
  }
  const tokenizer = Tokenizer.fromFile(tokPath);
  if (tokenizer.vocabSize !== config.vocabSize) {
    throw new Error(`${tokPath}: tokenizer has ${tokenizer.vocabSize} tokens, ${size} expects ${config.vocabSize}`);
  }
  if (ki && canonicalJson(ki.teacher.tokenizer.toJSON()) !== canonicalJson(tokenizer.toJSON())) {
    throw new Error(
      `${path.join(ki.dir, "tokenizer.json")}: the teacher's tokenizer differs from ${tokPath}; ` +
        `knowledge inheritance needs teacher and student to share one tokenizer`,
    );
  }
  const cacheDir = path.join(args.corpus as string, "tokens");
  const train = encodeCorpusFile(trainFile, tokenizer, cacheDir);
  const val = encodeCorpusFile(valFile, tokenizer, cacheDir);
  console.error(`corpus: ${train.length} training tokens, ${val.length} validation tokens`);
  return { manifest, tokenizer, train, val };
}

interface Finished {
  readonly outDir: string;
  readonly name: string;
  readonly config: PretrainOptions["config"];
  readonly options: PretrainOptions;
  readonly result: PretrainResult;
  readonly manifest: CorpusManifest;
  readonly tokenizer: Tokenizer;
  readonly train: Int32Array;
  readonly val: Int32Array;
  /** stopped by --minutes with --finish-on-deadline. */
  readonly cutShort: boolean;
  readonly ki: { readonly record: KiRunRecord; readonly dir: string } | null;
  readonly minutes: number;
}

/** Final validation loss on the whole held-out split, the model card, and the checkpoint folder. */
function writeModel(f: Finished): void {
  const { outDir, name, config, options, result, manifest, tokenizer, train, val, cutShort, ki, minutes } = f;
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
            `Stopped by its time budget (--minutes ${minutes}) at step ${result.state.step} of ${options.steps} planned: ` +
              `the learning rate had not finished its cosine decay. Resuming with the same command and a larger budget continues the run.`,
          ]
        : []),
      ...(ki ? kiCardNotes(ki.record, ki.dir) : []),
    ],
  });
  saveCheckpoint(outDir, result.model, tokenizer, {
    name,
    card,
    metadata: { val_loss: finalVal.toFixed(6), tokens_seen: String(result.state.tokensSeen) },
  });
  console.error(
    `saved ${outDir}: val ppl ${Math.exp(finalVal).toFixed(2)} after ${result.state.tokensSeen} tokens in ${formatDuration(result.state.wallSeconds)}`,
  );
}

/** The run's training options from the flags (checked by checkPretrainOptions before use). */
function trainingOptions(
  args: Record<string, string | number | boolean>,
  config: PretrainOptions["config"],
): PretrainOptions {
  return {
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
  };
}

/** The flags that are not training options. */
function checkOtherFlags(args: Record<string, string | number | boolean>): void {
  nonNegativeNumber(args.minutes, "--minutes");
  positiveInt(args["vocab-size"], "--vocab-size");
  string(args.tokenizer, "--tokenizer", { nonEmpty: true });
  string(args.corpus, "--corpus", { nonEmpty: true });
  if (args.overwrite === true && args.out === "")
    throw new Error("--overwrite needs --out: name the folder to replace");
}

/** The KI settings from the --ki-* flags, each checked under its flag's name. */
function kiOptionsFromFlags(args: Record<string, string | number | boolean>): KiOptions {
  const flag = (f: (typeof KI_FLAGS)[number]) => args[f] as number | undefined;
  const topK = nonNegativeInt(flag("ki-top-k") ?? 0, "--ki-top-k (0 = full vocabulary)");
  return resolveKiOptions({
    alphaStart: fraction(flag("ki-alpha") ?? 0.5, "--ki-alpha"),
    alphaEndStep: nonNegativeInt(flag("ki-end-step") ?? Math.floor((args.steps as number) / 2), "--ki-end-step"),
    temperature: finiteNumber(flag("ki-temperature") ?? 1, "--ki-temperature", { above: 0 }),
    topK: topK === 0 ? null : topK,
  });
}

/** The name a checkpoint folder records in its config.json (the folder name if it records none). */
function checkpointName(dir: string): string {
  const file = path.join(dir, CHECKPOINT_FILES.config);
  if (!fs.existsSync(file))
    throw new Error(
      `--teacher ${dir}: no ${CHECKPOINT_FILES.config} there (expected a checkpoint folder, e.g. models/kit-nano)`,
    );
  const raw = readJsonFile(file);
  const name = isPlainObject(raw) ? raw["kit_name"] : undefined;
  return typeof name === "string" && name !== "" ? name : path.basename(path.resolve(dir));
}

/** Loads and checks the teacher checkpoint against the student and the KI settings. */
function loadTeacher(
  dir: string,
  student: PretrainOptions["config"],
  options: KiOptions,
): { teacher: LoadedBackbone; options: KiOptions; record: KiRunRecord } {
  const teacher = loadCheckpoint(dir);
  assertTeacherFits(teacher.config, student, options, dir);
  teacher.model.freeze();
  return { teacher, options, record: kiRunRecord(teacher, options) };
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
