import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { readSafetensorsFile, writeSafetensorsFile } from "../../../lib/io/safetensors";
import { randomUniform } from "../../../lib/prompt/initializers";
import {
  ADAPTER_CONFIG_FILE,
  ADAPTER_WEIGHTS_FILE,
  exportPeftAdapter,
  importPeftAdapter,
  type PeftBackbone,
} from "../../../lib/prompt/peft";
import { PromptSet } from "../../../lib/prompt/soft-prompt";
import { setupBackend } from "../../helpers";

const BACKBONE: PeftBackbone = {
  name: "kit-nano",
  fingerprint: "sha256:" + "ab".repeat(32),
  width: 8,
  heads: 2,
  layers: 3,
};
const META = {
  task: "yelp",
  labels: ["negative", "positive"],
  settings: { length: 5, init: "random-uniform", position: "front" },
  backbone: { name: BACKBONE.name, fingerprint: BACKBONE.fingerprint },
  metrics: { accuracy: 0.75 },
  extra: { method: "prompt-tuning", seed: 3 },
};

/**
 * PromptTuningConfig as PEFT 0.17.x declares it (src/peft/config.py PeftConfigMixin / PeftConfig /
 * PromptLearningConfig, src/peft/tuners/prompt_tuning/config.py PromptTuningConfig): every dataclass field, its
 * JSON type as `asdict` + `json.dumps` writes it, and the value the kit must write.
 */
const SPEC: Record<string, { type: "string" | "number" | "boolean" | "null"; value: unknown }> = {
  auto_mapping: { type: "null", value: null },
  base_model_name_or_path: { type: "string", value: "kit-nano" },
  revision: { type: "null", value: null },
  peft_type: { type: "string", value: "PROMPT_TUNING" },
  task_type: { type: "string", value: "CAUSAL_LM" },
  inference_mode: { type: "boolean", value: true },
  num_virtual_tokens: { type: "number", value: 5 },
  token_dim: { type: "number", value: 8 },
  num_transformer_submodules: { type: "number", value: 1 },
  num_attention_heads: { type: "number", value: 2 },
  num_layers: { type: "number", value: 3 },
  prompt_tuning_init: { type: "string", value: "RANDOM" },
  prompt_tuning_init_text: { type: "null", value: null },
  tokenizer_name_or_path: { type: "null", value: null },
  tokenizer_kwargs: { type: "null", value: null },
};

function tmp(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), "kit-peft-"));
}

function front(p: number, seed = 1): PromptSet {
  return PromptSet.create({ front: p, middle: 0, back: 0 }, BACKBONE.width, randomUniform(0.5), "random-uniform", seed);
}

/** Exports a 5-token prompt and returns the folder. */
function exported(): string {
  const dir = path.join(tmp(), "adapter");
  const p = front(5);
  exportPeftAdapter(dir, [p], META, BACKBONE);
  p.dispose();
  return dir;
}

function editConfig(dir: string, edit: (c: Record<string, unknown>) => void): void {
  const file = path.join(dir, ADAPTER_CONFIG_FILE);
  const c = JSON.parse(fs.readFileSync(file, "utf8")) as Record<string, unknown>;
  edit(c);
  fs.writeFileSync(file, JSON.stringify(c));
}

