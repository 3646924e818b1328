/**
 * npm run pretrain -- --size kit-small [--steps N] [--batch B] [--length T] [--lr X] [--seed S]
 *                     [--minutes M] [--run-dir DIR] [--out DIR [--overwrite]] [--tokenizer FILE] [--checkpoint]
 *                     [--init models/SIZE]
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
 * --init DIR continues pre-training from a checkpoint of the same shape: its weights and its tokenizer (so the
 * vocabulary stays the one the checkpoint learned), a fresh AdamW and learning-rate schedule over --steps, the data
 * order from --seed. The default run folder becomes runs/pretrain/SIZE-from-FINGERPRINT; the card counts the
 * starting checkpoint's tokens and training time in its totals.
 *
 * Every card also scores the reference held-out text (the validation documents of the corpus the first shipped
 * backbones were trained on, lib/pretrain/held-out.ts) and reports bits per byte, so cards stay comparable when
 * the corpus grows or the tokenizer is retrained.
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
import { CorpusSource, corpusSourcesNamed, defaultCorpusSources } from "../lib/data/corpus-sources";
import { trainBpe } from "../lib/tokenizer/bpe-trainer";
import { Tokenizer } from "../lib/tokenizer/tokenizer";
import { modelCard } from "../lib/pretrain/model-card";
import { PretrainOptions, PretrainResult, pretrain, validationLoss } from "../lib/pretrain/pretrainer";
import {
  PRETRAIN_FLAGS,
  PretrainInit,
  checkPretrainOptions,
  checkPretrainStreams,
} from "../lib/pretrain/pretrain-options";
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
import { encodedTextBytes, referenceHeldOutFile, scoreHeldOut } from "../lib/pretrain/held-out";
import { evaluationBatches } from "../lib/pretrain/batches";
import { KiOptions, assertTeacherFits, kiLoss, resolveKiOptions } from "../lib/pretrain/knowledge-inheritance";
import { KiRunRecord, assertKiRunMatches, kiCardNotes, kiRunName, kiRunRecord } from "../lib/pretrain/ki-run";
import { canonicalJson } from "../lib/experiment/cell-id";
import { ArgSpec, parseArgs } from "./args";

const USAGE =
  "usage: npm run pretrain -- --size kit-micro|kit-nano|kit-small|kit-base|kit-moe [--steps N] [--batch B] [--length T] [--lr X] [--seed S] [--minutes M [--finish-on-deadline]] [--checkpoint] " +
  "[--run-dir DIR] [--out DIR [--overwrite]] [--init models/SIZE] [--tokenizer FILE] [--corpus DIR [--sources sotu,moby-dick,wordnet,brown]] " +
  "[--teacher models/SMALLER [--ki-alpha A] [--ki-end-step N] [--ki-temperature T] [--ki-top-k K]]";

/** Where a from-scratch run keeps the tokenizer it trains on the corpus (shared by every size). */
const DEFAULT_TOKENIZER = ".cache/tokenizer-2048.json";

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
  tokenizer: { type: "string", default: "" },
  init: { type: "string", default: "" },
  "vocab-size": { type: "int", default: 2048 },
  corpus: { type: "string", default: ".cache/corpus" },
  sources: { type: "string", default: "" },
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
  const initDir = args.init as string;
  if (initDir && teacherDir)
    throw new Error("--init and --teacher cannot be combined: continue a run, or distil into a new one");
  if (initDir && args.tokenizer !== "")
    throw new Error(
      `--init ${initDir} trains with that checkpoint's tokenizer.json; drop --tokenizer ${args.tokenizer}`,
    );
  // The run's name and folders need only the teacher's (or starting checkpoint's) name; check them before the backend starts.
  const teacherName = teacherDir ? checkpointName(teacherDir, "--teacher") : null;
  const name = teacherName ? kiRunName(size, teacherName) : size;
  const runName = initDir ? `${size}-from-${checkpointName(initDir, "--init")}` : name;
  const runDir = (args["run-dir"] as string) || path.join("runs", "pretrain", runName);
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
  const start = initDir ? loadStart(initDir, size, config) : null;
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
    start,
  );

  checkPretrainStreams(train, val, options, PRETRAIN_FLAGS);
  // The KI record rides along in the options written to ckpt/state.json (checked by assertKiRunMatches).
  const runOptions: PretrainOptions & { ki?: KiRunRecord } = {
    ...options,
    ...(ki ? { ki: ki.record } : {}),
    ...(start ? { init: start.init } : {}),
  };
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
    ...(start ? { startFrom: start.backbone.model } : {}),
  });
  const cutShort = !result.finished && !interrupted && args["finish-on-deadline"] === true;
  if (!result.finished && !cutShort) {
    console.error(`stopped at step ${result.state.step}/${options.steps}; run the same command to resume`);
    process.exitCode = interrupted ? 130 : 0;
    return;
  }
  outOf(); // again: another process may have written there while this one trained
  await writeModel({
    corpusDir: args.corpus as string,
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
  start: Start | null,
): Promise<{ manifest: CorpusManifest; tokenizer: Tokenizer; train: Int32Array; val: Int32Array }> {
  const manifest = await buildCorpus({ outDir: args.corpus as string, sources: corpusSources(args) });
  const trainFile = path.join(args.corpus as string, "train.txt");
  const valFile = path.join(args.corpus as string, "val.txt");
  const tokPath = start
    ? path.join(start.backbone.dir, CHECKPOINT_FILES.tokenizer)
    : (args.tokenizer as string) || DEFAULT_TOKENIZER;
  if (!start && !fs.existsSync(tokPath)) {
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
  readonly corpusDir: string;
}

/** Final validation loss on the whole held-out split, the model card, and the checkpoint folder. */
async function writeModel(f: Finished): Promise<void> {
  const { outDir, name, config, options, result, manifest, tokenizer, train, val, cutShort, ki, minutes } = f;
  const finalVal = validationLoss(result.model, evaluationBatches(val, options.batch, options.length, val.length));
  const init = result.state.options.init;
  const valFile = path.join(f.corpusDir, "val.txt");
  const valBitsPerByte = (finalVal * val.length) / (encodedTextBytes(fs.readFileSync(valFile, "utf8")) * Math.LN2);
  const reference = scoreHeldOut(result.model, tokenizer, await referenceHeldOutFile(), {
    batch: options.batch,
    length: options.length,
    cacheDir: path.join(f.corpusDir, "tokens"),
  });
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
    heldOut: { valBitsPerByte, reference },
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
    metadata: {
      val_loss: finalVal.toFixed(6),
      val_bits_per_byte: valBitsPerByte.toFixed(6),
      reference_val_loss: reference.loss.toFixed(6),
      reference_bits_per_byte: reference.bitsPerByte.toFixed(6),
      tokens_seen: String((init?.tokensSeen ?? 0) + result.state.tokensSeen),
      train_seconds: String(Math.round((init?.wallSeconds ?? 0) + result.state.wallSeconds)),
    },
  });
  console.error(
    `saved ${outDir}: val ppl ${Math.exp(finalVal).toFixed(2)} (${valBitsPerByte.toFixed(4)} bits/byte), reference held-out ppl ` +
      `${reference.perplexity.toFixed(2)} (${reference.bitsPerByte.toFixed(4)} bits/byte) after ${result.state.tokensSeen} tokens in ${formatDuration(result.state.wallSeconds)}`,
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
  string(args.tokenizer, "--tokenizer");
  string(args.init, "--init");
  string(args.corpus, "--corpus", { nonEmpty: true });
  corpusSources(args);
  if (args.sources !== "" && args.corpus === FLAGS.corpus.default)
    throw new Error(
      `--sources needs --corpus DIR: ${FLAGS.corpus.default} holds the default corpus (all sources), which a subset would overwrite`,
    );
  if (args.overwrite === true && args.out === "")
    throw new Error("--overwrite needs --out: name the folder to replace");
}

/** The corpus sources --sources names (comma-separated), or every default source. */
function corpusSources(args: Record<string, string | number | boolean>): CorpusSource[] {
  const names = string(args.sources, "--sources");
  return names === ""
    ? defaultCorpusSources()
    : corpusSourcesNamed(
        names.split(",").map((n) => n.trim()),
        "--sources",
      );
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
function checkpointName(dir: string, flag: string): string {
  const file = path.join(dir, CHECKPOINT_FILES.config);
  if (!fs.existsSync(file))
    throw new Error(
      `${flag} ${dir}: no ${CHECKPOINT_FILES.config} there (expected a checkpoint folder, e.g. models/kit-nano)`,
    );
  const raw = readJsonFile(file);
  const name = isPlainObject(raw) ? raw["kit_name"] : undefined;
  return typeof name === "string" && name !== "" ? name : path.basename(path.resolve(dir));
}

/** The checkpoint a continued run (--init) starts from, checked against the size's shape. */
interface Start {
  readonly backbone: LoadedBackbone;
  readonly init: PretrainInit;
}

const SHAPE_FIELDS = ["vocabSize", "maxLen", "dModel", "nLayers", "nHeads", "dFF", "activation"] as const;

function loadStart(dir: string, size: string, config: PretrainOptions["config"]): Start {
  const backbone = loadCheckpoint(dir);
  const family = backbone.config.family ?? "gpt2";
  if (family !== "gpt2") throw new Error(`--init ${dir}: a ${family} checkpoint; the kit pre-trains gpt2-layout sizes`);
  const differs = SHAPE_FIELDS.filter((k) => backbone.config[k] !== config[k]);
  if (differs.length > 0)
    throw new Error(
      `--init ${dir}: its shape differs from ${size}'s in ${differs
        .map((k) => `${k} (${String(backbone.config[k])} vs ${String(config[k])})`)
        .join(", ")}`,
    );
  const seen = Number(backbone.metadata["tokens_seen"] ?? "0");
  return {
    backbone,
    init: {
      name: backbone.name,
      fingerprint: backbone.fingerprint,
      tokensSeen: Number.isFinite(seen) ? seen : 0,
      wallSeconds: priorTrainSeconds(backbone),
    },
  };
}

/** Training seconds a checkpoint cost: its train_seconds metadata, else its card's "wall time" row, else 0. */
function priorTrainSeconds(b: LoadedBackbone): number {
  const recorded = Number(b.metadata["train_seconds"]);
  if (Number.isFinite(recorded) && recorded > 0) return recorded;
  const cardPath = path.join(b.dir, CHECKPOINT_FILES.card);
  const card = fs.existsSync(cardPath) ? fs.readFileSync(cardPath, "utf8") : "";
  const m = /\| wall time \| ([0-9.]+) min/.exec(card);
  return m ? Number(m[1]) * 60 : 0;
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
