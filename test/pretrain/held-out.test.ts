/**
 * Held-out scores (lib/pretrain/held-out.ts): bytes counted as the token stream encodes them, bits per byte from the
 * summed loss, and a continued run (options.init + hooks.startFrom) starting from the given weights.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { LoadedBackbone, loadCheckpoint } from "../../lib/backbone/checkpoint";
import { projectRoot } from "../../lib/experiment/project-paths";
import { encodedTextBytes, scoreHeldOut } from "../../lib/pretrain/held-out";
import { evaluationBatches } from "../../lib/pretrain/batches";
import { encodeCorpusFile } from "../../lib/pretrain/token-stream";
import { PretrainOptions, pretrain, validationLoss } from "../../lib/pretrain/pretrainer";
import { setupBackend } from "../helpers";

const TEXT = [
  "The committee met on a cold Tuesday morning to discuss the harbour.",
  "",
  "Ships came and went; the mayor said nothing — not one word.",
  "   ",
  "Naïve readers pay 5 € for a café au lait.",
  "",
].join("\n");

describe("held-out scores", function () {
  this.timeout(60_000);
  let nano: LoadedBackbone;
  before(async () => {
    await setupBackend();
    nano = loadCheckpoint(path.join(projectRoot(), "models", "kit-nano"));
  });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kit-held-out-"));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("counts the UTF-8 bytes of non-blank lines, one newline each (the <eos> the stream adds)", () => {
    assert.equal(encodedTextBytes("ab\n\n  \nc\u00e9\n"), 3 + 4);
    assert.equal(encodedTextBytes("\u20ac"), 4);
    assert.equal(encodedTextBytes("\n\n"), 0);
  });

  it("bits per byte are the mean loss times the stream's tokens over its bytes, in bits", () => {
    const file = path.join(dir, "val.txt");
    fs.writeFileSync(file, TEXT.repeat(6));
    const s = scoreHeldOut(nano.model, nano.tokenizer, file, { batch: 2, length: 16, cacheDir: dir });
    const stream = encodeCorpusFile(file, nano.tokenizer, dir);
    assert.equal(s.tokens, stream.length);
    assert.equal(s.bytes, Buffer.byteLength(TEXT.replace(/\n\s*\n/g, "\n").replace(/\n\s+\n/g, "\n"), "utf8") * 6);
    const batches = evaluationBatches(stream, 2, 16, stream.length);
    assert.equal(s.scoredTokens, batches.length * 32);
    assert.equal(s.loss, validationLoss(nano.model, batches));
    assert.ok(Math.abs(s.bitsPerByte - (s.loss * s.tokens) / (s.bytes * Math.log(2))) < 1e-12);
    assert.ok(s.bitsPerByte > 0.5 && s.bitsPerByte < 8, `a trained model's bits per byte, got ${s.bitsPerByte}`);
    assert.throws(
      () => scoreHeldOut(nano.model, nano.tokenizer, file, { batch: 64, length: 128, cacheDir: dir }),
      /val\.txt: \d+ tokens is less than one batch of 64 x 128 to score/,
    );
  });

  it("a continued run starts from the given weights, and refuses init without its model", async () => {
    const ids = encodeCorpusFile(
      (fs.writeFileSync(path.join(dir, "t.txt"), TEXT.repeat(40)), path.join(dir, "t.txt")),
      nano.tokenizer,
      dir,
    );
    const options: PretrainOptions = {
      config: nano.config,
      seed: 1,
      steps: 1,
      batch: 2,
      length: 16,
      lr: 1e-12,
      warmupSteps: 0,
      minLrRatio: 0.1,
      weightDecay: 0,
      clipNorm: 1,
      evalEvery: 1,
      evalTokens: 32,
      ckptSeconds: 1000,
      logEvery: 100,
      init: { name: "kit-nano", fingerprint: nano.fingerprint, tokensSeen: 5, wallSeconds: 7 },
    };
    const startLoss = validationLoss(nano.model, evaluationBatches(ids, 2, 16, 32));
    await assert.rejects(
      pretrain(path.join(dir, "run-a"), ids, ids, options, { log: () => undefined }),
      /options.init \(which checkpoint\) and hooks.startFrom \(its model\) go together/,
    );
    const start = loadCheckpoint(path.join(projectRoot(), "models", "kit-nano"));
    const r = await pretrain(path.join(dir, "run-b"), ids, ids, options, {
      log: () => undefined,
      startFrom: start.model,
    });
    // One step at lr 1e-12 leaves the weights (and so the validation loss) where the checkpoint had them.
    assert.ok(
      Math.abs(r.state.history[0]!.valLoss - startLoss) < 1e-4,
      `${r.state.history[0]!.valLoss} vs ${startLoss}`,
    );
    assert.deepEqual(r.state.options.init, options.init);
  });
});
