/**
 * Loading checkpoints of every family: round trips through the Hugging Face layout, and refusals that name the
 * field, file or tensor (unsupported model_type or math-changing field, flipped bit vs recorded fingerprint,
 * NaN/Inf weights, an untied head in a config that says tied, a missing shard).
 */
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { tf } from "../../lib/backend/backend";
import { configFromJson, loadCheckpoint } from "../../lib/backbone/checkpoint";
import { nonEmbeddingParams, totalParams } from "../../lib/backbone/config";
import { fingerprint } from "../../lib/backbone/fingerprint";
import { Transformer } from "../../lib/backbone/transformer";
import { readSafetensorsFile, readSafetensorsHeader, writeSafetensorsFile } from "../../lib/io/safetensors";
import { setupBackend } from "../helpers";
import { TINY_FAMILIES, tinyFamilyDir } from "./family-fixtures";

function copyDir(src: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kit-hf-load-"));
  for (const f of fs.readdirSync(src)) fs.copyFileSync(path.join(src, f), path.join(dir, f));
  return dir;
}

function logitsOf(m: Transformer, ids: number[]): Float32Array {
  return tf.tidy(() => {
    const x = m.embed(Int32Array.from(ids), 1, ids.length);
    const h = m.forwardEmbeddings(x, new Uint8Array(ids.length).fill(1));
    return m.logits(tf.reshape(h, [ids.length, m.config.dModel]) as tf.Tensor2D).dataSync() as Float32Array;
  });
}

