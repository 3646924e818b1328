import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { randomUniform } from "../../lib/prompt/initializers";
import { PromptLibrary } from "../../lib/prompt/library";
import { writeSafetensorsFile } from "../../lib/io/safetensors";
import { loadPrompt, savePrompt } from "../../lib/prompt/prompt-file";
import { PromptSet } from "../../lib/prompt/soft-prompt";
import { bitwiseEqual, setupBackend } from "../helpers";

const META = {
  task: "yelp",
  labels: ["negative", "positive"],
  settings: { length: 5, init: "random-uniform", position: "front+back" },
  backbone: { name: "kit-nano", fingerprint: "sha256:aaaa" },
  metrics: { accuracy: 0.8 },
};

describe("prompt files and library", () => {
  before(setupBackend);

  it("round-trips a prompt bitwise with its metadata, and refuses another backbone", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kit-prompt-"));
    const p = PromptSet.create({ front: 3, middle: 0, back: 2 }, 8, randomUniform(0.5), "random-uniform", 4);
    const file = path.join(dir, "p.safetensors");
    savePrompt(file, p, META);
    const { prompts, meta } = loadPrompt(file, { name: "kit-nano", fingerprint: "sha256:aaaa", width: 8 });
    assert.deepEqual(meta.settings, META.settings);
    assert.deepEqual(prompts.lengths, { front: 3, middle: 0, back: 2 });
    for (const [slot, data] of p.arrays()) assert.ok(bitwiseEqual(data, prompts.arrays().get(slot)!));
    assert.throws(
      () => loadPrompt(file, { name: "kit-small", fingerprint: "sha256:bbbb", width: 8 }),
      /trained on backbone 'kit-nano'.*not on 'kit-small'/,
    );
    p.dispose();
    prompts.dispose();
  });

  it("library lists, picks the best and loads entries", () => {
    const lib = new PromptLibrary(fs.mkdtempSync(path.join(os.tmpdir(), "kit-lib-")));
    const p = PromptSet.create({ front: 2, middle: 0, back: 0 }, 4, randomUniform(0.5), "random-uniform", 1);
    const a = lib.add(p, { ...META, metrics: { accuracy: 0.7 } });
    const b = lib.add(p, { ...META, metrics: { accuracy: 0.9 } });
    assert.notEqual(a.id, b.id);
    assert.equal(lib.list({ task: "yelp" }).length, 2);
    assert.equal(lib.best("yelp", "kit-nano")!.id, b.id);
    assert.equal(lib.best("imdb", "kit-nano"), null);
    const loaded = lib.load(a.id, { name: "kit-nano", fingerprint: "sha256:aaaa", width: 4 });
    assert.equal(loaded.meta.metrics["accuracy"], 0.7);
    loaded.prompts.dispose();
    p.dispose();
  });

  it("saves a deep prompt with every layer and loads each layer back bitwise", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kit-prompt-deep-"));
    const file = path.join(dir, "deep.safetensors");
    const layers = [0, 1, 2].map((l) =>
      PromptSet.create({ front: 2, middle: 0, back: 1 }, 8, randomUniform(0.5), "random-uniform", 10 + l),
    );
    savePrompt(file, layers, META);
    const loaded = loadPrompt(file, { name: "kit-nano", fingerprint: "sha256:aaaa", width: 8 });
    const got = [loaded.prompts, ...loaded.deep];
    assert.equal(got.length, 3, "every layer is kept");
    got.forEach((set, l) => {
      assert.deepEqual(set.lengths, { front: 2, middle: 0, back: 1 });
      for (const [slot, data] of layers[l]!.arrays())
        assert.ok(bitwiseEqual(data, set.arrays().get(slot)!), `layer ${l} slot ${slot}`);
    });
    // An ordinary prompt loads with no deep layers.
    savePrompt(file, layers[0]!, META);
    const one = loadPrompt(file, { name: "kit-nano", fingerprint: "sha256:aaaa", width: 8 });
    assert.equal(one.deep.length, 0);
    // A file that lost a layer is refused, not loaded as a shallower prompt.
    const arrays = (set: PromptSet, prefix: string) =>
      Object.fromEntries(
        [...set.arrays()].map(([slot, data]) => [
          `${prefix}.${slot}`,
          { dtype: "F32" as const, shape: [data.length / 8, 8], data },
        ]),
      );
    writeSafetensorsFile(
      file,
      { ...arrays(layers[0]!, "prompt"), ...arrays(layers[2]!, "deep.2") },
      { kit_prompt: JSON.stringify(META), kit_prompt_layers: "3" },
    );
    assert.throws(
      () => loadPrompt(file, { name: "kit-nano", fingerprint: "sha256:aaaa", width: 8 }),
      /layer 1 has slot lengths .*a layer is missing or damaged/,
    );
    writeSafetensorsFile(
      file,
      { ...arrays(layers[0]!, "prompt"), ...arrays(layers[2]!, "deep.5") },
      { kit_prompt: JSON.stringify(META), kit_prompt_layers: "3" },
    );
    assert.throws(
      () => loadPrompt(file, { name: "kit-nano", fingerprint: "sha256:aaaa", width: 8 }),
      /unexpected tensor 'deep.5.(front|back)' \(a 3-layer prompt holds prompt.<slot> and deep.1..2.<slot>\)/,
    );
    [...layers, ...got, one.prompts].forEach((p) => p.dispose());
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("refuses a prompt with NaN or Inf, naming the file and tensor (on load and on save)", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kit-prompt-nan-"));
    const file = path.join(dir, "nan.safetensors");
    const data = new Float32Array(16).fill(0.1);
    data[5] = NaN;
    data[9] = Infinity;
    writeSafetensorsFile(
      file,
      { "prompt.front": { dtype: "F32", shape: [2, 8], data } },
      { kit_prompt: JSON.stringify(META) },
    );
    assert.throws(
      () => loadPrompt(file, { name: "kit-nano", fingerprint: "sha256:aaaa", width: 8 }),
      (err: Error) =>
        err.message.startsWith(file) &&
        /tensor 'prompt.front' holds 2 non-finite value\(s\) of 16 \(first at index 5: NaN\); refusing to load/.test(
          err.message,
        ),
    );
    const bad = PromptSet.fromArrays(new Map([["front", data]]), 8, "random-uniform");
    const out = path.join(dir, "out.safetensors");
    assert.throws(
      () => savePrompt(out, bad, META),
      /out.safetensors: tensor 'prompt.front' holds 2 non-finite value\(s\).*refusing to save/,
    );
    assert.equal(fs.existsSync(out), false, "nothing written");
    const lib = new PromptLibrary(path.join(dir, "lib"));
    assert.throws(() => lib.add(bad, META), /refusing to save/);
    assert.deepEqual(lib.list(), []);
    assert.deepEqual(fs.readdirSync(lib.dir), [], "the reserved file is removed again");
    bad.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
