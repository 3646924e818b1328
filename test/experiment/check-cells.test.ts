import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { cellProblems, checkCells, gridOptionSource } from "../../lib/experiment/check-cells";
import { expandGrid, makeCell, type GridSpec } from "../../lib/experiment/grid";
import { methodGaps } from "../../lib/experiment/gaps";
import {
  checkOneFingerprintPerBackbone,
  checkResumeFingerprints,
  staleRecords,
} from "../../lib/experiment/weights-fingerprint";
import { fakeRecord } from "../fixtures/experiment/fake-record";
import { tempDir } from "../notebook/fixtures";

const spec: GridSpec = {
  name: "t",
  backbones: ["kit-nano"],
  tasks: ["yelp"],
  methods: ["zero-shot", "prompt-tuning"],
  seeds: [0, 1],
  methodOptions: { "prompt-tuning": { lr: [0.03, 1e30] } },
  fixed: { steps: 5, weightDecay: -1 },
};

describe("experiment/check-cells (whole-grid validation before anything runs)", () => {
  it("lists every invalid cell with the source, the cell and the option as written in the grid", () => {
    const cells = expandGrid(spec);
    const problems = cellProblems(cells, {
      source: "grids/t.json",
      backbones: false,
      optionSource: (c, k) => gridOptionSource(spec, c, k),
    });
    assert.equal(problems.length, cells.length, "weightDecay -1 is fixed for every cell");
    assert.match(
      problems[0]!,
      /^grids\/t\.json: cell 0 \(kit-nano\/yelp\/zero-shot seed=0 steps=5 weightDecay=-1\): option weightDecay must be a number >= 0, got -1 \(set by fixed\.weightDecay\)$/,
    );
    const lr = cellProblems(expandGrid({ ...spec, fixed: { steps: 5 } }), {
      source: "grids/t.json",
      backbones: false,
      optionSource: (c, k) => gridOptionSource(spec, c, k),
    });
    assert.equal(lr.length, 2, "the two lr 1e30 cells");
    assert.match(
      lr[0]!,
      /cell 4 .*option lr must be null or a number in \(0, 10\], got 1e\+30 \(set by methodOptions\.prompt-tuning\.lr\)/,
    );
  });

  it("names unknown methods, tasks and missing backbones", () => {
    const root = tempDir("kit-check-");
    fs.mkdirSync(path.join(root, "models"));
    const cells = [
      makeCell({ backbone: "kit-nano", task: "yelp", method: "prompt", seed: 0 }),
      makeCell({ backbone: "kit-nano", task: "yelpp", method: "zero-shot", seed: 0 }),
      makeCell({ backbone: "kit-huge", task: "yelp", method: "zero-shot", seed: 0 }),
      makeCell({ backbone: "kit-huge", task: "yelp", method: "zero-shot", seed: 1, options: { lr: null } }),
    ];
    const p = cellProblems(cells, { source: "npm run bench", root });
    assert.match(
      p[0]!,
      /npm run bench: cell 0 .*: method 'prompt' is not one of zero-shot, calibrated-zero-shot, head-only, prompt-tuning/,
    );
    assert.match(p[1]!, /cell 1 .*: task 'yelpp' is not one of .*yelp/);
    assert.match(
      p[2]!,
      /cell 2 .*: backbone 'kit-huge': .*kit-huge lacks config\.json, model\.safetensors, tokenizer\.json \(shipped: none\)/,
    );
    assert.throws(
      () => checkCells(cells, { source: "npm run bench", root, maxListed: 2 }),
      /^Error: npm run bench: 4 of 4 cells are invalid; nothing was run:\n {2}npm run bench: cell 0 [^\n]*\n {2}npm run bench: cell 1 [^\n]*\n {2}\.\.\. and 1 more problems$/,
    );
    // One missing backbone is one line naming the cells it affects.
    assert.throws(
      () => checkCells(cells, { source: "npm run bench", root }),
      /\n {2}npm run bench: cells 2, 3 \(first: kit-huge\/yelp\/zero-shot seed=0\): backbone 'kit-huge': [^\n]*$/,
    );
    fs.rmSync(root, { recursive: true, force: true });
  });

  it("passes a valid grid", () => {
    checkCells(expandGrid({ ...spec, methodOptions: undefined, fixed: { steps: 5 } }), {
      source: "g",
      backbones: false,
    });
  });
});

describe("experiment/weights-fingerprint", () => {
  const cells = expandGrid({
    name: "f",
    backbones: ["tiny"],
    tasks: ["yelp"],
    methods: ["prompt-tuning", "full-finetune"],
    seeds: [0, 1],
  });
  const records = cells.map((c) => fakeRecord(c)); // fingerprint "sha256:tiny-weights"

  it("a resume refuses records of other weights, naming both fingerprints", () => {
    checkResumeFingerprints(records, cells, () => "sha256:tiny-weights", "r.jsonl", "use another --out");
    checkResumeFingerprints(records, cells, () => null, "r.jsonl", "use another --out");
    assert.equal(staleRecords(records, cells, () => "sha256:new").length, 4);
    assert.throws(
      () => checkResumeFingerprints(records, cells, () => "sha256:new", "r.jsonl", "use another --out"),
      /^Error: r\.jsonl: 4 recorded run\(s\) of these cells used another version of backbone 'tiny' \(recorded weights fingerprint sha256:tiny-weights, the backbone now has sha256:new\); .*use another --out$/,
    );
  });

  it("no summary mixes weights, and the PT - FT gap never pairs runs on different weights", () => {
    const mixed = records.map((r) =>
      r.method === "full-finetune" ? { ...r, backbone: { ...r.backbone, fingerprint: "sha256:other" } } : r,
    );
    assert.throws(
      () => checkOneFingerprintPerBackbone(mixed, "r.jsonl"),
      /r\.jsonl: records of backbone 'tiny' come from different weights .*sha256:tiny-weights.*sha256:other/,
    );
    checkOneFingerprintPerBackbone(records, "r.jsonl");
    assert.equal(methodGaps(records, { a: "prompt-tuning", b: "full-finetune", metric: "accuracy" })[0]!.n, 2);
    assert.deepEqual(methodGaps(mixed, { a: "prompt-tuning", b: "full-finetune", metric: "accuracy" }), []);
  });
});