describe("PEFT prompt-tuning adapters", () => {
  before(setupBackend);

  it("export then import is bitwise for the prompt values and keeps the kit metadata", () => {
    const dir = path.join(tmp(), "adapter");
    const p = front(5, 7);
    const before = p.arrays().get("front")!;
    exportPeftAdapter(dir, [p], META, BACKBONE);
    const back = importPeftAdapter(dir, BACKBONE);
    const after = back.prompts.arrays().get("front")!;
    assert.deepEqual(back.prompts.lengths, { front: 5, middle: 0, back: 0 });
    assert.ok(
      Buffer.from(before.buffer).equals(Buffer.from(after.buffer)),
      "prompt values differ after the round trip",
    );
    assert.equal(back.kitMeta?.task, "yelp");
    assert.deepEqual(back.kitMeta?.labels, META.labels);
    p.dispose();
    back.prompts.dispose();
  });

  it("writes adapter_config.json field by field as PEFT 0.17.x does (all fields, sorted keys, indent 2)", () => {
    const dir = exported();
    const text = fs.readFileSync(path.join(dir, ADAPTER_CONFIG_FILE), "utf8");
    const cfg = JSON.parse(text) as Record<string, unknown>;
    assert.deepEqual(Object.keys(cfg).sort(), Object.keys(SPEC).sort(), "field set differs from PromptTuningConfig's");
    assert.deepEqual(
      Object.keys(cfg),
      Object.keys(cfg).slice().sort(),
      "keys are not sorted (json.dumps sort_keys=True)",
    );
    for (const [name, want] of Object.entries(SPEC)) {
      const got = cfg[name];
      assert.equal(got === null ? "null" : typeof got, want.type, `field ${name}: type`);
      assert.deepEqual(got, want.value, `field ${name}: value`);
      if (want.type === "number") assert.ok(Number.isInteger(got), `field ${name}: must be an int`);
    }
    assert.ok(text.startsWith('{\n  "auto_mapping": null,\n'), "not indented by 2 like json.dumps(indent=2)");
    const st = readSafetensorsFile(path.join(dir, ADAPTER_WEIGHTS_FILE));
    assert.deepEqual(Object.keys(st.tensors), ["prompt_embeddings"]);
    assert.equal(st.tensors["prompt_embeddings"]!.dtype, "F32");
    assert.deepEqual(st.tensors["prompt_embeddings"]!.shape, [5, 8]);
    assert.equal(st.metadata["format"], "pt");
  });

  it("refuses positions and depths PEFT cannot express", () => {
    const dir = path.join(tmp(), "x");
    const back = PromptSet.create({ front: 0, middle: 0, back: 4 }, 8, randomUniform(0.5), "random-uniform", 1);
    const mid = PromptSet.create({ front: 2, middle: 2, back: 0 }, 8, randomUniform(0.5), "random-uniform", 1);
    assert.throws(
      () => exportPeftAdapter(dir, [back], META, BACKBONE),
      /position 'back' cannot be exported.*no middle or back slot/,
    );
    assert.throws(() => exportPeftAdapter(dir, [mid], META, BACKBONE), /position 'front\+middle' cannot be exported/);
    const deep = [front(2), front(2), front(2)];
    assert.throws(
      () => exportPeftAdapter(dir, deep, { ...META, extra: { method: "deep-prompt-tuning" } }, BACKBONE),
      /deep prompt \(3 layers\) cannot be exported.*kit's own format/,
    );
    assert.ok(!fs.existsSync(dir), "a refused export must write nothing");
    [back, mid, ...deep].forEach((p) => p.dispose());
  });

  it("refuses to overwrite an adapter folder unless asked", () => {
    const dir = exported();
    const p = front(5, 9);
    assert.throws(() => exportPeftAdapter(dir, [p], META, BACKBONE), /already exists; refusing to overwrite/);
    exportPeftAdapter(dir, [p], META, BACKBONE, { overwrite: true });
    const back = importPeftAdapter(dir, BACKBONE);
    assert.deepEqual(back.prompts.arrays().get("front"), p.arrays().get("front"));
    p.dispose();
    back.prompts.dispose();
  });

  it("refuses an adapter for another base model or width, naming both", () => {
    const dir = exported();
    assert.throws(
      () => importPeftAdapter(dir, { ...BACKBONE, name: "kit-small" }),
      /field 'base_model_name_or_path' is "kit-nano", but the loaded backbone is "kit-small"/,
    );
    editConfig(dir, (c) => (c["base_model_name_or_path"] = null));
    assert.throws(
      () => importPeftAdapter(dir, { ...BACKBONE, width: 16 }),
      /field 'token_dim' is 8, but the loaded backbone 'kit-nano' has embedding width 16/,
    );
    assert.throws(
      () => importPeftAdapter(dir, { ...BACKBONE, fingerprint: "sha256:" + "cd".repeat(32) }),
      /adapter_model\.safetensors: this prompt was trained on backbone 'kit-nano' weights sha256:abab.*the loaded 'kit-nano' has weights sha256:cdcd/,
    );
  });

  it("names the file and field of a malformed adapter_config.json", () => {
    const cases: [(c: Record<string, unknown>) => void, RegExp][] = [
      [
        (c) => delete c["num_virtual_tokens"],
        /adapter_config\.json: field 'num_virtual_tokens' is missing \(expected a positive integer\)/,
      ],
      [(c) => (c["token_dim"] = "8"), /adapter_config\.json: field 'token_dim' must be a positive integer, got "8"/],
      [(c) => (c["inference_mode"] = "yes"), /field 'inference_mode' must be true or false, got "yes"/],
      [(c) => (c["peft_type"] = "PROMPT_TUNNING"), /field 'peft_type' is "PROMPT_TUNNING", not a PEFT type/],
      [(c) => delete c["peft_type"], /field 'peft_type' is missing/],
      [
        (c) => (c["peft_type"] = "LORA"),
        /field 'peft_type' is "LORA", a PEFT type the kit cannot import \(it imports PROMPT_TUNING\)/,
      ],
      [(c) => (c["task_type"] = "SEQ_2_SEQ_LM"), /field 'task_type' is "SEQ_2_SEQ_LM"; the kit imports CAUSAL_LM/],
      [(c) => (c["task_type"] = "CHAT"), /field 'task_type' is "CHAT", not one of SEQ_CLS/],
      [
        (c) => (c["num_transformer_submodules"] = 2),
        /field 'num_transformer_submodules' is 2; a decoder-only backbone has 1/,
      ],
    ];
    for (const [edit, want] of cases) {
      const dir = exported();
      editConfig(dir, edit);
      assert.throws(() => importPeftAdapter(dir, BACKBONE), want);
    }
    const dir = exported();
    fs.writeFileSync(path.join(dir, ADAPTER_CONFIG_FILE), "[1, 2]");
    assert.throws(() => importPeftAdapter(dir, BACKBONE), /adapter_config\.json: must hold a JSON object, got \[1,2\]/);
    fs.writeFileSync(path.join(dir, ADAPTER_CONFIG_FILE), "{ nope");
    assert.throws(() => importPeftAdapter(dir, BACKBONE), /adapter_config\.json: not valid JSON/);
    fs.rmSync(path.join(dir, ADAPTER_CONFIG_FILE));
    assert.throws(() => importPeftAdapter(dir, BACKBONE), /adapter_config\.json: missing/);
  });

  it("names the file of adapter weights with the wrong key, shape or extra tensors", () => {
    const weights = (dir: string) => path.join(dir, ADAPTER_WEIGHTS_FILE);
    let dir = exported();
    writeSafetensorsFile(weights(dir), {
      "base_model.prompt_embeddings": { dtype: "F32", shape: [5, 8], data: new Float32Array(40) },
    });
    assert.throws(
      () => importPeftAdapter(dir, BACKBONE),
      /adapter_model\.safetensors: no tensor 'prompt_embeddings'.*found \["base_model\.prompt_embeddings"\]/,
    );
    dir = exported();
    writeSafetensorsFile(weights(dir), {
      prompt_embeddings: { dtype: "F32", shape: [4, 8], data: new Float32Array(32) },
    });
    assert.throws(
      () => importPeftAdapter(dir, BACKBONE),
      /tensor 'prompt_embeddings' is F32 \[4, 8\], expected a float tensor \[5, 8\]/,
    );
    dir = exported();
    writeSafetensorsFile(weights(dir), {
      prompt_embeddings: { dtype: "F32", shape: [5, 8], data: new Float32Array(40) },
      "score.weight": { dtype: "F32", shape: [2, 8], data: new Float32Array(16) },
    });
    assert.throws(() => importPeftAdapter(dir, BACKBONE), /holds tensors besides 'prompt_embeddings' \(score\.weight/);
    dir = exported();
    fs.rmSync(weights(dir));
    assert.throws(() => importPeftAdapter(dir, BACKBONE), /adapter_model\.safetensors: missing/);
  });

  it("imports a foreign adapter (no kit metadata, minimal config) written as PEFT writes it", () => {
    const dir = tmp();
    const data = Float32Array.from({ length: 24 }, (_, i) => i / 7);
    writeSafetensorsFile(
      path.join(dir, ADAPTER_WEIGHTS_FILE),
      { prompt_embeddings: { dtype: "F32", shape: [3, 8], data } },
      { format: "pt" },
    );
    fs.writeFileSync(
      path.join(dir, ADAPTER_CONFIG_FILE),
      JSON.stringify({
        peft_type: "PROMPT_TUNING",
        task_type: "CAUSAL_LM",
        num_virtual_tokens: 3,
        token_dim: 8,
        base_model_name_or_path: "kit-nano",
      }),
    );
    const got = importPeftAdapter(dir, BACKBONE);
    assert.equal(got.kitMeta, null);
    assert.deepEqual(got.prompts.arrays().get("front"), data);
    got.prompts.dispose();
    // a half-precision adapter (a model saved in bf16) is widened exactly on import
    const half = Float32Array.from({ length: 24 }, (_, i) => (i - 12) / 4); // exact in bf16
    writeSafetensorsFile(
      path.join(dir, ADAPTER_WEIGHTS_FILE),
      { prompt_embeddings: { dtype: "BF16", shape: [3, 8], data: half } },
      { format: "pt" },
    );
    const wide = importPeftAdapter(dir, BACKBONE);
    assert.deepEqual(wide.prompts.arrays().get("front"), half);
    wide.prompts.dispose();
  });
});
