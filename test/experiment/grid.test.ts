import { strict as assert } from "node:assert";
import { createHash } from "node:crypto";
import { canonicalJson, cellIdOf } from "../../lib/experiment/cell-id";
import { expandGrid, makeCell, type GridSpec } from "../../lib/experiment/grid";

const base = (): GridSpec => ({
  name: "g",
  backbones: ["b1", "b2"],
  tasks: ["t1"],
  methods: ["m1", "m2"],
  seeds: [0, 1],
  options: { lr: [0.1, 0.2] },
});

describe("experiment/grid", () => {
  it("expands the cartesian product in order backbone, task, method, options, seed (innermost)", () => {
    const cells = expandGrid(base());
    assert.equal(cells.length, 2 * 1 * 2 * 2 * 2);
    const tuple = (c: (typeof cells)[number]): string =>
      `${c.backbone} ${c.task} ${c.method} ${c.options.lr} ${c.seed}`;
    assert.deepEqual(cells.slice(0, 9).map(tuple), [
      "b1 t1 m1 0.1 0",
      "b1 t1 m1 0.1 1",
      "b1 t1 m1 0.2 0",
      "b1 t1 m1 0.2 1",
      "b1 t1 m2 0.1 0",
      "b1 t1 m2 0.1 1",
      "b1 t1 m2 0.2 0",
      "b1 t1 m2 0.2 1",
      "b2 t1 m1 0.1 0",
    ]);
    assert.equal(new Set(cells.map((c) => c.cellId)).size, cells.length);
  });

  it("several option axes are nested in key-name order, independent of how they are written", () => {
    const a = expandGrid({
      ...base(),
      backbones: ["b"],
      methods: ["m"],
      seeds: [0],
      options: { z: [1, 2], a: ["x", "y"] },
    });
    const b = expandGrid({
      ...base(),
      backbones: ["b"],
      methods: ["m"],
      seeds: [0],
      options: { a: ["x", "y"], z: [1, 2] },
    });
    assert.deepEqual(
      a.map((c) => `${c.options.a}${c.options.z}`),
      ["x1", "x2", "y1", "y2"],
    );
    assert.deepEqual(
      a.map((c) => c.cellId),
      b.map((c) => c.cellId),
    );
  });

  it("cellId is sha256 of the canonical (key-sorted) config, 16 hex chars", () => {
    const [cell] = expandGrid({
      name: "x",
      backbones: ["b1"],
      tasks: ["t1"],
      methods: ["m1"],
      seeds: [0],
      options: { lr: [1] },
    });
    const canonical = '{"backbone":"b1","lr":1,"method":"m1","seed":0,"task":"t1"}';
    assert.equal(canonicalJson(cell!.config), canonical);
    assert.equal(cell!.cellId, createHash("sha256").update(canonical).digest("hex").slice(0, 16));
  });

  it("ids do not depend on key order (nested too), grid name, or position", () => {
    const one = expandGrid({
      name: "first",
      backbones: ["b"],
      tasks: ["t"],
      methods: ["m"],
      seeds: [3],
      fixed: { a: 1, opt: { x: 1, y: [1, { p: 1, q: 2 }] } },
    });
    const two = expandGrid({
      fixed: { opt: { y: [1, { q: 2, p: 1 }], x: 1 }, a: 1 },
      seeds: [1, 2, 3],
      methods: ["m"],
      tasks: ["t"],
      backbones: ["b"],
      name: "second",
    });
    assert.equal(one[0]!.cellId, two[2]!.cellId);
    assert.equal(cellIdOf({ b: 1, a: { d: 2, c: 3 } }), cellIdOf({ a: { c: 3, d: 2 }, b: 1 }));
    assert.notEqual(cellIdOf({ a: [1, 2] }), cellIdOf({ a: [2, 1] }));
    assert.notEqual(cellIdOf({ a: 1 }), cellIdOf({ a: "1" }));
  });

  it("ids are stable across releases (a changed hash would orphan every results file)", () => {
    const c = makeCell({
      backbone: "tiny",
      task: "sst2",
      method: "prompt",
      seed: 0,
      options: { promptLength: 5, steps: 10 },
    });
    assert.equal(
      c.cellId,
      createHash("sha256")
        .update('{"backbone":"tiny","method":"prompt","promptLength":5,"seed":0,"steps":10,"task":"sst2"}')
        .digest("hex")
        .slice(0, 16),
    );
  });

  it("methodOptions add axes for one method only; fixed values go into every config", () => {
    const cells = expandGrid({
      name: "pt-ft",
      backbones: ["b"],
      tasks: ["t"],
      methods: ["prompt", "finetune"],
      seeds: [0, 1],
      methodOptions: { prompt: { promptLength: [1, 5, 20] } },
      fixed: { steps: 100 },
    });
    assert.equal(cells.length, 3 * 2 + 2);
    assert.deepEqual(
      cells.map((c) => `${c.method}:${c.options.promptLength ?? "-"}:${c.seed}`),
      [
        "prompt:1:0",
        "prompt:1:1",
        "prompt:5:0",
        "prompt:5:1",
        "prompt:20:0",
        "prompt:20:1",
        "finetune:-:0",
        "finetune:-:1",
      ],
    );
    for (const c of cells) assert.equal(c.config.steps, 100);
    assert.deepEqual(cells[0]!.config, {
      backbone: "b",
      task: "t",
      method: "prompt",
      seed: 0,
      steps: 100,
      promptLength: 1,
    });
    assert.ok(Object.isFrozen(cells[0]) && Object.isFrozen(cells[0]!.config));
  });

  it("validates the grid with messages naming the field", () => {
    const bad = (patch: Partial<GridSpec> & Record<string, unknown>, re: RegExp): void =>
      assert.throws(() => expandGrid({ ...base(), ...patch } as GridSpec), re);
    bad({ tasks: [] }, /grid "g": tasks is empty/);
    bad({ methods: ["m1", "m1"] }, /methods has a duplicate value "m1" at indices 0 and 1/);
    bad({ seeds: [0, 1.5] }, /seeds\[1\] must be an integer, got 1.5/);
    bad({ seeds: [0, "1"] as unknown as number[] }, /seeds\[1\] must be an integer, got "1"/);
    bad({ options: { lr: [0.1, 0.1] } }, /options.lr has a duplicate value 0.1/);
    bad({ options: { lr: [] } }, /options.lr is empty/);
    bad({ options: { seed: [1] } }, /options.seed: key "seed" is reserved/);
    bad({ fixed: { lr: 1 } }, /"lr" is both a fixed value and an options axis/);
    bad({ methodOptions: { m3: { k: [1] } } }, /methodOptions.m3: "m3" is not one of methods \[m1, m2\]/);
    bad({ backbones: "b1" as unknown as string[] }, /backbones must be an array, got "b1"/);
    bad({ name: "" }, /name must be a non-empty string/);
    bad({ seed: [1] } as never, /unknown field "seed"/);
    bad({ fixed: { lr: NaN } }, /fixed.lr is NaN/);
    bad({ options: { when: [new Date(0)] } }, /options.when\[0\] is a Date/);
  });

  it("makeCell rejects reserved option names", () => {
    assert.throws(
      () => makeCell({ backbone: "b", task: "t", method: "m", seed: 0, options: { task: "x" } }),
      /key "task" is reserved/,
    );
  });
});
