/**
 * PEFT PREFIX_TUNING adapters: the written config field by field, the bitwise round trip (prefix file -> adapter ->
 * prefix file; a collapsed MLP prefix too), and the refusals, each naming the file / field and both values. The
 * layout itself is checked against an independent reference in peft-prefix-reference.test.ts.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Rng, uniformArray } from "../../../lib/backend/random";
import { readSafetensorsFile, writeSafetensorsFile } from "../../../lib/io/safetensors";
import { PrefixEncoder, tableSize, type PrefixShape } from "../../../lib/prompt/prefix-encoder";
import { loadPrefix, savePrefix } from "../../../lib/prompt/prefix-file";
import {
  ADAPTER_CONFIG_FILE,
  ADAPTER_WEIGHTS_FILE,
  exportPeftAdapter,
  exportPeftPrefix,
  exportPrefixTuningAdapter,
  importPeftAdapter,
  importPeftPrefix,
  importPrefixTuningAdapter,
  prefixShapeFor,
  type PeftPrefixBackbone,
} from "../../../lib/prompt/peft";
import type { PromptMeta } from "../../../lib/prompt/prompt-file";
import { PromptSet } from "../../../lib/prompt/soft-prompt";
import { randomUniform } from "../../../lib/prompt/initializers";
import { setupBackend } from "../../helpers";

/** A grouped-query backbone: 4 query heads share 2 key/value heads of 4 dims (W = 8, width 16). */
const BACKBONE: PeftPrefixBackbone = {
  name: "kit-gqa",
  fingerprint: "sha256:" + "cd".repeat(32),
  width: 16,
  heads: 4,
  layers: 3,
  kvHeads: 2,
  headDim: 4,
};
const P = 5;
const SHAPE: PrefixShape = prefixShapeFor(BACKBONE, P);
const META: PromptMeta = {
  task: "yelp",
  labels: ["negative", "positive"],
  settings: { length: P, init: "random-uniform", position: "key/value prefix (every layer)" },
  backbone: { name: BACKBONE.name, fingerprint: BACKBONE.fingerprint },
  metrics: { accuracy: 0.8 },
  extra: { method: "prefix-tuning", positions: "after-prefix", seed: 2 },
};

/**
 * PrefixTuningConfig as PEFT writes it for this backbone (src/peft/config.py PromptLearningConfig +
 * src/peft/tuners/prefix_tuning/config.py; token_dim and num_attention_heads after the grouped-query adjustment of
 * _prepare_prompt_learning_config: key/value width 2 x 4 = 8, 2 heads).
 */
const SPEC: Record<string, unknown> = {
  auto_mapping: null,
  base_model_name_or_path: "kit-gqa",
  encoder_hidden_size: 8,
  inference_mode: true,
  num_attention_heads: 2,
  num_layers: 3,
  num_transformer_submodules: 1,
  num_virtual_tokens: P,
  peft_type: "PREFIX_TUNING",
  prefix_projection: false,
  revision: null,
  task_type: "CAUSAL_LM",
  token_dim: 8,
};

function table(seed = 1): Float32Array {
  return uniformArray(new Rng(seed), tableSize(SHAPE), -1, 1);
}

