import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { quickMode, startNotebook } from "../../lib/notebook/start";
import { setupBackend } from "../helpers";
import { RecordingSink, tempDir } from "./fixtures";

describe("notebook start", function () {
  this.timeout(30000);
  before(setupBackend);

  it("startNotebook reads KIT_QUICK, names the results file and prints one status line", async () => {
    const root = tempDir("kit-nb-start-");
    const lines: string[] = [];
    const sink = new RecordingSink();
    const s = await startNotebook({ name: "07-mine", env: { KIT_QUICK: "1" }, root, sink, log: (l) => lines.push(l) });
    assert.equal(s.quick, true);
    assert.equal(s.resultsPath, path.join(root, "reports", "notebooks", "quick", "07-mine-results.jsonl"));
    assert.equal(lines.length, 1);
    assert.match(lines[0]!, /^backend .*; QUICK settings \(KIT_QUICK=1\); results .*07-mine-results.jsonl$/);
    const full = await startNotebook({ env: {}, plotly: false, log: (l) => lines.push(l) });
    assert.deepEqual([full.quick, full.resultsPath], [false, null]);
    assert.match(lines[1]!, /full settings$/);
    assert.equal(quickMode({ KIT_QUICK: "0" }), false);
    assert.throws(
      () => quickMode({ KIT_QUICK: "yes" }),
      /KIT_QUICK must be 1 \(quick settings\) or 0 \/ unset \(full settings\), got "yes"/,
    );
    fs.rmSync(root, { recursive: true, force: true });
  });
});
