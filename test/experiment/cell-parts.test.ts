import assert from "node:assert/strict";
import { frequentTokenIds } from "../../lib/experiment/cell-method";
import { tokensPerSecond } from "../../lib/experiment/cell-profile";
import { fewShot } from "../../lib/experiment/few-shot";
import { backboneDir } from "../../lib/experiment/project-paths";
import type { TaskData } from "../../lib/tasks/data/example";
import type { TaskItem } from "../../lib/tasks/prepared-task";

const ex = (id: number, label: string) => ({ id: `e${id}`, text: `text ${id}`, label });
const data: TaskData = {
  name: "toy",
  labels: ["a", "b"],
  train: [...[0, 1, 2, 3, 4].map((i) => ex(i, "a")), ...[5, 6, 7].map((i) => ex(i, "b"))],
  dev: [ex(8, "a")],
  test: [ex(9, "b")],
  source: { package: "none", version: "0", licence: "none", note: "" },
};

describe("experiment: the parts of a cell run", () => {
  it("fewShot keeps perClass examples of each label, the same ones for the same seed, dev and test untouched", () => {
    const two = fewShot(data, 2, 7);
    assert.deepEqual(two.train.map((e) => e.label).sort(), ["a", "a", "b", "b"]);
    assert.deepEqual(fewShot(data, 2, 7).train, two.train, "seeded");
    assert.deepEqual(two.dev, data.dev);
    assert.deepEqual(two.test, data.test);
    assert.equal(fewShot(data, 10, 0).train.length, 8, "a class with fewer examples keeps them all");
    assert.ok(
      [0, 1, 2, 3, 4, 5, 6].some(
        (s) =>
          fewShot(data, 2, s)
            .train.map((e) => e.id)
            .join() !== two.train.map((e) => e.id).join(),
      ),
      "other seeds pick others",
    );
  });

  it("frequentTokenIds: most frequent first, ties by id, special tokens skipped, capped", () => {
    assert.deepEqual(frequentTokenIds([5, 5, 3, 3, 3, 9, 1, 1, 1, 1, 7], new Set([1])), [3, 5, 7, 9]);
    assert.deepEqual(frequentTokenIds([5, 5, 3, 3, 3, 9], new Set(), 2), [3, 5]);
  });

  it("tokensPerSecond: mean tokens per example (prompt included) x examples per step / seconds per step", () => {
    const item = (n: number) =>
      ({
        seq: {
          pieces: [
            { kind: "tokens", ids: Array.from({ length: n }, (_, i) => i) },
            { kind: "prompt", slot: "front" },
          ],
        },
      }) as unknown as TaskItem;
    const items = [item(6), item(10)];
    // (6 + 10 + 2 * 4) / 2 = 12 tokens per example, 2 examples per step (batch 16 capped at 2), 0.5 s per step.
    assert.equal(tokensPerSecond(items, 4, 16, 500), 48);
    assert.equal(tokensPerSecond(items, 4, 1, 500), 24);
    assert.equal(tokensPerSecond(items, 4, 16, 0), 0);
    assert.equal(tokensPerSecond([], 4, 16, 10), 0);
  });

  it("backboneDir: a bare name is models/NAME, a path is resolved from the root", () => {
    assert.equal(backboneDir("kit-nano", "/r"), "/r/models/kit-nano");
    assert.equal(backboneDir("ckpt/x", "/r"), "/r/ckpt/x");
    assert.equal(backboneDir("/abs/x", "/r"), "/abs/x");
  });
});
