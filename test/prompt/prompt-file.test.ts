import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { randomUniform } from "../../lib/prompt/initializers";
import { PromptLibrary } from "../../lib/prompt/library";
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
    assert.throws(() => loadPrompt(file, { name: "kit-small", fingerprint: "sha256:bbbb", width: 8 }), /trained on backbone 'kit-nano'.*not on 'kit-small'/);
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
});
