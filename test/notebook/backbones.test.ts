import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { loadCheckpoint } from "../../lib/backbone/checkpoint";
import { nonEmbeddingParams } from "../../lib/backbone/config";
import { backboneInfo, mainBackbone, scaleBackbones, shippedBackbones } from "../../lib/notebook/backbones";
import { setupBackend } from "../helpers";
import { tinyCheckpointDir } from "../tuning/fixture";
import { installCheckpoint, tempDir } from "./fixtures";

describe("notebook backbones", function () {
  this.timeout(30000);
  let root: string;
  before(async () => {
    await setupBackend();
    root = tempDir("kit-nb-backbones-");
    for (const name of ["kit-base", "zzz-custom", "kit-nano", "aaa"])
      installCheckpoint(tinyCheckpointDir(), root, name);
    fs.mkdirSync(path.join(root, "models", "incomplete"), { recursive: true });
    fs.copyFileSync(
      path.join(tinyCheckpointDir(), "config.json"),
      path.join(root, "models", "incomplete", "config.json"),
    );
  });
  after(() => fs.rmSync(root, { recursive: true, force: true }));

  it("lists complete checkpoint folders, kit sizes first in size order, then others by name", () => {
    assert.deepEqual(shippedBackbones(root), ["kit-nano", "kit-base", "aaa", "zzz-custom"]);
    assert.deepEqual(shippedBackbones(tempDir("kit-nb-empty-")), []);
  });

  it("reads size and recorded fingerprint without loading weights", () => {
    const info = backboneInfo("kit-nano", root);
    assert.equal(info.config.dModel, 16);
    assert.equal(info.nonEmbeddingParams, nonEmbeddingParams(info.config));
    assert.ok(info.totalParams > info.nonEmbeddingParams);
    const loaded = loadCheckpoint(path.join(root, "models", "kit-nano"));
    assert.equal(info.recordedFingerprint, loaded.fingerprint);
    loaded.model.dispose();
  });

  it("names the folder and the shipped backbones when one is missing or incomplete", () => {
    assert.throws(
      () => backboneInfo("kit-small", root),
      /models\/kit-small is not a complete checkpoint folder.*shipped: kit-nano, kit-base, aaa, zzz-custom/,
    );
    assert.throws(() => backboneInfo("incomplete", root), /incomplete is not a complete checkpoint folder/);
  });

  it("plans a size study: quick = smallest shipped, full = every kit size with the missing ones listed", () => {
    assert.deepEqual(scaleBackbones(true, root), { use: ["kit-nano"], missing: [] });
    assert.deepEqual(scaleBackbones(false, root), {
      use: ["kit-nano", "kit-base"],
      missing: ["kit-micro", "kit-small"],
    });
    assert.throws(() => scaleBackbones(false, tempDir("kit-nb-none-")), /no backbone in .*models: pre-train one first/);
  });
});

describe("notebook mainBackbone", function () {
  this.timeout(30000);
  let root: string;
  before(async () => {
    await setupBackend();
    root = tempDir("kit-nb-main-");
    installCheckpoint(tinyCheckpointDir(), root, "kit-nano");
  });
  after(() => fs.rmSync(root, { recursive: true, force: true }));

  it("quick: kit-nano; full: kit-small; KIT_BACKBONE overrides; a missing one is named", () => {
    assert.equal(mainBackbone(true, {}, root), "kit-nano");
    assert.equal(mainBackbone(false, { KIT_BACKBONE: "kit-nano" }, root), "kit-nano");
    assert.throws(
      () => mainBackbone(false, {}, root),
      /models\/kit-small is not a complete checkpoint folder.*shipped: kit-nano.*set KIT_BACKBONE=<name>/,
    );
    assert.throws(
      () => mainBackbone(true, { KIT_BACKBONE: "kit-huge" }, root),
      /kit-huge is not a complete checkpoint folder/,
    );
  });
});
