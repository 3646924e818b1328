import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { expandGrid, type Cell } from "../../lib/experiment/grid";
import type { CellRunner } from "../../lib/notebook/run-cells";
import { runStudy } from "../../lib/notebook/study";
import { fakeRecord } from "../fixtures/experiment/fake-record";
import { setupBackend } from "../helpers";
import { RecordingSink, tempDir, TextStream } from "./fixtures";

const cells = (): Cell[] =>
  expandGrid({
    name: "s",
    backbones: ["tiny"],
    tasks: ["yelp"],
    methods: ["zero-shot", "prompt-tuning"],
    seeds: [0, 1],
    fixed: { steps: 2 },
  });

describe("notebook study", function () {
  this.timeout(30000);
  before(setupBackend);

  it("runStudy runs into the notebook's results file, resumes, and prints its status line", async () => {
    const root = tempDir("kit-nb-study-");
    const runner: CellRunner = async (cell) => fakeRecord(cell);
    const lines: string[] = [];
    const opts = {
      name: "07-mine",
      quick: false,
      root,
      runner,
      sink: new RecordingSink(),
      stream: new TextStream(),
      checkFingerprints: false,
      log: (l: string) => lines.push(l),
    };
    const first = await runStudy(cells(), opts);
    assert.equal(first.records.length, 4);
    assert.ok(fs.existsSync(path.join(root, "reports", "notebooks", "07-mine-results.jsonl")));
    assert.match(lines[0]!, /^4\/4 cells recorded \(4 run now, 0 copied from earlier runs, 0 resumed\) in \d+ s$/);
    await runStudy(cells(), opts);
    assert.match(lines[1]!, /^4\/4 cells recorded \(0 run now, 0 copied from earlier runs, 4 resumed\)/);
    fs.rmSync(root, { recursive: true, force: true });
  });

  it("runStudy fails loudly, naming the cells, when a cell ends without a record", async () => {
    const root = tempDir("kit-nb-study-fail-");
    const runner: CellRunner = async (cell) => {
      if (cell.method === "prompt-tuning" && cell.seed === 1) throw new Error("boom");
      return fakeRecord(cell);
    };
    const cs = cells();
    const bad = cs.find((c) => c.method === "prompt-tuning" && c.seed === 1)!;
    const opts = {
      name: "07-fail",
      quick: true,
      root,
      runner,
      onError: "record-and-continue" as const,
      sink: new RecordingSink(),
      stream: new TextStream(),
      checkFingerprints: false,
      log: () => undefined,
    };
    await assert.rejects(runStudy(cs, opts), new RegExp(`07-fail: 1 of 4 cells have no record \\(${bad.cellId}\\)`));
    fs.rmSync(root, { recursive: true, force: true });
  });
});
