import assert from "node:assert/strict";
import { describeTask } from "../../../lib/tasks/data/example";
import { loadSentiment, readSentimentExamples, SENTIMENT_DOMAINS } from "../../../lib/tasks/data/sentiment";

describe("tasks/data/sentiment", () => {
  for (const domain of SENTIMENT_DOMAINS) {
    it(`${domain}: 1000 sentences, 500 per label, split ~70/10/20 with both labels everywhere`, () => {
      const { examples, skipped } = readSentimentExamples(domain);
      assert.equal(examples.length, 1000);
      assert.equal(skipped, 1); // the trailing {"text": "", "class": null} placeholder
      assert.equal(examples.filter((e) => e.label === "negative").length, 500);
      assert.ok(examples.every((e) => e.text === e.text.trim() && !/\s{2}/.test(e.text) && e.text.length > 0));

      const task = loadSentiment(domain, { seed: 0 });
      const d = describeTask(task);
      assert.deepEqual(task.labels, ["negative", "positive"]);
      assert.ok(d.total >= 985 && d.total <= 1000, `total ${d.total}`); // exact duplicates removed
      for (const split of ["train", "dev", "test"] as const) {
        assert.ok(d.splits[split].negative! > 0 && d.splits[split].positive! > 0, `${split} has both labels`);
      }
      assert.ok(Math.abs(task.test.length - 0.2 * d.total) <= 2);
      assert.match(task.source.note, /Kotzias/);
      assert.equal(task.source.package, "sentiment");
      assert.equal(task.source.version, "5.0.2");
    });
  }

  it("rejects an unknown domain", () => {
    assert.throws(() => loadSentiment("twitter" as never), /imdb, amazon, yelp.*"twitter"/);
  });
});
