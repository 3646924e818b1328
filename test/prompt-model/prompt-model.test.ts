import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { makeCell } from "../../lib/experiment/grid";
import { runCell } from "../../lib/experiment/run-cell";
import { PromptLibrary } from "../../lib/prompt/library";
import { readPromptMeta } from "../../lib/prompt/prompt-file";
import { loadPromptModel } from "../../lib/prompt-model/load-prompt-model";
import { deepPromptTuning, promptTuning } from "../../lib/prompt-model/prompt-model";
import { formatTrainableParameters, trainableParameters } from "../../lib/prompt-model/trainable-parameters";
import { assertBackboneUnchanged, assertNoLeak, setupBackend, snapshot } from "../helpers";
import { loadTiny, tinyCheckpointDir } from "../tuning/fixture";

const FIT = { steps: 3, batchSize: 4, evalEvery: 3, maxDev: 8, warmupSteps: 1 };

describe("prompt model (the short API)", function () {
  this.timeout(60000);
  before(setupBackend);

  it("prints PEFT's trainable-parameters line", () => {
    assert.equal(
      formatTrainableParameters(trainableParameters(15360, 7_000_000)),
      "trainable params: 15,360 || all params: 7,015,360 || trainable%: 0.2189",
    );
    const b = loadTiny();
    const m = promptTuning(b, { length: 4 });
    assert.deepEqual(m.trainableParameters(), trainableParameters(4 * 16, b.model.paramCount()));
    const d = deepPromptTuning(b, { length: 4 });
    assert.equal(d.trainableParameters().trainable, 2 * 4 * 16, "one [P, D] prompt per layer");
    m.dispose();
    d.dispose();
    b.model.dispose();
  });

  it("fit + evaluate run exactly what a prompt-tuning cell runs, and leave the backbone bitwise unchanged", async () => {
    const b = loadTiny();
    const before = snapshot(b.model.variables());
    const m = promptTuning(b, { length: 3, init: "class-label", position: "front+back", seed: 1 });
    const steps: number[] = [];
    const fit = await m.fit("yelp", { ...FIT, onStep: (s) => steps.push(s.step) });
    assert.deepEqual(steps, [1, 2, 3]);
    const metrics = m.evaluate("yelp", { max: 12 });
    assertBackboneUnchanged(b.model, before);
    const cell = makeCell({
      backbone: tinyCheckpointDir(),
      task: "yelp",
      method: "prompt-tuning",
      seed: 1,
      options: { ...FIT, maxTest: 12, promptLength: 3, promptInit: "class-label", promptPosition: "front+back" },
    });
    const rec = await runCell(cell);
    assert.deepEqual(metrics, rec.metrics);
    assert.deepEqual(fit.curve, rec.curve);
    assert.equal(fit.steps, rec.steps);
    assert.deepEqual(m.settings, rec.prompt);
    assert.equal(
      m.predict(["great food, good service", "bad and boring"]).every((l) => ["negative", "positive"].includes(l)),
      true,
    );
    m.dispose();
    b.model.dispose();
  });

  it("saves every layer of a deep prompt and loads it back scoring the same (file and library)", async () => {
    const b = loadTiny();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kit-pm-"));
    const m = deepPromptTuning(b, { length: 2, init: "random-uniform", task: "yelp", seed: 3 });
    await m.fit("yelp", { ...FIT, steps: 2, evalEvery: 2 });
    const file = path.join(dir, "deep.safetensors");
    m.save(file, { metrics: { accuracy: 0.5 } });
    assert.equal(readPromptMeta(file).extra?.["method"], "deep-prompt-tuning");
    const back = loadPromptModel(b, file);
    assert.equal(back.method, "deep-prompt-tuning");
    assert.deepEqual(
      back.promptLayers().map((p) => p.arrays()),
      m.promptLayers().map((p) => p.arrays()),
    );
    assert.deepEqual(back.evaluate("yelp", { max: 12 }), m.evaluate("yelp", { max: 12 }));
    const lib = new PromptLibrary(path.join(dir, "lib"));
    const entry = m.saveTo(lib, { metrics: { accuracy: 0.5 } });
    const fromLib = loadPromptModel(b, { library: lib, id: entry.id });
    assert.deepEqual(
      fromLib.promptLayers().map((p) => p.arrays()),
      m.promptLayers().map((p) => p.arrays()),
    );
    [m, back, fromLib].forEach((x) => x.dispose());
    fs.rmSync(dir, { recursive: true, force: true });
    b.model.dispose();
  });

  it("refuses bad configs, options and tasks in the user's words", async () => {
    const b = loadTiny();
    assert.throws(() => promptTuning(b, { length: 0 }), /prompt-tuning: length must be a positive integer, got 0/);
    assert.throws(
      () => promptTuning(b, { init: "zeros" as never }),
      /prompt-tuning: init must be one of random-uniform, sampled-vocab, class-label, text, got "zeros"/,
    );
    assert.throws(() => promptTuning(b, { position: "side" }), /'side' is not one of front, middle, back/);
    assert.throws(() => promptTuning(b, { lenght: 3 } as never), /unknown option 'lenght'/);
    assert.throws(
      () => promptTuning(b, { position: "middle", task: "yelp" }),
      /position 'middle' needs slot\(s\) middle, but task 'yelp' offers only front, back/,
    );
    const m = promptTuning(b, { length: 2 });
    assert.throws(() => m.evaluate(), /has no prompt yet; give a task at creation or call fit\(task\) first/);
    await assert.rejects(
      m.fit("yelp", { steps: -1 }),
      /prompt-tuning fit: option steps must be a positive integer, got -1/,
    );
    await assert.rejects(m.fit("yelp", { lr: 0 }), /option lr must be null or a number in \(0, 10\], got 0/);
    await assert.rejects(m.fit("nope"), /task must be one of .*got "nope"/);
    m.evaluate("yelp", { max: 2 });
    assert.throws(() => m.evaluate("spam"), /built for task 'yelp'.*task 'spam' has other labels or label words/);
    m.evaluate("amazon", { max: 2 }); // same label words: allowed
    assert.throws(() => m.evaluate("yelp", { max: 0 }), /evaluate: max must be a positive integer, got 0/);
    assert.throws(
      () => m.evaluate("yelp", { split: "validation" as never }),
      /evaluate: split must be one of train, dev, test, got "validation"/,
    );
    m.dispose();
    assert.throws(() => m.evaluate("yelp"), /this prompt model was disposed; build a new one/);
    await assert.rejects(m.fit("yelp"), /this prompt model was disposed/);
    b.model.dispose();
  });

  it("leaks no tensors: build, fit, evaluate, predict, save and dispose", async () => {
    const b = loadTiny();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kit-pm-leak-"));
    const once = async () => {
      const m = deepPromptTuning(b, { length: 2, task: "yelp" });
      await m.fit("yelp", { ...FIT, steps: 1, evalEvery: 1 });
      m.evaluate("yelp", { max: 4 });
      m.predict(["good"]);
      m.save(path.join(dir, "p.safetensors"));
      m.dispose();
      loadPromptModel(b, path.join(dir, "p.safetensors")).dispose();
    };
    await once(); // warm-up: first-use caches are not leaks
    await assertNoLeak("prompt model", once);
    fs.rmSync(dir, { recursive: true, force: true });
    b.model.dispose();
  });

  it("trains on a user's own task data and predicts pairs on a pair task", async () => {
    const b = loadTiny();
    const rows = (n: number, off: number) =>
      Array.from({ length: n }, (_, i) => ({
        id: `mine:${off + i}`,
        text: i % 2 ? "money and business offers" : "public and general news",
        label: i % 2 ? "spam" : "ham",
      }));
    const source = { package: "file", version: "test", licence: "CC0", note: "test rows" };
    const data = {
      name: "mine",
      labels: ["ham", "spam"],
      train: rows(8, 0),
      dev: rows(4, 8),
      test: rows(4, 12),
      source,
    };
    const m = promptTuning(b, { length: 2, init: "class-label" });
    await m.fit(data, { ...FIT, steps: 2, evalEvery: 2 });
    assert.equal(m.task!.template.spec.pattern, "<front>{text} Label:<back>", "a user task gets the default template");
    assert.ok(["ham", "spam"].includes(m.predict(["money offers"])[0]!));
    assert.throws(() => m.predict([""]), /predict: text 0 must be a non-empty string, got ""/);
    assert.throws(() => m.predict("money" as never), /predict: texts must be an array of strings/);
    m.dispose();
    const pair = promptTuning(b, { length: 3, position: "front+middle+back", task: "wordnet-pairs" });
    assert.equal(
      pair.predict([
        ["big", "large"],
        ["happy", "sad"],
      ]).length,
      2,
    );
    assert.throws(
      () => pair.predict([["big"]] as never),
      /text 0 must be a non-empty string or a \[text, textB\] pair/,
    );
    const deep = deepPromptTuning(b, { length: 2, task: "yelp" });
    assert.equal(deep.settings.position, "front (every layer)");
    [pair, deep].forEach((x) => x.dispose());
    b.model.dispose();
  });
});