describe("Hugging Face checkpoints: loading and refusals", function () {
  this.timeout(60_000);
  before(setupBackend);

  for (const family of Object.keys(TINY_FAMILIES)) {
    it(`${family}: save then load is bitwise (weights, fingerprint, logits), in HF names and layout`, () => {
      const dir = tinyFamilyDir(family);
      const model = Transformer.create({ ...TINY_FAMILIES[family], vocabSize: 300 }, 5);
      const b = loadCheckpoint(dir);
      try {
        assert.deepEqual(b.model.names(), model.names());
        assert.equal(b.fingerprint, fingerprint(model));
        assert.deepEqual(Array.from(logitsOf(b.model, [5, 9, 2, 77])), Array.from(logitsOf(model, [5, 9, 2, 77])));
        const header = readSafetensorsHeader(path.join(dir, "model.safetensors")).tensors;
        if (family === "llama" || family === "qwen2") {
          assert.deepEqual(
            header["model.layers.0.self_attn.k_proj.weight"]?.shape,
            [TINY_FAMILIES[family]!.nKvHeads! * 4, 16],
            "nn.Linear [out, in]",
          );
        }
        if (family === "llama") assert.deepEqual(header["lm_head.weight"]?.shape, [300, 16]);
        if (family === "gpt_neox") assert.deepEqual(header["embed_out.weight"]?.shape, [300, 16]);
        if (family === "qwen2") {
          assert.equal(JSON.parse(fs.readFileSync(path.join(dir, "config.json"), "utf8")).model_type, "qwen2");
          assert.ok(header["model.layers.1.self_attn.q_proj.bias"] && !header["model.layers.1.self_attn.o_proj.bias"]);
        }
      } finally {
        b.model.dispose();
        model.dispose();
      }
    });
  }

  it("totalParams and nonEmbeddingParams count every family's parameters", () => {
    for (const [family, cfg] of Object.entries(TINY_FAMILIES)) {
      for (const extra of [{}, { mlpBias: true, qkvBias: true, outBias: true }, { tiedHead: true }]) {
        if (family === "gpt2" && Object.keys(extra).length > 0) continue;
        const m = Transformer.create({ ...cfg, ...extra, vocabSize: 50 }, 1);
        const embeddings = m
          .names()
          .filter((n) => /^(wte|wpe|embed_tokens|embed_in|embed_out|lm_head)\./.test(n))
          .reduce((s, n) => s + m.param(n).size, 0);
        assert.equal(totalParams(m.config), m.paramCount(), `${family} ${JSON.stringify(extra)}`);
        assert.equal(nonEmbeddingParams(m.config), m.paramCount() - embeddings, `${family} ${JSON.stringify(extra)}`);
        m.dispose();
      }
    }
  });

  it("a flipped bit in the weights is refused, naming both fingerprints", () => {
    const dir = copyDir(tinyFamilyDir("llama"));
    const file = path.join(dir, "model.safetensors");
    const bytes = fs.readFileSync(file);
    const recorded = readSafetensorsHeader(file).metadata["kit_fingerprint"]!;
    bytes[bytes.length - 3]! ^= 0x01; // a low mantissa bit of the last weight
    fs.writeFileSync(file, bytes);
    const before = tf.memory().numTensors;
    assert.throws(
      () => loadCheckpoint(dir),
      (err: Error) => {
        assert.match(err.message, /model\.safetensors/);
        assert.ok(err.message.includes(recorded), err.message);
        assert.match(err.message, /fingerprint sha256:[0-9a-f]{64} differs .*kit_fingerprint sha256:[0-9a-f]{64}/);
        return true;
      },
    );
    assert.equal(tf.memory().numTensors, before, "the refused model's tensors are freed");
  });

  for (const bad of [NaN, Infinity, -Infinity]) {
    it(`${bad} in a weight is refused naming the file, the tensor and the element`, () => {
      const dir = copyDir(tinyFamilyDir("gpt_neox"));
      const file = path.join(dir, "model.safetensors");
      const { tensors, metadata } = readSafetensorsFile(file);
      (tensors["gpt_neox.layers.1.mlp.dense_4h_to_h.weight"]!.data as Float32Array)[7] = bad;
      writeSafetensorsFile(file, tensors, metadata);
      assert.throws(
        () => loadCheckpoint(dir),
        /model\.safetensors: tensor "gpt_neox\.layers\.1\.mlp\.dense_4h_to_h\.weight" holds a non-finite value \((NaN|-?Infinity) at flat index \d+\)/,
      );
    });
  }

  it("an unsupported model_type or a field that changes the math is refused naming the field", () => {
    const base = JSON.parse(fs.readFileSync(path.join(tinyFamilyDir("llama"), "config.json"), "utf8"));
    const f = "/x/config.json";
    assert.throws(
      () => configFromJson({ ...base, model_type: "mamba" }, f),
      /\/x\/config\.json: field 'model_type' is "mamba": not a supported architecture \(supported: gpt2, llama, qwen2, gpt_neox\)/,
    );
    assert.throws(
      () => configFromJson({ ...base, rope_scaling: { rope_type: "llama3", factor: 8 } }, f),
      /field 'rope_scaling' is .*rotary scaling is not supported/,
    );
    assert.throws(() => configFromJson({ ...base, hidden_act: "gelu" }, f), /field 'hidden_act' is "gelu"/);
    assert.throws(
      () => configFromJson({ ...base, num_key_value_heads: 3 }, f),
      /config\.json: config\.nHeads \(4\) must be a multiple of config\.nKvHeads \(3\)/,
    );
    assert.throws(
      () => configFromJson({ ...base, model_type: "qwen2", use_sliding_window: true }, f),
      /field 'use_sliding_window' is true/,
    );
    assert.throws(
      () => configFromJson({ ...base, rope_interleaved: true }, f),
      /field 'rope_interleaved' is true: interleaved rotary pairs is not supported/,
    );
    // what real configs carry and the kit implements loads (SmolLM2 / Qwen2.5 / TinyLlama style)
    configFromJson(
      {
        ...base,
        rope_interleaved: false,
        rope_scaling: null,
        use_sliding_window: false,
        sliding_window: 4096,
        pretraining_tp: 1,
      },
      f,
    );
    const neox = JSON.parse(fs.readFileSync(path.join(tinyFamilyDir("gpt_neox"), "config.json"), "utf8"));
    assert.throws(
      () => configFromJson({ ...neox, rope_scaling: { type: "linear", factor: 2 } }, f),
      /field 'rope_scaling'/,
    );
    assert.throws(
      () =>
        configFromJson(
          {
            model_type: "gpt2",
            n_embd: 16,
            n_layer: 1,
            n_head: 2,
            vocab_size: 9,
            n_positions: 8,
            scale_attn_by_inverse_layer_idx: true,
          },
          f,
        ),
      /field 'scale_attn_by_inverse_layer_idx'/,
    );
  });

  it("a head tensor that differs from the embedding in a tied config is refused naming tie_word_embeddings", () => {
    const dir = copyDir(tinyFamilyDir("qwen2"));
    const file = path.join(dir, "model.safetensors");
    const { tensors } = readSafetensorsFile(file);
    const e = tensors["model.embed_tokens.weight"]!;
    tensors["lm_head.weight"] = { dtype: "F32", shape: [...e.shape], data: (e.data as Float32Array).map((v) => v + 1) };
    writeSafetensorsFile(file, tensors, { format: "pt" });
    assert.throws(
      () => loadCheckpoint(dir),
      /tensor "lm_head\.weight" differs from the token embedding "model\.embed_tokens\.weight".*tie_word_embeddings/,
    );
    tensors["lm_head.weight"] = e; // HF's tied files may carry an equal copy: accepted
    writeSafetensorsFile(file, tensors, { format: "pt" });
    loadCheckpoint(dir).model.dispose();
  });

  it("sharded weights: loads from model.safetensors.index.json; a missing shard or tensor is named", () => {
    const dir = copyDir(tinyFamilyDir("llama"));
    const single = path.join(dir, "model.safetensors");
    const { tensors, metadata } = readSafetensorsFile(single);
    const names = Object.keys(tensors);
    const map: Record<string, string> = {};
    ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"].forEach((shard, s) => {
      const part = Object.fromEntries(names.filter((_, i) => i % 2 === s).map((n) => [n, tensors[n]!]));
      writeSafetensorsFile(path.join(dir, shard), part, s === 0 ? metadata : { format: "pt" });
      for (const n of Object.keys(part)) map[n] = shard;
    });
    fs.rmSync(single);
    fs.writeFileSync(path.join(dir, "model.safetensors.index.json"), JSON.stringify({ metadata: {}, weight_map: map }));
    const b = loadCheckpoint(dir);
    assert.equal(b.fingerprint, metadata["kit_fingerprint"]);
    b.model.dispose();
    const wrong = { ...map, [names[0]!]: "model-00002-of-00002.safetensors" };
    fs.writeFileSync(path.join(dir, "model.safetensors.index.json"), JSON.stringify({ weight_map: wrong }));
    assert.throws(
      () => loadCheckpoint(dir),
      new RegExp(
        `model-00002-of-00002\\.safetensors: tensor "${names[0]!.replace(/\./g, "\\.")}" is listed for this shard`,
      ),
    );
    fs.rmSync(path.join(dir, "model-00002-of-00002.safetensors"));
    fs.writeFileSync(path.join(dir, "model.safetensors.index.json"), JSON.stringify({ weight_map: map }));
    assert.throws(
      () => loadCheckpoint(dir),
      /model\.safetensors\.index\.json: shard model-00002-of-00002\.safetensors .* is missing/,
    );
  });
});
