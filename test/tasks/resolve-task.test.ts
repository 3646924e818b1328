import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describeTask } from "../../lib/tasks/data/example";
import { TaskFileError } from "../../lib/tasks/data/task-file";
import {
  bindTasks,
  normalizeFileTask,
  parseTaskRef,
  taskIdentity,
  TaskSpecError,
  type FileTaskSpec,
} from "../../lib/tasks/file-task";
import { prepareTask, resolveTask } from "../../lib/tasks/resolve-task";
import { TASK_SPECS } from "../../lib/tasks/task-specs";
import { Tokenizer } from "../../lib/tokenizer/tokenizer";

const tok = Tokenizer.fromFile(path.resolve(__dirname, "../../../models/kit-nano/tokenizer.json"));

/** 3 labels, imbalanced (12 / 8 / 5), plus one long text per label. */
function csv(extra = ""): string {
  const rows = ["speech,party,year"];
  const add = (label: string, n: number, word: string): void => {
    for (let i = 0; i < n; i++) rows.push(`"The ${word} plan number ${i}, for the nation",${label},${1900 + i}`);
  };
  add("democratic", 12, "harbour");
  add("republican", 8, "tariff");
  add("whig", 5, "canal");
  rows.push(`"${"a very long speech about many things ".repeat(20)}",whig,1840`);
  return rows.join("\n") + "\n" + extra;
}

const SPEC: FileTaskSpec = {
  name: "party",
  file: "speeches.csv",
  textColumn: "speech",
  labelColumn: "party",
  split: { devFraction: 0.2, testFraction: 0.2 },
};

