import assert from "node:assert/strict";
import * as path from "node:path";
import { relativeInside } from "../../lib/io/paths";

describe("io/paths relativeInside", () => {
  it("gives the relative path of a file strictly inside the root, else null", () => {
    assert.equal(relativeInside("/p/root", "/p/root/a/b.json"), path.join("a", "b.json"));
    assert.equal(relativeInside("/p/root", "/p/root/..hidden"), "..hidden", "a name starting with '..' is inside");
    assert.equal(relativeInside("/p/root", "/p/root"), null, "the root itself");
    assert.equal(relativeInside("/p/root", "/p/root-2/x"), null, "a sibling with a common prefix");
    assert.equal(relativeInside("/p/root", "/p/x"), null);
    assert.equal(
      relativeInside("root", path.join(process.cwd(), "root", "x")),
      "x",
      "relative roots resolve against the working directory",
    );
  });
});
