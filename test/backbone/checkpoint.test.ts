import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { tf } from "../../lib/backend/backend";
import { loadCheckpoint, saveCheckpoint } from "../../lib/backbone/checkpoint";
import { fingerprint } from "../../lib/backbone/fingerprint";
import { Transformer } from "../../lib/backbone/transformer";
import { encodeSafetensors, readSafetensorsFile, SafeTensor } from "../../lib/io/safetensors";
import { trainBpe } from "../../lib/tokenizer/bpe-trainer";
import { Tokenizer } from "../../lib/tokenizer/tokenizer";
import { assertNoLeak, bitwiseEqual, setupBackend, snapshot } from "../helpers";

const TEXT = ["a small corpus for a small tokenizer", "the model card names the corpus", "tokens and more tokens"];

describe("checkpoints", () => {
  before(setupBackend);
  let tok: Tokenizer;
  let dir: string;
  let model: Transformer;

  beforeEach(() => {
    tok = Tokenizer.fromJSON(trainBpe(TEXT, { vocabSize: 280, minFrequency: 1 }));
    model = Transformer.create({ vocabSize: tok.vocabSize, maxLen: 16, dModel: 8, nLayers: 2, nHeads: 2, dFF: 16 }, 5);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "kit-ckpt-"));
    saveCheckpoint(dir, model, tok, { name: "unit", card: "# unit\n" });
  });
  afterEach(() => model.dispose());

  const weightsFile = () => path.join(dir, "model.safetensors");
  const rewrite = (edit: (t: Record<string, SafeTensor>) => void) => {
    const { tensors, metadata } = readSafetensorsFile(weightsFile());
    edit(tensors);
    fs.writeFileSync(weightsFile(), encodeSafetensors(tensors, metadata));
  };

  it("round-trips bitwise with config, tokenizer, card and fingerprint", () => {
    for (const f of ["config.json", "model.safetensors", "tokenizer.json", "README.md"])
      assert.ok(fs.existsSync(path.join(dir, f)), f);
    const loaded = loadCheckpoint(dir);
    const a = snapshot(model.variables());
    const b = snapshot(loaded.model.variables());
    a.forEach((w, i) => assert.ok(bitwiseEqual(w, b[i]!), model.names()[i]));
    assert.deepEqual(loaded.config, model.config);
    assert.equal(loaded.fingerprint, fingerprint(model));
    assert.equal(loaded.name, "unit");
    assert.deepEqual(loaded.tokenizer.encode("small tokens"), tok.encode("small tokens"));
    loaded.model.dispose();
  });

  it("loading leaks no tensors beyond the model's own variables", async () => {
    let loaded: ReturnType<typeof loadCheckpoint> | null = null;
    const before = tf.memory().numTensors;
    loaded = loadCheckpoint(dir);
    assert.equal(tf.memory().numTensors - before, loaded.model.variables().length);
    await assertNoLeak("load + dispose", () => loadCheckpoint(dir).model.dispose());
    loaded.model.dispose();
  });

  it("a truncated weights file names the file", () => {
    const bytes = fs.readFileSync(weightsFile());
    fs.writeFileSync(weightsFile(), bytes.subarray(0, bytes.length - 100));
    assert.throws(
      () => loadCheckpoint(dir),
      (e: Error) => e.message.includes(weightsFile()) && /short|truncat|offset|data/i.test(e.message),
    );
  });

  it("an oversized header length names the file", () => {
    const bytes = Buffer.from(fs.readFileSync(weightsFile()));
    bytes.writeBigUInt64LE(BigInt(bytes.length * 10), 0);
    fs.writeFileSync(weightsFile(), bytes);
    assert.throws(
      () => loadCheckpoint(dir),
      (e: Error) => e.message.includes(weightsFile()) && /header/i.test(e.message),
    );
  });

  it("a malformed header names the file", () => {
    const bytes = Buffer.from(fs.readFileSync(weightsFile()));
    bytes.write("#", 8);
    fs.writeFileSync(weightsFile(), bytes);
    assert.throws(
      () => loadCheckpoint(dir),
      (e: Error) => e.message.includes(weightsFile()) && /JSON|header/i.test(e.message),
    );
  });

  it("a wrong shape names the file and the tensor, expected vs got", () => {
    rewrite((t) => {
      t["h.1.mlp.c_fc.bias"] = { dtype: "F32", shape: [8], data: new Float32Array(8) };
    });
    assert.throws(
      () => loadCheckpoint(dir),
      (e: Error) =>
        e.message.includes(weightsFile()) &&
        e.message.includes("h.1.mlp.c_fc.bias") &&
        /expected \[16\], got \[8\]/.test(e.message),
    );
  });

  it("an unknown tensor and a missing tensor are both named", () => {
    rewrite((t) => {
      t["h.7.attn.extra"] = { dtype: "F32", shape: [2], data: new Float32Array(2) };
      delete t["ln_f.bias"];
    });
    assert.throws(
      () => loadCheckpoint(dir),
      (e: Error) =>
        e.message.includes("h.7.attn.extra") && e.message.includes("ln_f.bias") && /missing/.test(e.message),
    );
  });

  it("a config that disagrees with the tokenizer or is not JSON fails naming config.json", () => {
    const cfg = path.join(dir, "config.json");
    const raw = JSON.parse(fs.readFileSync(cfg, "utf8"));
    fs.writeFileSync(cfg, JSON.stringify({ ...raw, vocab_size: 100 }));
    assert.throws(() => loadCheckpoint(dir), /tokenizer has \d+ tokens but config.json vocab_size is 100/);
    fs.writeFileSync(cfg, "{ not json");
    assert.throws(
      () => loadCheckpoint(dir),
      (e: Error) => e.message.includes(cfg) && /not valid JSON/.test(e.message),
    );
  });

  it("accepts a GPT-2-style file: 'transformer.' prefix, attention mask buffers, tied lm_head", () => {
    rewrite((t) => {
      for (const k of Object.keys(t)) {
        t[`transformer.${k}`] = t[k]!;
        delete t[k];
      }
      t["transformer.h.0.attn.bias"] = { dtype: "F32", shape: [1, 1, 16, 16], data: new Float32Array(256) };
      t["lm_head.weight"] = t["transformer.wte.weight"]!;
    });
    const loaded = loadCheckpoint(dir);
    assert.equal(loaded.fingerprint, fingerprint(model));
    loaded.model.dispose();
  });

  it("the shipped backbones load in a few seconds and match their recorded fingerprint", function () {
    const models = path.resolve(__dirname, "..", "..", "..", "models");
    const names = fs.existsSync(models)
      ? fs.readdirSync(models).filter((n) => fs.existsSync(path.join(models, n, "model.safetensors")))
      : [];
    if (names.length === 0) this.skip();
    for (const n of names) {
      const t0 = performance.now();
      const b = loadCheckpoint(path.join(models, n));
      const secs = (performance.now() - t0) / 1000;
      assert.ok(secs < 10, `${n} took ${secs.toFixed(1)} s to load`);
      assert.equal(
        b.fingerprint,
        b.metadata["kit_fingerprint"],
        `${n}: weights do not match the fingerprint recorded at save time`,
      );
      b.model.dispose();
    }
  });
});
