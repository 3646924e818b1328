/**
 * The pre-training CLI (scripts/pretrain.ts) as a user runs it, in child processes: every bad flag is refused
 * before anything runs, naming the flag; a run writes into its run folder, never into models/ unless named with
 * --out, never over a checkpoint without --overwrite; an interrupted run resumes with the same command.
 *
 * Each process runs in a temporary project folder holding a tiny corpus (the default sources' identities with a
 * few made-up documents, so the CLI reuses it instead of building the real one), kit-nano's tokenizer, and a
 * copy of kit-nano as models/kit-nano.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { buildCorpus } from "../../lib/data/corpus";
import { CorpusSource, defaultCorpusSources } from "../../lib/data/corpus-sources";
import { referenceCorpusSources } from "../../lib/pretrain/held-out";
import { projectRoot } from "../../lib/experiment/run-cell";
import { readSafetensorsHeader } from "../../lib/io/safetensors";

const ROOT = projectRoot();
const CLI = path.join(ROOT, "build", "scripts", "pretrain.js");
const NANO = path.join(ROOT, "models", "kit-nano");
/** A few steps of a tiny run (--steps added per test). */
const SMALL = [
  "--size",
  "kit-nano",
  "--batch",
  "2",
  "--length",
  "16",
  "--eval-every",
  "2",
  "--eval-tokens",
  "64",
  "--log-every",
  "1",
  "--warmup",
  "1",
];

const WORDS = "the cat sat on the mat while a dog ran past the old red barn and birds sang in tall green trees".split(
  " ",
);

/** Made-up documents under the identities of `sources`, so the CLI reuses the tiny corpus instead of building the real one. */
function madeUp(sources: CorpusSource[]): CorpusSource[] {
  return sources.map((s, k) => ({
    ...s,
    *documents() {
      for (let i = 0; i < 150; i++) {
        const words = Array.from({ length: 30 }, (_, j) => WORDS[(i * 7 + j * 3 + k) % WORDS.length]!);
        yield { id: `${s.name}/${i}`, paragraphs: [words.join(" ") + "."] };
      }
    },
  }));
}

async function tinyProject(): Promise<string> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kit-pretrain-cli-"));
  await buildCorpus({ outDir: path.join(dir, ".cache", "corpus"), sources: madeUp(defaultCorpusSources()) });
  await buildCorpus({
    outDir: path.join(dir, ".cache", "corpus-reference"),
    sources: madeUp(referenceCorpusSources()),
  });
  fs.copyFileSync(path.join(NANO, "tokenizer.json"), path.join(dir, ".cache", "tokenizer-2048.json"));
  fs.cpSync(NANO, path.join(dir, "models", "kit-nano"), { recursive: true });
  return dir;
}

function run(cwd: string, args: string[]): { status: number | null; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    cwd,
    encoding: "utf8",
    env: { ...process.env, KIT_THREADS: "1" },
    timeout: 120_000,
  });
  return { status: r.status, stderr: r.stderr };
}

function bytesOf(dir: string): Map<string, string> {
  return new Map(fs.readdirSync(dir).map((f) => [f, fs.readFileSync(path.join(dir, f)).toString("base64")]));
}

