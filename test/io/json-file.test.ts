import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { readJsonFile } from "../../lib/io/json-file";

describe("io/json-file readJsonFile", () => {
  it("parses a file, and names the file when it is missing or not JSON", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kit-json-"));
    try {
      fs.writeFileSync(path.join(dir, "ok.json"), '{"a": [1, 2]}');
      fs.writeFileSync(path.join(dir, "bad.json"), "{");
      assert.deepEqual(readJsonFile(path.join(dir, "ok.json")), { a: [1, 2] });
      assert.throws(
        () => readJsonFile(path.join(dir, "bad.json")),
        (e: Error) => e.message.startsWith(`${path.join(dir, "bad.json")}: not valid JSON: `),
      );
      assert.throws(
        () => readJsonFile(path.join(dir, "none.json")),
        (e: Error) => e.message.startsWith(`${path.join(dir, "none.json")}: cannot read: ENOENT`),
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