describe("PEFT prefix-tuning adapters", function () {
  this.timeout(30000);
  before(setupBackend);
  let tmp = "";
  beforeEach(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "kit-peft-prefix-"));
  });
  afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

  /** Exports a direct "after-prefix" prefix; returns the folder and the table. */
  function exported(data = table(), name = "adapter"): { dir: string; data: Float32Array } {
    const dir = path.join(tmp, name);
    const enc = PrefixEncoder.fromTable(SHAPE, data, "after-prefix");
    exportPrefixTuningAdapter(dir, enc, META, BACKBONE);
    enc.dispose();
    return { dir, data };
  }

  function editConfig(dir: string, edit: (c: Record<string, unknown>) => void): void {
    const file = path.join(dir, ADAPTER_CONFIG_FILE);
    const c = JSON.parse(fs.readFileSync(file, "utf8")) as Record<string, unknown>;
    edit(c);
    fs.writeFileSync(file, JSON.stringify(c));
  }

  it("writes adapter_config.json as PEFT does (every field, sorted keys, indent 2; GQA key/value width) and the table unchanged", () => {
    const { dir, data } = exported();
    const text = fs.readFileSync(path.join(dir, ADAPTER_CONFIG_FILE), "utf8");
    assert.equal(text, JSON.stringify(SPEC, Object.keys(SPEC).sort(), 2));
    const { tensors, metadata } = readSafetensorsFile(path.join(dir, ADAPTER_WEIGHTS_FILE));
    assert.deepEqual(Object.keys(tensors), ["prompt_embeddings"]);
    const t = tensors["prompt_embeddings"]!;
    assert.equal(t.dtype, "F32");
    assert.deepEqual(t.shape, [P, 3 * 2 * 8], "[num_virtual_tokens, num_layers * 2 * token_dim]");
    assert.deepEqual(Buffer.from((t.data as Float32Array).buffer), Buffer.from(data.buffer), "bitwise");
    assert.equal(metadata["format"], "pt");
    assert.equal(JSON.parse(metadata["kit_prefix"]!).positions, "after-prefix");
  });

  it("prefix file -> adapter -> prefix file is bitwise and keeps task, labels and metrics; a collapsed MLP prefix too", () => {
    for (const projection of [false, true]) {
      const enc = projection
        ? PrefixEncoder.create(SHAPE, { hidden: 6 }, 3, undefined, "after-prefix")
        : PrefixEncoder.fromTable(SHAPE, table(4), "after-prefix");
      const want = enc.collapse();
      const src = path.join(tmp, `src-${projection}.safetensors`);
      savePrefix(src, enc, META);
      enc.dispose();
      const dir = path.join(tmp, `adapter-${projection}`);
      exportPeftPrefix(src, dir, BACKBONE);
      const back = path.join(tmp, `back-${projection}.safetensors`);
      const meta = importPeftPrefix(dir, back, BACKBONE);
      const { length: _p, ...dims } = SHAPE;
      const loaded = loadPrefix(back, { name: BACKBONE.name, fingerprint: BACKBONE.fingerprint, shape: dims });
      assert.equal(loaded.prefix.positions, "after-prefix");
      assert.equal(loaded.prefix.projection, null, "imported prefixes are direct");
      const got = loaded.prefix.collapse();
      assert.deepEqual(Buffer.from(got.buffer), Buffer.from(want.buffer), `bitwise (projection ${projection})`);
      assert.equal(meta.task, "yelp");
      assert.deepEqual(loaded.meta.labels, META.labels);
      assert.deepEqual(loaded.meta.metrics, META.metrics);
      assert.equal(loaded.meta.extra?.["method"], "prefix-tuning");
      loaded.prefix.dispose();
    }
  });

  it('refuses a "from-0" prefix, saying why (positions) and how to train an exportable one', () => {
    const enc = PrefixEncoder.fromTable(SHAPE, table(), "from-0");
    const src = path.join(tmp, "from0.safetensors");
    savePrefix(src, enc, META);
    assert.throws(
      () => exportPrefixTuningAdapter(path.join(tmp, "a"), enc, META, BACKBONE),
      /trained with positions "from-0".*past_key_values.*after the 5 prefix rows \(5, 6, \.\.\.\).*prefixPositions: "after-prefix".*positions: "after-prefix"/,
    );
    assert.throws(
      () => exportPeftPrefix(src, path.join(tmp, "b"), BACKBONE),
      new RegExp(`${src}: was trained with positions "from-0"`),
    );
    assert.ok(!fs.existsSync(path.join(tmp, "a")) && !fs.existsSync(path.join(tmp, "b")), "nothing written");
    enc.dispose();
  });

  it("refuses to export for another backbone or shape, naming both", () => {
    const enc = PrefixEncoder.fromTable(SHAPE, table(), "after-prefix");
    const other = { ...BACKBONE, fingerprint: "sha256:" + "ef".repeat(32) };
    assert.throws(
      () => exportPrefixTuningAdapter(path.join(tmp, "a"), enc, META, other),
      /trained on backbone 'kit-gqa' \(sha256:cdcdcdcdcdcd.*describes 'kit-gqa' \(sha256:efefefefefef/,
    );
    const mha = { ...BACKBONE, kvHeads: 4 };
    assert.throws(
      () => exportPrefixTuningAdapter(path.join(tmp, "b"), enc, META, mha),
      /the prefix has 3 layers x 5 prefix rows x 2 key\/value heads x 4 dims; backbone 'kit-gqa' needs 3 layers x 5 prefix rows x 4 key\/value heads x 4 dims/,
    );
    const { dir } = exported();
    assert.throws(() => exportPrefixTuningAdapter(dir, enc, META, BACKBONE), /already exists; refusing to overwrite/);
    exportPrefixTuningAdapter(dir, enc, META, BACKBONE, { overwrite: true });
    enc.dispose();
  });

  it("refuses an adapter for another base model, layer count, key/value heads or width, naming both values", () => {
    const { dir } = exported();
    const cfg = path.join(dir, ADAPTER_CONFIG_FILE);
    const cases: [Partial<PeftPrefixBackbone>, RegExp][] = [
      [{ name: "kit-other" }, /field 'base_model_name_or_path' is "kit-gqa", but the loaded backbone is "kit-other"/],
      [{ layers: 4 }, /field 'num_layers' is 3, but the loaded backbone 'kit-gqa' has 4 layers/],
      [{ kvHeads: 4 }, /field 'num_attention_heads' is 2, but the loaded backbone 'kit-gqa' has 4 key\/value heads/],
      [
        { headDim: 8, width: 32 },
        /field 'token_dim' is 8, but the loaded backbone 'kit-gqa' has key\/value width 2 heads x 8 dims = 16/,
      ],
    ];
    for (const [change, re] of cases) {
      assert.throws(
        () => importPrefixTuningAdapter(dir, { ...BACKBONE, ...change }),
        (e: Error) => {
          assert.ok(e.message.startsWith(cfg), e.message);
          assert.match(e.message, re);
          return true;
        },
      );
    }
    // an adapter laid out over all query heads (PEFT before its grouped-query fix) does not fit a GQA backbone
    editConfig(dir, (c) => Object.assign(c, { num_attention_heads: 4, token_dim: 16 }));
    assert.throws(
      () => importPrefixTuningAdapter(dir, BACKBONE),
      /num_attention_heads' is 4, but the loaded backbone 'kit-gqa' has 2 key\/value heads \(grouped-query attention: 4 query heads share them\)/,
    );
    // the kit's metadata records the weights it was trained on
    const { dir: d2 } = exported(table(), "second");
    assert.throws(
      () => importPrefixTuningAdapter(d2, { ...BACKBONE, fingerprint: "sha256:" + "00".repeat(32) }),
      /trained on backbone 'kit-gqa' weights sha256:cdcdcdcdcdcd.*prefixes do not transfer between weights/,
    );
  });

  it("names the file and field of a malformed config or weights file", () => {
    const { dir } = exported();
    const weights = path.join(dir, ADAPTER_WEIGHTS_FILE);
    const restore = fs.readFileSync(path.join(dir, ADAPTER_CONFIG_FILE), "utf8");
    const configCases: [(c: Record<string, unknown>) => void, RegExp][] = [
      [(c) => (c["task_type"] = "SEQ_2_SEQ_LM"), /field 'task_type' is "SEQ_2_SEQ_LM"; the kit imports CAUSAL_LM/],
      [
        (c) => (c["num_transformer_submodules"] = 2),
        /field 'num_transformer_submodules' is 2; a decoder-only backbone has 1/,
      ],
      [(c) => (c["prefix_projection"] = "no"), /field 'prefix_projection' must be true or false, got "no"/],
      [
        (c) => (c["encoder_hidden_size"] = -3),
        /field 'encoder_hidden_size' must be null or a positive integer, got -3/,
      ],
      [(c) => (c["num_virtual_tokens"] = 0), /field 'num_virtual_tokens' must be a positive integer, got 0/],
      [(c) => (c["peft_type"] = "PROMPT_TUNING"), /field 'peft_type' is "PROMPT_TUNING", not "PREFIX_TUNING"/],
    ];
    for (const [edit, re] of configCases) {
      fs.writeFileSync(path.join(dir, ADAPTER_CONFIG_FILE), restore);
      editConfig(dir, edit);
      assert.throws(() => importPrefixTuningAdapter(dir, BACKBONE), re);
    }
    fs.writeFileSync(path.join(dir, ADAPTER_CONFIG_FILE), restore);
    const good = fs.readFileSync(weights);
    const cols = 3 * 2 * 8;
    const weightCases: [Record<string, { dtype: "F32"; shape: number[]; data: Float32Array }>, RegExp][] = [
      [
        { other: { dtype: "F32", shape: [P, cols], data: table() } },
        /no tensor 'prompt_embeddings'.*found \["other"\]/,
      ],
      [
        { prompt_embeddings: { dtype: "F32", shape: [P - 1, cols], data: new Float32Array((P - 1) * cols) } },
        /tensor 'prompt_embeddings' is F32 \[4, 48\], expected a float tensor \[5, 48\]/,
      ],
      [
        {
          prompt_embeddings: { dtype: "F32", shape: [P, cols], data: table() },
          "lm_head.weight": { dtype: "F32", shape: [1], data: new Float32Array(1) },
        },
        /holds tensors besides 'prompt_embeddings' \(lm_head.weight/,
      ],
      [
        { prompt_embeddings: { dtype: "F32", shape: [P, cols], data: table().fill(NaN, 7, 8) } },
        /non-finite value at index 7/,
      ],
    ];
    for (const [tensors, re] of weightCases) {
      writeSafetensorsFile(weights, tensors);
      assert.throws(
        () => importPrefixTuningAdapter(dir, BACKBONE),
        (e: Error) => {
          assert.ok(e.message.startsWith(weights), e.message);
          assert.match(e.message, re);
          return true;
        },
      );
    }
    fs.writeFileSync(weights, good);
    importPrefixTuningAdapter(dir, BACKBONE).prefix.dispose();
  });

  it("imports a foreign adapter (PEFT's minimal config, prefix_projection true, no kit metadata) given its task", () => {
    const dir = path.join(tmp, "foreign");
    fs.mkdirSync(dir);
    const data = table(9);
    writeSafetensorsFile(path.join(dir, ADAPTER_WEIGHTS_FILE), {
      prompt_embeddings: { dtype: "F32", shape: [P, 48], data },
    });
    fs.writeFileSync(
      path.join(dir, ADAPTER_CONFIG_FILE),
      JSON.stringify({
        peft_type: "PREFIX_TUNING",
        task_type: "CAUSAL_LM",
        num_virtual_tokens: P,
        token_dim: 8,
        num_attention_heads: 2,
        num_layers: 3,
        prefix_projection: true,
        encoder_hidden_size: 32,
        init_weights: null,
      }),
    );
    const file = path.join(tmp, "foreign.safetensors");
    assert.throws(
      () => importPeftPrefix(dir, file, BACKBONE),
      /not exported by the kit.*give the task \(CLI --task NAME\)/,
    );
    const meta = importPeftPrefix(dir, file, BACKBONE, { task: "yelp", labels: ["negative", "positive"] });
    assert.equal(meta.settings.init, "peft");
    assert.equal(meta.extra?.["positions"], "after-prefix");
    const { length: _p, ...dims } = SHAPE;
    const loaded = loadPrefix(file, { name: BACKBONE.name, fingerprint: BACKBONE.fingerprint, shape: dims });
    assert.equal(loaded.prefix.positions, "after-prefix", "PEFT numbers the real tokens after the prefix");
    assert.deepEqual(Buffer.from(loaded.prefix.collapse().buffer), Buffer.from(data.buffer));
    loaded.prefix.dispose();
    assert.throws(
      () => importPeftPrefix(dir, file, BACKBONE, { task: "yelp", labels: ["negative", "positive"] }),
      /already exists; refusing to overwrite a prefix file/,
    );
  });

  it("keeps prompt and prefix adapters apart, pointing to the right import", () => {
    const { dir } = exported();
    assert.throws(
      () => importPeftAdapter(dir, BACKBONE),
      /"PREFIX_TUNING": key\/value prefixes are not soft prompts.*importPeftPrefix/,
    );
    const pdir = path.join(tmp, "prompt");
    const p = PromptSet.create({ front: 3, middle: 0, back: 0 }, 16, randomUniform(0.5), "random-uniform", 1);
    exportPeftAdapter(pdir, [p], { ...META, extra: { method: "prompt-tuning" } }, BACKBONE);
    p.dispose();
    assert.throws(
      () => importPrefixTuningAdapter(pdir, BACKBONE),
      /'peft_type' is "PROMPT_TUNING", not "PREFIX_TUNING"/,
    );
  });
});
