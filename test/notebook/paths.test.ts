import assert from "node:assert/strict";
import * as path from "node:path";
import { promptLibraryDir, resultsPathFor } from "../../lib/notebook/paths";

describe("notebook paths", () => {
  it("puts full and quick results in separate files under reports/notebooks", () => {
    assert.equal(
      resultsPathFor("02-prompt-vs-finetune", false, "/r"),
      path.join("/r", "reports", "notebooks", "02-prompt-vs-finetune-results.jsonl"),
    );
    assert.equal(
      resultsPathFor("02-prompt-vs-finetune", true, "/r"),
      path.join("/r", "reports", "notebooks", "quick", "02-prompt-vs-finetune-results.jsonl"),
    );
    assert.equal(promptLibraryDir(false, "/r"), path.join("/r", "reports", "prompts"));
    assert.equal(promptLibraryDir(true, "/r"), path.join("/r", "reports", "prompts", "quick"));
  });

  it("refuses names that would escape the folder", () => {
    assert.throws(() => resultsPathFor("../x", false, "/r"), /notebook name must be .* got "\.\.\/x"/);
    assert.throws(() => resultsPathFor("", true, "/r"), /got ""/);
  });
});
