/** Bad and unusual task files: encodings, TSV, empty files, labels too small to split. */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describeTask } from "../../../lib/tasks/data/example";
import {
  decodeTaskFile,
  loadTaskFile,
  minExamplesPerLabel,
  TaskFileError,
  type TaskFileOptions,
} from "../../../lib/tasks/data/task-file";

const basic: TaskFileOptions = { textColumn: "text", labelColumn: "label", seed: 0, devFraction: 0, testFraction: 0.5 };

describe("tasks/data/task-file: input checks", () => {
  let dir: string;
  before(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "task-file-input-"))));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const write = (name: string, content: string | Buffer): string => {
    const f = path.join(dir, name);
    fs.writeFileSync(f, content);
    return f;
  };
  /** The TaskFileError of loading `file`; its message must name the file and match every pattern. */
  async function refused(file: string, opts: TaskFileOptions, ...patterns: RegExp[]): Promise<TaskFileError> {
    try {
      await loadTaskFile(file, opts);
    } catch (err) {
      assert.ok(err instanceof TaskFileError, `expected TaskFileError, got ${(err as Error).stack}`);
      assert.ok(err.message.includes(file), `names the file: ${err.message}`);
      for (const p of patterns) assert.match(err.message, p);
      return err;
    }
    assert.fail(`${file} was accepted`);
  }

  it("an empty file, and one with only whitespace", async () => {
    await refused(
      write("empty.csv", ""),
      basic,
      /whole file: field "\(file\)": expected a header line and data rows, got an empty file \(0 bytes\)/,
    );
    await refused(write("empty.jsonl", ""), basic, /expected JSON object lines, got an empty file \(0 bytes\)/);
    await refused(write("blank.csv", "\n  \n"), basic, /got only whitespace \(4 bytes\)/);
  });

  it("a header with no data rows", () =>
    refused(write("header.csv", "text,label\n"), basic, /expected at least one data row after the header, got none/));

  it("an empty label value names line, row and field", () =>
    refused(
      write("empty-label.csv", "text,label\ngood,pos\nfine,\nbad,neg\n"),
      basic,
      /line 3 \(data row 2\): field "label": expected a non-empty label, got an empty value/,
    ));

  it("non-UTF-8 bytes are refused with the line, the byte and the text before it (never turned into U+FFFD)", async () => {
    const bytes = Buffer.concat([
      Buffer.from("text,label\ngood food,pos\nthe caf"),
      Buffer.from([0xe9]),
      Buffer.from(" was bad,neg\nnice,pos\nawful,neg\n"),
    ]);
    const f = write("latin1.csv", bytes);
    const err = await refused(
      f,
      basic,
      /line 3: field "\(bytes\)": expected UTF-8 text \(or declare the file's encoding, e\.g\. "encoding": "latin1"\), got byte 0xe9 at byte 8 of the line \(after "the caf"\), which is not valid UTF-8/,
    );
    assert.deepEqual(
      err.issues.map((i) => i.line),
      [3],
    );
    // the same bytes read with the declared encoding keep the text exactly
    const task = await loadTaskFile(f, { ...basic, encoding: "latin1" });
    const texts = [...task.train, ...task.test].map((e) => e.text);
    assert.ok(texts.includes("the café was bad"), texts.join(" | "));
    assert.match(task.source.note, /encoding=latin1/);
    // JSON Lines too, and a bad byte on a later line of a multi-line file
    const jl = write(
      "bad.jsonl",
      Buffer.concat([
        Buffer.from('{"text":"a","label":"x"}\n{"text":"b","label":"y"}\n{"text":"'),
        Buffer.from([0xc3, 0x28]),
        Buffer.from('","label":"x"}\n'),
      ]),
    );
    await refused(jl, basic, /line 3: field "\(bytes\)": .*got byte 0xc3 at byte 10 of the line/);
  });

  it("an unknown declared encoding is a plain error naming the option", () => {
    assert.throws(
      () => decodeTaskFile("x.csv", Buffer.from("a"), "klingon"),
      /x\.csv\): option encoding "klingon" is not an encoding this runtime knows/,
    );
    assert.equal(decodeTaskFile("x.csv", Buffer.from([0xef, 0xbb, 0xbf, 0x61])), "a", "byte-order mark dropped");
  });

  it("TSV: tab-separated, commas inside text are plain text", async () => {
    const f = write(
      "reviews.tsv",
      "text\tlabel\nGreat, really great\tpos\nBad, bad, bad\tneg\nOkay, fine\tpos\nNot, good\tneg\n",
    );
    const task = await loadTaskFile(f, basic);
    assert.deepEqual(task.labels, ["neg", "pos"]);
    assert.deepEqual([...task.train, ...task.test].map((e) => e.text).sort(), [
      "Bad, bad, bad",
      "Great, really great",
      "Not, good",
      "Okay, fine",
    ]);
    await refused(
      write("cols.tsv", "text\tlabel\na\tb\tc\n"),
      basic,
      /line 2 \(data row 1\): field "\(line\)": expected 2 fields like the header, got 3/,
    );
  });

  it("a missing CSV column lists the columns found; a JSONL key missing everywhere is one problem listing the keys", async () => {
    await refused(
      write("cols.csv", "review,sentiment\na,b\n"),
      basic,
      /line 1: field "text": expected a column named "text", got none; available columns: \[review, sentiment\]/,
    );
    const err = await refused(
      write("keys.jsonl", '{"review":"a","label":"x"}\n{"review":"b","label":"y"}\n'),
      basic,
      /whole file: field "text": expected a key named "text" in the JSON objects, got none in any of 2 lines; keys found: \[review, label\]/,
    );
    assert.equal(err.issues.length, 1);
  });

  it("a label too small to reach every split is refused with its count and the minimum", async () => {
    const rows = [
      "text,label",
      ...Array.from({ length: 10 }, (_, i) => `big ${i},a`),
      ...Array.from({ length: 10 }, (_, i) => `other ${i},b`),
      "rare one,c",
      "rare two,c",
    ];
    const f = write("rare.csv", rows.join("\n") + "\n");
    const opts = { ...basic, devFraction: 0.1, testFraction: 0.2 };
    assert.equal(minExamplesPerLabel(opts), 5); // round(5*0.2)=1 test, round(5*0.1)=1 dev (0.5 rounds up), 3 train
    await refused(
      f,
      opts,
      /field "label": expected at least 5 examples of each label \(so that train, dev and test each get one with devFraction 0\.1, testFraction 0\.2\), got label "c" has 2, leaving dev and test without it/,
    );
    // duplicates are counted after de-duplication
    const dup = write(
      "dup.csv",
      [...rows.slice(0, 21), "same,c", "same,c", "Same ,c", "again,c", "more,c"].join("\n") + "\n",
    );
    await refused(dup, opts, /label "c" has 3 \(5 before de-duplication\)/);
    // enough examples: accepted, and every split holds every label
    const ok = write("ok.csv", [...rows, "rare three,c", "rare four,c", "rare five,c"].join("\n") + "\n");
    const task = await loadTaskFile(ok, opts);
    const d = describeTask(task);
    for (const s of ["train", "dev", "test"] as const)
      for (const l of task.labels) assert.ok(d.splits[s][l]! >= 1, `${s} ${l}`);
    assert.equal(minExamplesPerLabel({ devFraction: 0, testFraction: 0 }), 1);
  });

  it("unsupported extension names the file and the supported ones; format may be declared", async () => {
    const f = write("data.txt", "text,label\na,x\nb,y\nc,x\nd,y\n");
    await assert.rejects(
      loadTaskFile(f, basic),
      /data\.txt: unsupported extension ".txt", expected \.csv, \.tsv, \.tab, \.jsonl or \.ndjson/,
    );
    const task = await loadTaskFile(f, { ...basic, format: "csv" });
    assert.deepEqual(task.labels, ["x", "y"]);
  });
});
