import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { loadCheckpoint } from "../../lib/backbone/checkpoint";
import { makeCell } from "../../lib/experiment/grid";
import { runCell } from "../../lib/experiment/run-cell";
import { readSafetensorsFile, writeSafetensorsFile } from "../../lib/io/safetensors";
import { PromptLibrary } from "../../lib/prompt/library";
import { loadPrefix, PREFIX_FORMAT, savePrefix } from "../../lib/prompt/prefix-file";
import { PrefixEncoder } from "../../lib/prompt/prefix-encoder";
import { loadPromptModel } from "../../lib/prompt-model/load-prompt-model";
import { prefixTuning } from "../../lib/prompt-model/prompt-model";
import { tinyFamilyDir } from "../backbone/family-fixtures";
import { assertBackboneUnchanged, assertNoLeak, setupBackend, snapshot } from "../helpers";
import { loadTiny, tinyCheckpointDir } from "../tuning/fixture";

const FIT = { steps: 3, batchSize: 4, evalEvery: 3, maxDev: 8, warmupSteps: 1 };

describe("prefix tuning (the short API and the prefix file)", function () {
  this.timeout(60000);
  before(setupBackend);
  let dir = "";
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "kit-prefix-"));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("counts trainable parameters honestly: the table, or the embedding and MLP of the projection", () => {
    const b = loadTiny(); // 2 layers, width 16, 2 heads
    const all = b.model.paramCount();
    const direct = prefixTuning(b, { length: 4 });
    assert.equal(direct.trainableParameters().trainable, 4 * 2 * 2 * 16, "P x L x 2 x W");
    const mlp = prefixTuning(b, { length: 4, projection: true, hidden: 8 });
    // embedding [4, 16] + Linear(16, 8) + Linear(8, 2*2*16)
    assert.equal(mlp.trainableParameters().trainable, 4 * 16 + (16 * 8 + 8) + (8 * 64 + 64));
    assert.equal(
      prefixTuning(b, { projection: true }).trainableParameters().trainable,
      20 * 16 + 16 * 16 + 16 + 16 * 64 + 64,
    );
    assert.match(
      mlp.summary(),
      new RegExp(`trainable params: 776 \\|\\| all params: ${(all + 776).toLocaleString("en-US")}`),
    );
    [direct, mlp].forEach((m) => m.dispose());
    b.model.dispose();
  });

  it("fit + evaluate run exactly what a prefix-tuning cell runs; save + load scores the same; backbone unchanged", async () => {
    const b = loadTiny();
    const before = snapshot(b.model.variables());
    const m = prefixTuning(b, { length: 3, projection: true, hidden: 6, seed: 1 });
    const fit = await m.fit("yelp", FIT);
    const metrics = m.evaluate("yelp", { max: 12 });
    const rec = await runCell(
      makeCell({
        backbone: tinyCheckpointDir(),
        task: "yelp",
        method: "prefix-tuning",
        seed: 1,
        options: { ...FIT, maxTest: 12, promptLength: 3, prefixProjection: true, prefixHidden: 6 },
      }),
    );
    assert.deepEqual(metrics, rec.metrics);
    assert.deepEqual(fit.curve, rec.curve);
    assert.deepEqual(m.settings, rec.prompt);
    assert.equal(m.trainableParameters().trainable, rec.trainableParams);
    assertBackboneUnchanged(b.model, before);
    // the projected prefix is saved collapsed; loaded, it is a direct prefix scoring the same
    const file = path.join(dir, "yelp.prefix.safetensors");
    m.save(file, { metrics: { accuracy: metrics.accuracy } });
    const back = loadPromptModel(b, file);
    assert.equal(back.method, "prefix-tuning");
    assert.equal(back.prefixEncoder().projection, null);
    const a = m.prefixEncoder().collapse();
    const c = back.prefixEncoder().collapse();
    assert.deepEqual(Array.from(c), Array.from(a));
    const again = back.evaluate("yelp", { max: 12 });
    assert.ok(Math.abs(again.accuracy - metrics.accuracy) < 1e-9);
    const texts = ["great food, good service", "bad and boring", "it was fine"];
    assert.deepEqual(back.predict(texts), m.predict(texts));
    assert.throws(() => m.saveTo(new PromptLibrary(path.join(dir, "lib"))), /the prompt library holds soft prompts/);
    assert.throws(() => m.promptLayers(), /holds key\/value prefixes, not prompt layers; use prefixEncoder\(\)/);
    [m, back].forEach((x) => x.dispose());
    b.model.dispose();
  });

  it("the prefix file: round trip, and refusals naming both sides (shape, version, backbone, values)", () => {
    const b = loadTiny();
    const meta = {
      task: "yelp",
      labels: ["negative", "positive"],
      settings: { length: 2, init: "random-normal", position: "key/value prefix (every layer)" },
      backbone: { name: b.name, fingerprint: b.fingerprint },
      metrics: {},
    };
    const shape = { layers: 2, length: 2, kvHeads: 2, headDim: 8, dModel: 16 };
    const p = PrefixEncoder.create(shape, null, 4);
    const file = path.join(dir, "p.safetensors");
    savePrefix(file, p, meta);
    const want = { name: b.name, fingerprint: b.fingerprint, shape: { layers: 2, kvHeads: 2, headDim: 8, dModel: 16 } };
    const loaded = loadPrefix(file, want);
    assert.deepEqual(Array.from(loaded.prefix.collapse()), Array.from(p.collapse()));
    assert.deepEqual(loaded.meta, meta);
    const { metadata, tensors } = readSafetensorsFile(file);
    assert.equal(metadata["format"], PREFIX_FORMAT);
    assert.deepEqual(tensors["prefix.table"]!.shape, [2, 2 * 2 * 16], "PEFT's [P, L*2*W] layout");
    loaded.prefix.dispose();
    // another backbone shape: both named
    assert.throws(
      () => loadPrefix(file, { ...want, shape: { layers: 3, kvHeads: 1, headDim: 8, dModel: 16 } }),
      /the prefix has 2 layers x 2 prefix rows x 2 key\/value heads x 8 dims \(width 16\); backbone 'tiny' needs 3 layers x 2 prefix rows x 1 key\/value heads x 8 dims \(width 16\)/,
    );
    assert.throws(
      () => loadPrefix(file, { ...want, fingerprint: "sha256:other" }),
      /trained on backbone 'tiny'.*prefixes do not transfer between backbones/,
    );
    // another version of the format
    const v2 = path.join(dir, "v2.safetensors");
    writeSafetensorsFile(v2, { "prefix.table": tensors["prefix.table"]! }, { ...metadata, format: "kit-prefix-v2" });
    assert.throws(
      () => loadPrefix(v2, want),
      /format "kit-prefix-v2" is not a prefix file this kit reads \(expected 'kit-prefix-v1'\)/,
    );
    // a table of the wrong shape, and a NaN
    const bad = path.join(dir, "bad.safetensors");
    const t = tensors["prefix.table"]!;
    writeSafetensorsFile(bad, { "prefix.table": { ...t, shape: [4, 32] } }, metadata);
    assert.throws(() => loadPrefix(bad, want), /tensor 'prefix.table' is F32 \[4,32\], expected F32 \[2, 64\]/);
    const data = Float32Array.from(t.data as Float32Array);
    data[5] = NaN;
    writeSafetensorsFile(bad, { "prefix.table": { dtype: "F32", shape: t.shape, data } }, metadata);
    assert.throws(() => loadPrefix(bad, want), /non-finite value \(index 5: NaN\); refusing to load/);
    // the prompt model refuses a prefix file from another family (its fingerprint and shape differ)
    const llama = loadCheckpoint(tinyFamilyDir("llama"));
    assert.throws(() => loadPromptModel(llama, file), /prefixes do not transfer between backbones/);
    llama.model.dispose();
    p.dispose();
    b.model.dispose();
  });

  it("refuses prompt-only options, and leaks no tensors through build, fit, evaluate, predict, save and load", async () => {
    const b = loadTiny();
    assert.throws(() => prefixTuning(b, { position: "back" }), /prefix-tuning: unknown option 'position'/);
    assert.throws(
      () => prefixTuning(b, { hidden: 8 }),
      /prefix-tuning: hidden 8 is the projection MLP's width; it needs projection: true/,
    );
    assert.throws(
      () => prefixTuning(b, { projection: 1 as never }),
      /prefix-tuning: projection must be true or false, got 1/,
    );
    const file = path.join(dir, "leak.safetensors");
    const once = async () => {
      const m = prefixTuning(b, { length: 2, projection: true, task: "yelp" });
      await m.fit("yelp", { ...FIT, steps: 1, evalEvery: 1 });
      m.evaluate("yelp", { max: 4 });
      m.predict(["good"]);
      m.save(file);
      m.dispose();
      loadPromptModel(b, file).dispose();
    };
    await once(); // warm-up: first-use caches are not leaks
    await assertNoLeak("prefix model", once);
    b.model.dispose();
  });
});
