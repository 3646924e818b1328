import assert from "node:assert/strict";
import { describeTask } from "../../../lib/tasks/data/example";
import { dedupeKey } from "../../../lib/tasks/data/split";
import {
  loadSpamAssassin,
  readCleanedCorpus,
  resolveSpamOptions,
  spamGroupLabel,
} from "../../../lib/tasks/data/spam-assassin";

describe("tasks/data/spam-assassin (real corpus smoke test, ~1 s)", () => {
  it("reads all 6046 messages in the five groups", () => {
    const corpus = readCleanedCorpus();
    assert.equal(corpus.mails.length, 6046);
    const byGroup: Record<string, number> = {};
    for (const m of corpus.mails) byGroup[m.group] = (byGroup[m.group] ?? 0) + 1;
    assert.deepEqual(byGroup, {
      "easy-ham-1": 2500,
      "easy-ham-2": 1400,
      "hard-ham-1": 250,
      "spam-1": 500,
      "spam-2": 1396,
    });
    const empty = corpus.mails.filter((m) => m.body === "").length;
    assert.ok(empty > 0 && empty < 150, `empty bodies: ${empty}`);
    // no raw MIME/HTML left in what the model will see
    const leftovers = corpus.mails.filter((m) =>
      /<\/?(html|body|table|font|div)\b|Content-Transfer-Encoding:|=3D|=20$/i.test(m.body),
    );
    assert.ok(leftovers.length < 10, `bodies with markup left: ${leftovers.map((m) => m.id).join(", ")}`);
  });

  it("full task: both labels, texts within maxChars, no text in two splits", () => {
    const task = loadSpamAssassin({ seed: 1, maxChars: 300 });
    const d = describeTask(task);
    assert.deepEqual(task.labels, ["ham", "spam"]);
    assert.ok(d.perLabel.ham! > 3900 && d.perLabel.spam! > 1600, JSON.stringify(d.perLabel));
    const all = [...task.train, ...task.dev, ...task.test];
    assert.ok(all.every((e) => e.text.length > 0 && e.text.length <= 300));
    assert.ok(all.every((e) => e.label === spamGroupLabel(e.id.split("/")[0] as never)));
    const testKeys = new Set(task.test.map((e) => dedupeKey(e)));
    assert.ok(!task.train.some((e) => testKeys.has(dedupeKey(e))));
    assert.match(task.source.note, /6046 messages read/);
  });

  it("maxPerClass gives a balanced seeded sample; groups filter works", () => {
    const a = loadSpamAssassin({ seed: 2, maxPerClass: 300 });
    const b = loadSpamAssassin({ seed: 2, maxPerClass: 300 });
    assert.deepEqual(describeTask(a).perLabel, { ham: 300, spam: 300 });
    assert.deepEqual(
      a.test.map((e) => e.id),
      b.test.map((e) => e.id),
    );
    const hard = loadSpamAssassin({ groups: ["hard-ham-1", "spam-1"], maxPerClass: 100 });
    const ids = [...hard.train, ...hard.dev, ...hard.test].map((e) => e.id);
    assert.ok(ids.every((id) => id.startsWith("hard-ham-1/") || id.startsWith("spam-1/")));
  });

  it("validates options with the bad value in the message", () => {
    assert.throws(() => resolveSpamOptions({ maxChars: 0 }), /maxChars.*got 0/);
    assert.throws(() => resolveSpamOptions({ maxPerClass: 2.5 }), /maxPerClass.*2\.5/);
    assert.throws(() => resolveSpamOptions({ groups: ["ham-9" as never] }), /unknown group "ham-9"/);
  });
});