describe("pretrain CLI", function () {
  this.timeout(300_000);
  let project = "";
  before(async () => {
    project = await tinyProject();
  });
  after(() => fs.rmSync(project, { recursive: true, force: true }));

  // The training options' own checks (every range) are covered without processes in pretrain-options.test.ts.
  it("refuses bad flags before anything runs, naming the flag", () => {
    const cases: [string[], RegExp][] = [
      [["--steps", "0"], /^--steps must be a positive integer, got 0$/m],
      [["--steps", "-5"], /^--steps must be a positive integer, got -5$/m],
      [["--batch", "0"], /^--batch must be a positive integer, got 0$/m],
      [["--length", "129"], /^--length must be an integer in \[2, 128\], got 129$/m],
      [["--lr", "0"], /^--lr must be a number > 0, got 0$/m],
      [["--weight-decay", "-1"], /^--weight-decay must be a number >= 0, got -1$/m],
      [
        ["--eval-tokens", "100"],
        /^--eval-tokens must be an integer >= 1024 \(one batch: --batch 8 x --length 128\), got 100$/m,
      ],
      [["--minutes", "-2"], /^--minutes must be a number >= 0, got -2$/m],
      [["--vocab-size", "0"], /^--vocab-size must be a positive integer, got 0$/m],
      [["--init", "nowhere"], /^--init nowhere: no config.json there/m],
      [
        ["--init", "models/kit-nano", "--tokenizer", "other.json"],
        /^--init models\/kit-nano trains with that checkpoint's tokenizer.json; drop --tokenizer other.json$/m,
      ],
      [["--init", "models/kit-nano", "--teacher", "models/kit-nano"], /^--init and --teacher cannot be combined/m],
      [["--ki-alpha", "0.3"], /^--ki-alpha need --teacher/m],
      [["--teacher", "models/kit-nano", "--ki-alpha", "2"], /^--ki-alpha must be a number in \[0, 1\], got 2$/m],
      [
        ["--teacher", "models/kit-nano", "--ki-top-k", "-1"],
        /^--ki-top-k \(0 = full vocabulary\) must be a non-negative integer, got -1$/m,
      ],
      [["--teacher", "nowhere"], /^--teacher nowhere: no config.json there/m],
      [["--overwrite"], /^--overwrite needs --out/m],
      [["--sources", "sotu,moby-dick"], /^--sources needs --corpus DIR: \.cache\/corpus holds the default corpus/m],
      [
        ["--corpus", "c2", "--sources", "sotu,gutenberg"],
        /^--sources: unknown corpus source 'gutenberg'; expected some of sotu, moby-dick, wordnet, brown$/m,
      ],
      [["--corpus", "c2", "--sources", "sotu,sotu"], /^--sources: a corpus source is named twice in sotu,sotu$/m],
    ];
    for (const [extra, re] of cases) {
      const r = run(project, ["--size", "kit-nano", ...extra]);
      assert.equal(r.status, 1, `${extra.join(" ")}: exit code`);
      assert.match(r.stderr, re, extra.join(" "));
      assert.doesNotMatch(r.stderr, /^\s+at /m, `${extra.join(" ")}: no stack trace`);
    }
    assert.match(
      run(project, ["--size", "kit-huge"]).stderr,
      /^--size must be one of kit-micro, kit-nano, kit-small, kit-base, kit-moe, got "kit-huge"$/m,
    );
    assert.match(
      run(project, ["--size", "kit-small", "--init", "models/kit-nano"]).stderr,
      /^--init models\/kit-nano: its shape differs from kit-small's in dModel \(96 vs 128\), nLayers \(3 vs 6\), nHeads \(3 vs 4\), dFF \(384 vs 512\)$/m,
    );
    assert.deepEqual(fs.readdirSync(project).sort(), [".cache", "models"], "nothing was written");
  });

  it("never writes into models/ implicitly, nor over a checkpoint without --overwrite", () => {
    const shipped = path.join(project, "models", "kit-nano");
    const before = bytesOf(shipped);
    const implicit = run(project, [...SMALL, "--steps", "2", "--run-dir", "models/kit-nano"]);
    assert.equal(implicit.status, 1);
    assert.match(
      implicit.stderr,
      /the default output folder models\/kit-nano\/model lies under .*models \(shipped backbones\): name it explicitly with --out/,
    );
    const over = run(project, [...SMALL, "--steps", "2", "--out", "models/kit-nano"]);
    assert.equal(over.status, 1);
    assert.match(
      over.stderr,
      /^models\/kit-nano already holds a checkpoint \(.*model\.safetensors.*\), a shipped backbone: pass --overwrite to replace it, or choose another --out$/m,
    );
    assert.deepEqual(bytesOf(shipped), before, "the shipped backbone is untouched");
    assert.equal(fs.existsSync(path.join(project, "runs")), false, "refused before training");
  });

  it("writes into its run folder by default, refuses to overwrite it, and resumes an interrupted run", () => {
    const shipped = path.join(project, "models", "kit-nano");
    const before = bytesOf(shipped);
    // A run cut short by its time budget (--minutes 0.00001: stops after the first step) resumes with the same command.
    const cut = run(project, [...SMALL, "--steps", "3", "--minutes", "0.00001"]);
    assert.equal(cut.status, 0, cut.stderr);
    assert.match(cut.stderr, /stopped at step \d\/3; run the same command to resume/);
    const out = path.join(project, "runs", "pretrain", "kit-nano", "model");
    assert.equal(fs.existsSync(out), false, "no checkpoint before the run finishes");
    const done = run(project, [...SMALL, "--steps", "3"]);
    assert.equal(done.status, 0, done.stderr);
    assert.match(done.stderr, /resumed .*kit-nano at step \d/);
    assert.match(done.stderr, /saved runs\/pretrain\/kit-nano\/model: val ppl/);
    assert.ok(fs.existsSync(path.join(out, "model.safetensors")));
    assert.deepEqual(bytesOf(shipped), before, "the shipped backbone is untouched");

    const again = run(project, [...SMALL, "--steps", "3"]);
    assert.equal(again.status, 1);
    assert.match(
      again.stderr,
      /^runs\/pretrain\/kit-nano\/model already holds a checkpoint .*: pass --overwrite to replace it/m,
    );
    // Replacing a shipped backbone on purpose: --out models/kit-nano --overwrite.
    const replaced = run(project, [...SMALL, "--steps", "3", "--out", "models/kit-nano", "--overwrite"]);
    assert.equal(replaced.status, 0, replaced.stderr);
    assert.notDeepEqual(bytesOf(shipped).get("model.safetensors"), before.get("model.safetensors"));
  });

  it("continues pre-training from a checkpoint (--init) with its tokenizer, counting its tokens and time", () => {
    // A copy of the shipped kit-nano of its own (an earlier test replaces models/kit-nano with a 3-step run).
    const shipped = path.join(project, "models", "start");
    fs.cpSync(NANO, shipped, { recursive: true });
    const before = bytesOf(shipped);
    const priorTokens = Number(readSafetensorsHeader(path.join(shipped, "model.safetensors")).metadata["tokens_seen"]);
    const r = run(project, [...SMALL, "--steps", "2", "--init", "models/start"]);
    assert.equal(r.status, 0, r.stderr);
    const out = path.join(project, "runs", "pretrain", "kit-nano-from-kit-nano", "model");
    assert.match(
      r.stderr,
      /saved runs\/pretrain\/kit-nano-from-kit-nano\/model: val ppl .* bits\/byte\), reference held-out ppl/,
    );
    const meta = readSafetensorsHeader(path.join(out, "model.safetensors")).metadata;
    assert.equal(Number(meta["tokens_seen"]), priorTokens + 2 * 2 * 16);
    // The shipped card's "wall time" row (minutes) plus this run's seconds.
    const priorMinutes = Number(
      /\| wall time \| ([0-9.]+) min/.exec(fs.readFileSync(path.join(NANO, "README.md"), "utf8"))![1],
    );
    assert.ok(Math.abs(Number(meta["train_seconds"]) - priorMinutes * 60) <= 30, meta["train_seconds"]);
    assert.ok(Number(meta["reference_bits_per_byte"]) > 0);
    assert.deepEqual(
      fs.readFileSync(path.join(out, "tokenizer.json")),
      fs.readFileSync(path.join(shipped, "tokenizer.json")),
    );
    const card = fs.readFileSync(path.join(out, "README.md"), "utf8");
    assert.match(card, /Pre-training continued from kit-nano/);
    assert.match(card, /\| reference held-out text \| ppl \*\*[0-9.]+\*\*/);
    assert.match(
      card,
      new RegExp(
        `\\| tokens seen \\| ${(priorTokens + 64).toLocaleString("en-US")} in all: ${priorTokens.toLocaleString("en-US")} by kit-nano`,
      ),
    );
    assert.deepEqual(bytesOf(shipped), before, "the starting checkpoint is untouched");
  });
});