describe("tasks/resolve-task", () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "resolve-task-"));
    fs.writeFileSync(path.join(dir, "speeches.csv"), csv());
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  async function refused(ref: unknown, pattern: RegExp, kind: Function = TaskSpecError): Promise<void> {
    await assert.rejects(resolveTask(ref, dir, { where: "grid.json tasks[1]" }), (err: unknown) => {
      assert.ok(err instanceof kind, `expected ${kind.name}, got ${(err as Error).stack}`);
      assert.match((err as Error).message, pattern);
      return true;
    });
  }

  it("a built-in name resolves to its data and its own spec; its identity is its name", async () => {
    const t = await resolveTask("yelp", dir, { dataSeed: 3 });
    assert.equal(t.kind, "builtin");
    assert.equal(t.spec, TASK_SPECS.yelp);
    assert.deepEqual(t.identity, { name: "yelp", key: "yelp", config: "yelp", sha256: null, file: null });
    assert.deepEqual(t.data.labels, ["negative", "positive"]);
    assert.deepEqual(taskIdentity("yelp", dir), t.identity);
  });

  it("a file task: 3 imbalanced labels, stratified split, label names as label words, multi-token labels", async () => {
    const t = await resolveTask(SPEC, dir, { dataSeed: 0 });
    assert.equal(t.kind, "file");
    assert.equal(t.name, "party");
    assert.deepEqual(t.data.labels, ["democratic", "republican", "whig"]);
    const d = describeTask(t.data);
    assert.deepEqual(d.perLabel, { democratic: 12, republican: 8, whig: 6 });
    for (const s of ["train", "dev", "test"] as const)
      for (const l of t.data.labels) assert.ok(d.splits[s][l]! >= 1, `${s}/${l}`);
    assert.deepEqual(d.splits.test, { democratic: 2, republican: 2, whig: 1 }); // round(12*.2), round(8*.2), round(6*.2)
    assert.deepEqual(t.spec.verbalizer, { democratic: [" democratic"], republican: [" republican"], whig: [" whig"] });
    assert.deepEqual(t.spec.template, { pattern: "<front>{text} Label:<back>", maxFieldTokens: 64, truncate: "end" });
    const p = prepareTask(t, tok);
    assert.ok(
      p.verbalizer.tokenIds.some((w) => w[0]!.length > 1),
      "some label name is several tokens",
    );
    const tr = p.truncation();
    assert.equal(tr.truncated.train + tr.truncated.dev + tr.truncated.test, 1, "the one long text is cut");
    assert.equal(p.items("test").length, 5);
  });

  it("identity: content hash + options, not the path; changed data or template gives a new identity", async () => {
    const a = taskIdentity(SPEC, dir);
    assert.equal(a.name, "party");
    assert.match(a.key, /^party@[0-9a-f]{12}$/);
    assert.match(a.sha256!, /^[0-9a-f]{64}$/);
    const cfg = a.config as Record<string, unknown>;
    assert.equal(cfg.sha256, a.sha256);
    assert.equal(cfg.file, undefined, "the path is not part of the identity");
    assert.deepEqual(cfg.split, { devFraction: 0.2, testFraction: 0.2, stratify: true });
    // same bytes elsewhere: same identity
    fs.mkdirSync(path.join(dir, "moved"));
    fs.copyFileSync(path.join(dir, "speeches.csv"), path.join(dir, "moved", "x.csv"));
    assert.deepEqual(taskIdentity({ ...SPEC, file: "moved/x.csv" }, dir).config, a.config);
    // another template or changed data: another identity
    assert.notEqual(taskIdentity({ ...SPEC, template: "<front>{text} This speech is<back>" }, dir).key, a.key);
    const t = await resolveTask(SPEC, dir);
    assert.deepEqual(t.identity, a);
    fs.appendFileSync(path.join(dir, "speeches.csv"), '"one more harbour plan",democratic,1999\n');
    const b = taskIdentity(SPEC, dir);
    assert.notEqual(b.sha256, a.sha256);
    assert.notEqual(b.key, a.key);
    await assert.rejects(
      resolveTask(SPEC, dir, { expectIdentity: a }),
      /speeches\.csv changed since the grid was set up \(sha256 [0-9a-f]{16}… then, [0-9a-f]{16}… now\)/,
    );
  });

  it("a given verbalizer and template are used; multi-word label words allowed", async () => {
    const t = await resolveTask(
      {
        ...SPEC,
        template: { pattern: "<front>{text} This speech is<back>", maxFieldTokens: 16, truncate: "start" },
        verbalizer: { democratic: [" left", " blue"], republican: " right", whig: [" old party"] },
      },
      dir,
    );
    assert.deepEqual(t.spec.verbalizer, {
      democratic: [" left", " blue"],
      republican: [" right"],
      whig: [" old party"],
    });
    const p = prepareTask(t, tok);
    assert.match(p.truncation().policy, /cut at the start \(its last 16 tokens are kept\)/);
  });

  describe("bad references name where they were written and the field", () => {
    it("unknown built-in names, and a bare file name", async () => {
      await refused(
        "imbd",
        /^grid\.json tasks\[1\]: unknown task "imbd": expected one of imdb, amazon, yelp, spam, wordnet-pairs or a file task object/,
      );
      await refused("data.csv", /a file needs its columns named: \{ "name": "mytask", "file": "data\.csv"/);
      await refused(42, /grid\.json tasks\[1\] must be a built-in task name .* or a file task object, got 42/);
    });

    it("missing or wrong fields, unknown fields", async () => {
      await refused(
        { name: "p", file: "speeches.csv", labelColumn: "party" },
        /grid\.json tasks\[1\]\.textColumn must be a non-empty string, got undefined/,
      );
      await refused({ ...SPEC, textColum: "x" }, /unknown file task field "textColum" \(known: name, file, textColumn/);
      await refused({ ...SPEC, name: "imdb" }, /tasks\[1\]\.name: "imdb" is the name of a built-in task/);
      await refused({ ...SPEC, name: "my task/1" }, /\.name must be a name of letters, digits/);
      await refused({ ...SPEC, labelColumn: "speech" }, /\.labelColumn must be a column other than the text column/);
      await refused(
        { ...SPEC, split: { devFraction: 0.5, testFraction: 0.5 } },
        /\.split must be fractions with devFraction \+ testFraction < 1/,
      );
      await refused(
        { ...SPEC, split: { testFraction: 1.2 } },
        /\.split\.testFraction must be a number in \[0, 1\), got 1\.2/,
      );
      await refused(
        { ...SPEC, split: { seed: 3 } },
        /unknown field "seed" .*the split seed is the cell option dataSeed/,
      );
      await refused({ ...SPEC, encoding: "klingon" }, /\.encoding must be an encoding name/);
      await refused(
        { ...SPEC, file: "nope.csv" },
        /tasks\[1\]\.file: task "party": no such file .*nope\.csv \("nope\.csv" is taken relative to /,
      );
    });

    it("a template without {text} or without an answer position; {textB} without a textB column", async () => {
      await refused(
        { ...SPEC, template: "Speech: {speech} Party:" },
        /\.template: template "Speech: \{speech\} Party:" has an unknown placeholder \{speech\}/,
      );
      await refused({ ...SPEC, template: "<front>Party:<back>" }, /\.template: template .* has no \{text\} field/);
      await refused({ ...SPEC, template: "<front>{text}<back>" }, /\.template: template .* has no answer position/);
      await refused({ ...SPEC, template: "{text} / {textB} Label:" }, /uses \{textB\} but the task has no textBColumn/);
      await refused(
        { ...SPEC, textBColumn: "year", template: "{text} Label:" },
        /has textBColumn "year" but the pattern has no \{textB\}/,
      );
      await refused(
        { ...SPEC, template: { pattern: "{text} L:", maxFieldTokens: 0 } },
        /\.template\.maxFieldTokens must be a positive integer, got 0/,
      );
    });

    it("a verbalizer that misses a label or names an unknown one (labels listed, with where they come from)", async () => {
      await refused(
        { ...SPEC, verbalizer: { democratic: [" left"], republican: [" right"] } },
        /tasks\[1\]\.verbalizer misses label "whig"; the labels in .*speeches\.csv are \["democratic", "republican", "whig"\]/,
      );
      await refused(
        { ...SPEC, verbalizer: { democratic: " l", republican: " r", whig: " w", green: " g" } },
        /verbalizer names unknown label "green"/,
      );
      await refused(
        { ...SPEC, verbalizer: { democratic: [], republican: " r", whig: " w" } },
        /verbalizer\["democratic"\] must be a label word or a non-empty list/,
      );
      // with explicit labels the check happens before the file is read
      assert.throws(
        () => normalizeFileTask({ ...SPEC, labels: ["a", "b"], verbalizer: { a: " a" } }, "t"),
        /t\.verbalizer misses label "b"; the labels in t\.labels are \["a", "b"\]/,
      );
    });

    it("bad files: the file, line/row and field (empty, header only, one class, empty label, non-UTF-8, malformed JSONL)", async () => {
      const put = (name: string, content: string | Buffer): FileTaskSpec => {
        fs.writeFileSync(path.join(dir, name), content);
        return { ...SPEC, file: name };
      };
      await refused(
        put("e.csv", ""),
        /e\.csv: whole file: field "\(file\)": expected a header line and data rows, got an empty file/,
        TaskFileError,
      );
      await refused(
        put("h.csv", "speech,party\n"),
        /h\.csv: whole file: field "\(file\)": expected at least one data row after the header/,
        TaskFileError,
      );
      await refused(
        put("c.csv", "text,label\na,b\n"),
        /c\.csv: line 1: field "speech": expected a column named "speech", got none; available columns: \[text, label\]/,
        TaskFileError,
      );
      await refused(
        put("one.csv", "speech,party\na,x\nb,x\n"),
        /field "party": expected at least 2 distinct labels, got 1 \("x"\)/,
        TaskFileError,
      );
      await refused(
        put("el.csv", "speech,party\na,x\nb,\nc,y\n"),
        /el\.csv: line 3 \(data row 2\): field "party": expected a non-empty label, got an empty value/,
        TaskFileError,
      );
      await refused(
        put("u.csv", Buffer.concat([Buffer.from("speech,party\na,x\n"), Buffer.from([0x62, 0xff, 0x2c, 0x79, 0x0a])])),
        /u\.csv: line 3: field "\(bytes\)": expected UTF-8 text.*got byte 0xff at byte 2/,
        TaskFileError,
      );
      await refused(
        put("m.jsonl", '{"speech":"a","party":"x"}\n{"speech": "b", "party": }\n'),
        /m\.jsonl: line 2: field "\(line\)": expected a JSON object, got malformed JSON/,
        TaskFileError,
      );
      await refused(
        put("rare.csv", csv().replace(/\n[^\n]*whig[^\n]*/g, "") + '"c1",whig,1\n"c2",whig,2\n'),
        /label "whig" has 2, leaving dev and test without it/,
        TaskFileError,
      );
    });
  });

  it("parseTaskRef checks without reading the file", () => {
    assert.equal(parseTaskRef("imdb"), "imdb");
    const spec = { ...SPEC, file: "does-not-exist-yet.csv" };
    assert.equal(parseTaskRef(spec, "x"), spec);
  });
});

describe("tasks/file-task: bindTask / bindTasks", () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "bind-task-"));
    fs.writeFileSync(path.join(dir, "speeches.csv"), csv());
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("a binding's ref loads from any directory and gives the same identity", async () => {
    const [yelp, party] = bindTasks(["yelp", SPEC], dir, "grid.json tasks");
    assert.deepEqual(yelp, { ref: "yelp", identity: taskIdentity("yelp", dir) });
    assert.equal((party!.ref as FileTaskSpec).file, path.join(dir, "speeches.csv"));
    const t = await resolveTask(party!.ref, os.tmpdir(), { expectIdentity: party!.identity });
    assert.deepEqual(t.identity, party!.identity);
  });

  it("refuses a task listed twice, and two tasks with one name", () => {
    assert.throws(
      () => bindTasks(["yelp", "imdb", "yelp"], dir, "grid.json tasks"),
      /grid\.json tasks\[2\] is the same task as grid\.json tasks\[0\] \("yelp"\); list it once/,
    );
    assert.throws(
      () => bindTasks([SPEC, { ...SPEC, template: "{text} It is" }], dir, "grid.json tasks"),
      /grid\.json tasks\[1\] and grid\.json tasks\[0\] are different tasks both named "party" \(party@[0-9a-f]{12} vs party@[0-9a-f]{12}\)/,
    );
    assert.throws(() => bindTasks([], dir, "grid.json tasks"), /grid\.json tasks must be a non-empty list/);
    assert.throws(
      () => bindTasks(["yelp", { ...SPEC, file: "gone.csv" }], dir, "grid.json tasks"),
      /grid\.json tasks\[1\]\.file: task "party": no such file/,
    );
  });
});
