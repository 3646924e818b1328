import assert from "node:assert/strict";
import { describeTask } from "../../../lib/tasks/data/example";
import { loadTask, TASK_NAMES, TASK_SOURCES } from "../../../lib/tasks/data/registry";

describe("tasks/data/registry", () => {
  it("lists the five built-in tasks", () => {
    assert.deepEqual([...TASK_NAMES], ["imdb", "amazon", "yelp", "spam", "wordnet-pairs"]);
    assert.equal(TASK_SOURCES.spam.defaults.maxPerClass, 1000);
  });

  it("loadTask applies defaults, lets options override them, and is deterministic", () => {
    const a = loadTask("yelp", { seed: 3 });
    const b = loadTask("yelp", { seed: 3 });
    assert.equal(a.name, "yelp");
    assert.deepEqual(
      a.test.map((e) => e.id),
      b.test.map((e) => e.id),
    );
    const c = loadTask("yelp", { seed: 3, testFraction: 0.5 });
    assert.ok(c.test.length > a.test.length * 2);
    const pairs = loadTask("wordnet-pairs", { maxPairs: 100 });
    assert.deepEqual(describeTask(pairs).perLabel, { same: 50, opposite: 50 });
  });

  it("rejects unknown names, including Object.prototype members", () => {
    assert.throws(() => loadTask("sst2" as never), /unknown task "sst2"/);
    assert.throws(() => loadTask("toString" as never), /unknown task "toString"/);
  });
});
