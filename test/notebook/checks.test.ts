import assert from "node:assert/strict";
import { check, checksPassed } from "../../lib/notebook/checks";
import { setupBackend } from "../helpers";

describe("notebook checks", function () {
  this.timeout(30000);
  before(setupBackend);

  it("check throws with the message (lazily built), checksPassed prints", () => {
    assert.doesNotThrow(() => check(true, "never"));
    assert.throws(() => check(0, "prompt size is not 20 x 64"), /^Error: check failed: prompt size is not 20 x 64$/);
    let built = 0;
    check(1, () => `${++built}`);
    assert.equal(built, 0, "the message is only built on failure");
    const lines: string[] = [];
    checksPassed(undefined, (l) => lines.push(l));
    checksPassed("2 result files", (l) => lines.push(l));
    assert.deepEqual(lines, ["checks passed", "checks passed (2 result files)"]);
  });
});
