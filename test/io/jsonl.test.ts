import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { appendJsonl, JsonlError, readJsonl } from "../../lib/io/jsonl";

describe("io/jsonl", () => {
  let dir: string;
  let file: string;
  let warnings: string[];
  const onWarning = (m: string): void => {
    warnings.push(m);
  };
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "jsonl-test-"));
    file = path.join(dir, "results.jsonl");
    warnings = [];
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("appends one line per record and reads them back with line numbers", () => {
    appendJsonl(file, { run: "a", acc: 0.5 }, { onWarning });
    appendJsonl(file, { run: "b", acc: 0.75, tags: ["x"] }, { onWarning });
    appendJsonl(file, 3, { onWarning });
    assert.equal(fs.readFileSync(file, "utf8"), '{"run":"a","acc":0.5}\n{"run":"b","acc":0.75,"tags":["x"]}\n3\n');
    assert.deepEqual(readJsonl(file, { onWarning }), [
      { line: 1, record: { run: "a", acc: 0.5 } },
      { line: 2, record: { run: "b", acc: 0.75, tags: ["x"] } },
      { line: 3, record: 3 },
    ]);
    assert.deepEqual(warnings, []);
  });

  it("skips a torn final line with a warning naming file and line", () => {
    fs.writeFileSync(file, '{"i":1}\n{"i":2}\n{"i":3,"lo');
    const got = readJsonl(file, { onWarning });
    assert.deepEqual(
      got.map((e) => e.record),
      [{ i: 1 }, { i: 2 }],
    );
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /results\.jsonl:3: skipping torn final line \(10 bytes/);
  });

  it("appending after a torn tail cuts the fragment instead of gluing onto it", () => {
    fs.writeFileSync(file, '{"i":1}\n{"i":2}\n{"i":3,"lo');
    appendJsonl(file, { i: 4 }, { onWarning });
    assert.equal(fs.readFileSync(file, "utf8"), '{"i":1}\n{"i":2}\n{"i":4}\n');
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /results\.jsonl:3: removed torn final line \(10 bytes/);
    assert.deepEqual(
      readJsonl(file, { onWarning }).map((e) => [e.line, e.record]),
      [
        [1, { i: 1 }],
        [2, { i: 2 }],
        [3, { i: 4 }],
      ],
    );
    assert.equal(warnings.length, 1);
  });

  it("a torn first line (no newline anywhere) is cut too", () => {
    fs.writeFileSync(file, '{"partial":');
    appendJsonl(file, { ok: true }, { onWarning });
    assert.equal(fs.readFileSync(file, "utf8"), '{"ok":true}\n');
    assert.match(warnings[0]!, /:1: removed torn final line/);
  });

  it("an unterminated final line that parses is a record for both reader and appender", () => {
    fs.writeFileSync(file, '{"i":1}\n{"i":2}');
    assert.deepEqual(
      readJsonl(file, { onWarning }).map((e) => e.record),
      [{ i: 1 }, { i: 2 }],
    );
    assert.deepEqual(warnings, []);
    appendJsonl(file, { i: 3 }, { onWarning });
    assert.equal(fs.readFileSync(file, "utf8"), '{"i":1}\n{"i":2}\n{"i":3}\n');
    assert.match(warnings[0]!, /:2: final line had no trailing newline; added one/);
  });

  it("a corrupt middle line is an error naming file and line number", () => {
    fs.writeFileSync(file, '{"i":1}\n{"i":2,,}\n{"i":3}\n');
    assert.throws(
      () => readJsonl(file, { onWarning }),
      (err: unknown) => {
        assert.ok(err instanceof JsonlError);
        assert.equal(err.file, file);
        assert.equal(err.line, 2);
        assert.ok(err.message.startsWith(`${file}:2: corrupt line (`), err.message);
        assert.ok(err.message.includes('"{\\"i\\":2,,}"'), err.message);
        return true;
      },
    );
  });

  it("a corrupt terminated last line is corruption, not a torn write", () => {
    fs.writeFileSync(file, '{"i":1}\n{"i":\n');
    assert.throws(() => readJsonl(file, { onWarning }), /results\.jsonl:2: corrupt line/);
  });

  it("onBadLine 'skip' skips corrupt lines with a warning and keeps later records", () => {
    const bad = Buffer.from([0xff, 0xfe, 0x0a]); // invalid UTF-8 line
    fs.writeFileSync(file, Buffer.concat([Buffer.from('{"i":1}\nnot json\n'), bad, Buffer.from('{"i":4}\n')]));
    const got = readJsonl(file, { onBadLine: "skip", onWarning });
    assert.deepEqual(
      got.map((e) => [e.line, e.record]),
      [
        [1, { i: 1 }],
        [4, { i: 4 }],
      ],
    );
    assert.equal(warnings.length, 2);
    assert.match(warnings[0]!, /results\.jsonl:2: skipping corrupt line/);
    assert.match(warnings[1]!, /results\.jsonl:3: skipping corrupt line \(invalid UTF-8\)/);
  });

  it("ignores blank lines and CRLF endings but keeps true line numbers", () => {
    fs.writeFileSync(file, '{"i":1}\r\n\n   \n{"i":2}\r\n');
    assert.deepEqual(
      readJsonl(file, { onWarning }).map((e) => [e.line, e.record]),
      [
        [1, { i: 1 }],
        [4, { i: 2 }],
      ],
    );
  });

  it("refuses records JSON cannot represent faithfully, writing nothing", () => {
    appendJsonl(file, { ok: 1 }, { onWarning });
    const before = fs.readFileSync(file, "utf8");
    assert.throws(
      () => appendJsonl(file, { metrics: { loss: NaN } }),
      /results\.jsonl: cannot append: record\.metrics\.loss is NaN/,
    );
    assert.throws(() => appendJsonl(file, { curve: [1, Infinity] }), /record\.curve\[1\] is Infinity/);
    assert.throws(() => appendJsonl(file, undefined), /type undefined has no JSON form/);
    assert.throws(() => appendJsonl(file, { n: 1n }), /not JSON-serialisable.*BigInt/);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    assert.throws(() => appendJsonl(file, cyclic), /not JSON-serialisable/);
    assert.equal(fs.readFileSync(file, "utf8"), before);
  });

  it("a missing file is an error naming it, or [] with allowMissing", () => {
    assert.throws(
      () => readJsonl(file),
      (err: unknown) => err instanceof JsonlError && err.message.includes(file) && /ENOENT/.test(err.message),
    );
    assert.deepEqual(readJsonl(file, { allowMissing: true }), []);
    assert.throws(
      () => readJsonl(file, { onBadLine: "ignore" as "skip" }),
      /onBadLine must be "skip" or "throw", got "ignore"/,
    );
  });

  it("appending never rewrites earlier bytes (prefix of the file is unchanged)", () => {
    for (let i = 0; i < 20; i++) {
      const before = fs.existsSync(file) ? fs.readFileSync(file) : Buffer.alloc(0);
      appendJsonl(file, { i, text: "é".repeat(i) }, { onWarning });
      const after = fs.readFileSync(file);
      assert.ok(after.subarray(0, before.length).equals(before));
    }
    assert.equal(readJsonl(file).length, 20);
  });
});
