import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { writeFileAtomic, writeJsonAtomic } from "../../lib/io/atomic-write";

describe("io/atomic-write", () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "atomic-write-test-"));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const leftovers = (): string[] => fs.readdirSync(dir).filter((f) => f.endsWith(".tmp"));

  it("creates a file from a string, bytes or chunks and leaves no temp files", () => {
    const file = path.join(dir, "a.txt");
    writeFileAtomic(file, "héllo");
    assert.equal(fs.readFileSync(file, "utf8"), "héllo");
    writeFileAtomic(file, new Uint8Array([1, 2, 3]));
    assert.deepEqual([...fs.readFileSync(file)], [1, 2, 3]);
    writeFileAtomic(file, [Buffer.from("ab"), new Uint8Array(0), Buffer.from("cd")]);
    assert.equal(fs.readFileSync(file, "utf8"), "abcd");
    assert.deepEqual(leftovers(), []);
  });

  it("leaves the old file intact and removes the temp file when the writer throws midway", () => {
    const file = path.join(dir, "ckpt.bin");
    writeFileAtomic(file, "old complete contents");
    let sawOldDuringWrite = "";
    function* failingWriter(): Generator<Uint8Array> {
      yield Buffer.from("new partial ");
      sawOldDuringWrite = fs.readFileSync(file, "utf8"); // readers still see the old file mid-write
      assert.equal(leftovers().length, 1); // the partial data went to a temp file
      throw new Error("disk on fire");
    }
    assert.throws(() => writeFileAtomic(file, failingWriter()), /disk on fire/);
    assert.equal(sawOldDuringWrite, "old complete contents");
    assert.equal(fs.readFileSync(file, "utf8"), "old complete contents");
    assert.deepEqual(leftovers(), []);
  });

  it("rejects a chunk that is not bytes, without touching the target", () => {
    const file = path.join(dir, "x.bin");
    writeFileAtomic(file, "keep");
    assert.throws(
      () => writeFileAtomic(file, ["oops" as unknown as Uint8Array]),
      /chunks must be Uint8Array, got \[object String\]/,
    );
    assert.equal(fs.readFileSync(file, "utf8"), "keep");
    assert.deepEqual(leftovers(), []);
  });

  it("keeps the permission bits of the file it replaces", () => {
    const file = path.join(dir, "secret.json");
    fs.writeFileSync(file, "{}");
    fs.chmodSync(file, 0o600);
    writeFileAtomic(file, '{"a":1}');
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
  });

  it("names the path when the directory does not exist", () => {
    const file = path.join(dir, "missing-dir", "f.txt");
    assert.throws(
      () => writeFileAtomic(file, "x"),
      (err: Error) => err.message.includes(file) && /ENOENT/.test(err.message),
    );
  });

  it("writeJsonAtomic writes pretty JSON with a trailing newline and refuses non-JSON values", () => {
    const file = path.join(dir, "cfg.json");
    writeJsonAtomic(file, { lr: 0.3, steps: [1, 2] });
    assert.equal(fs.readFileSync(file, "utf8"), '{\n  "lr": 0.3,\n  "steps": [\n    1,\n    2\n  ]\n}\n');
    assert.throws(() => writeJsonAtomic(file, undefined), /cfg\.json.*type undefined is not JSON-serialisable/);
    assert.throws(() => writeJsonAtomic(file, { big: 1n }), /cfg\.json.*not JSON-serialisable.*BigInt/);
    assert.deepEqual(JSON.parse(fs.readFileSync(file, "utf8")), { lr: 0.3, steps: [1, 2] });
    assert.deepEqual(leftovers(), []);
  });
});
