import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { checkEntryName, PromptLibrary } from "../../lib/prompt/library";
import { PromptSet } from "../../lib/prompt/soft-prompt";
import { setupBackend } from "../helpers";

function meta(task: string, accuracy: number, extra: Record<string, unknown> = {}, fp = "sha256:aaaa") {
  return {
    task,
    labels: ["negative", "positive"],
    settings: { length: 2, init: "random-uniform", position: "front" },
    backbone: { name: fp === "sha256:aaaa" ? "kit-nano" : "kit-small", fingerprint: fp },
    metrics: { accuracy },
    extra: { method: "prompt-tuning", ...extra },
  };
}

function prompt(v: number): PromptSet {
  return PromptSet.fromArrays(new Map([["front", new Float32Array(8).fill(v)]]), 4, "random-uniform");
}

function library(): { lib: PromptLibrary; warnings: string[] } {
  const warnings: string[] = [];
  const lib = new PromptLibrary(fs.mkdtempSync(path.join(os.tmpdir(), "kit-lib-")), {
    onWarning: (m) => warnings.push(m),
  });
  return { lib, warnings };
}

describe("prompt library: search, names and damage", () => {
  before(setupBackend);

  it("searches by task, backbone, fingerprint prefix, method, metric range and date", () => {
    const { lib } = library();
    const p = prompt(1);
    lib.add(p, meta("yelp", 0.7));
    lib.add(p, meta("yelp", 0.9));
    lib.add(p, meta("imdb", 0.8, {}, "sha256:bbbb"));
    lib.add(p, meta("yelp", 0.6, { method: "deep-prompt-tuning" }));
    assert.equal(lib.search({ task: "yelp" }).length, 3);
    assert.deepEqual(
      lib.search({ task: "yelp", metric: "accuracy" }).map((e) => e.metrics["accuracy"]),
      [0.9, 0.7, 0.6],
    );
    assert.deepEqual(
      lib.search({ metric: "accuracy", min: 0.75 }).map((e) => e.task),
      ["yelp", "imdb"],
    );
    assert.deepEqual(
      lib.search({ fingerprint: "sha256:bb" }).map((e) => e.task),
      ["imdb"],
    );
    assert.equal(lib.search({ backbone: "kit-small" }).length, 1);
    assert.equal(lib.search({ method: "deep-prompt-tuning" }).length, 1);
    assert.equal(lib.search({ metric: "f1" }).length, 0);
    assert.equal(lib.search({ since: "2000-01-01" }).length, 4);
    assert.equal(lib.search({ until: "2000-01-01" }).length, 0);
    assert.throws(() => lib.search({ since: "last week" }), /since must be an ISO 8601 date.*"last week"/);
    assert.throws(() => lib.search({ min: 0.5 }), /min needs a metric/);
    assert.equal(lib.best("yelp", "kit-nano")!.metrics["accuracy"], 0.9);
    p.dispose();
  });

  it("refuses a name that is taken unless asked to overwrite, then the newer entry wins", () => {
    const { lib } = library();
    const a = prompt(1);
    const b = prompt(2);
    lib.add(a, meta("yelp", 0.7), { name: "best-yelp" });
    assert.throws(
      () => lib.add(b, meta("yelp", 0.8), { name: "best-yelp" }),
      /a prompt named 'best-yelp' already exists.*unless asked/,
    );
    lib.add(b, meta("yelp", 0.8), { name: "best-yelp", overwrite: true });
    const entries = lib.search({});
    assert.equal(entries.length, 1);
    assert.equal(entries[0]!.metrics["accuracy"], 0.8);
    const loaded = lib.load("best-yelp", { name: "kit-nano", fingerprint: "sha256:aaaa", width: 4 });
    assert.equal(loaded.prompts.arrays().get("front")![0], 2);
    loaded.prompts.dispose();
    // an orphan file of that name (not in the index) is not silently replaced either
    fs.writeFileSync(path.join(lib.dir, "orphan.safetensors"), "x");
    assert.throws(() => lib.add(a, meta("yelp", 0.7), { name: "orphan" }), /orphan\.safetensors: already exists/);
    a.dispose();
    b.dispose();
  });

  it("refuses names with path separators or '..' and writes nothing outside the library", () => {
    const { lib } = library();
    const p = prompt(1);
    for (const bad of ["../x", "a/b", "a\\b", "..", ".", "", ".hidden", "x..y", "/abs"]) {
      assert.throws(
        () => lib.add(p, meta("yelp", 0.5), { name: bad }),
        /prompt name must be .* without path separators or '\.\.'/,
        bad,
      );
    }
    assert.deepEqual(fs.existsSync(lib.dir) ? fs.readdirSync(lib.dir) : [], []);
    assert.equal(checkEntryName("yelp-seed0.v2"), "yelp-seed0.v2");
    p.dispose();
  });

  it("names a corrupted or incomplete index line and still loads the rest; tolerates a torn last line", () => {
    const { lib, warnings } = library();
    const p = prompt(1);
    lib.add(p, meta("yelp", 0.7));
    lib.add(p, meta("imdb", 0.8));
    const index = lib.indexPath();
    const lines = fs.readFileSync(index, "utf8").split("\n");
    const damaged = JSON.parse(lines[0]!);
    delete damaged.backbone;
    const escaping = { ...JSON.parse(lines[1]!), id: "x", file: "../../etc/passwd" };
    fs.writeFileSync(
      index,
      [JSON.stringify(damaged), "{not json", JSON.stringify(escaping), lines[1], '{"id": "torn'].join("\n"),
    );
    const entries = lib.search({});
    assert.deepEqual(
      entries.map((e) => e.task),
      ["imdb"],
    );
    assert.ok(
      warnings.some((w) => /index\.jsonl:1: skipping a damaged library entry \(field 'backbone'/.test(w)),
      warnings.join("\n"),
    );
    assert.ok(
      warnings.some((w) => /index\.jsonl:2: skipping corrupt line/.test(w)),
      warnings.join("\n"),
    );
    assert.ok(
      warnings.some((w) => /index\.jsonl:3: .*field 'file' must be 'x\.safetensors'/.test(w)),
      warnings.join("\n"),
    );
    assert.ok(
      warnings.some((w) => /index\.jsonl:5: skipping torn final line/.test(w)),
      warnings.join("\n"),
    );
    // the next addition repairs the torn tail and keeps everything else
    lib.add(p, meta("amazon", 0.9));
    assert.deepEqual(
      lib.search({}).map((e) => e.task),
      ["imdb", "amazon"],
    );
    p.dispose();
  });

  it("verify names entries whose prompt file is missing or damaged", () => {
    const { lib } = library();
    const p = prompt(1);
    const a = lib.add(p, meta("yelp", 0.7));
    const b = lib.add(p, meta("imdb", 0.8));
    fs.writeFileSync(path.join(lib.dir, b.file), "garbage");
    const { ok, bad } = lib.verify();
    assert.deepEqual(
      ok.map((e) => e.id),
      [a.id],
    );
    assert.equal(bad.length, 1);
    assert.equal(bad[0]!.id, b.id);
    assert.match(bad[0]!.problem, /imdb/);
    p.dispose();
  });
});
