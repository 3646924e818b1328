import assert from "node:assert/strict";
import { parseSeeds, resolveKiExperimentOptions } from "../../lib/pretrain/ki-experiment-options";
import { setupBackend } from "../helpers";
import { removeTempDirs } from "./ki-fixtures";

describe("pretrain/ki-experiment-options", () => {
  before(setupBackend);
  after(removeTempDirs);

  it("fills the defaults and resolves the KI end step to half the steps", () => {
    const o = resolveKiExperimentOptions({ steps: 1501 });
    assert.equal(o.student, "kit-small");
    assert.equal(o.teacher, "models/kit-nano");
    assert.deepEqual(o.seeds, [0]);
    assert.equal(o.kiEndStep, 750);
    assert.equal(o.kiTopK, null);
    assert.equal(resolveKiExperimentOptions({ steps: 100, kiEndStep: 30 }).kiEndStep, 30);
    assert.ok(Object.isFrozen(o));
  });

  it("rejects bad values naming the field and the value", () => {
    assert.throws(() => resolveKiExperimentOptions({ stepz: 3 } as never), /unknown option 'stepz'/);
    assert.throws(
      () => resolveKiExperimentOptions({ student: "kit-huge" }),
      /unknown backbone size 'kit-huge': expected one of kit-micro, kit-nano/,
    );
    assert.throws(() => resolveKiExperimentOptions({ steps: 0 }), /steps must be a positive integer, got 0/);
    assert.throws(() => resolveKiExperimentOptions({ seeds: [] }), /seeds must be a non-empty array/);
    assert.throws(() => resolveKiExperimentOptions({ seeds: [0, 2, 0] }), /seed 0 is listed twice/);
    assert.throws(
      () => resolveKiExperimentOptions({ seeds: [-1] }),
      /seeds\[0\] must be a non-negative integer, got -1/,
    );
    assert.throws(() => resolveKiExperimentOptions({ length: 129 }), /length 129 exceeds the student's maxLen 128/);
    assert.throws(
      () => resolveKiExperimentOptions({ evalTokens: 1000 }),
      /evalTokens 1000 is less than one batch \(batch 8 x length 128 = 1024 tokens\)/,
    );
    assert.throws(() => resolveKiExperimentOptions({ lr: -1 }), /ki-experiment: lr must be a number > 0, got -1/);
    assert.throws(
      () => resolveKiExperimentOptions({ kiAlpha: 1.5 }),
      /alphaStart must be a number in \[0, 1\], got 1.5 \(from kiAlpha/,
    );
    assert.throws(
      () => resolveKiExperimentOptions({ kiTopK: 5000 }),
      /kiTopK 5000 exceeds the vocabulary \(2048 tokens\)/,
    );
    assert.throws(() => resolveKiExperimentOptions({ ptMethods: [] }), /ptMethods must be a non-empty array/);
  });

  it("parses --seeds lists", () => {
    assert.deepEqual(parseSeeds("0"), [0]);
    assert.deepEqual(parseSeeds("0, 1,2"), [0, 1, 2]);
    assert.throws(() => parseSeeds("0,x"), /--seeds: expected comma-separated non-negative integers, got '0,x'/);
    assert.throws(() => parseSeeds("1.5"), /got '1.5'/);
    assert.throws(() => parseSeeds(""), /got ''/);
  });
});
