import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { checkpointFilesIn, resolveOutputDir } from "../../lib/pretrain/output-dir";

describe("pretrain output folder", () => {
  let root = "";
  before(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), "kit-outdir-"));
    fs.mkdirSync(path.join(root, "models", "kit-nano"), { recursive: true });
    fs.writeFileSync(path.join(root, "models", "kit-nano", "model.safetensors"), "x");
    fs.mkdirSync(path.join(root, "empty"));
    fs.writeFileSync(path.join(root, "a-file"), "x");
  });
  after(() => fs.rmSync(root, { recursive: true, force: true }));
  const req = (out: string, runDir: string, overwrite = false) => ({
    out,
    runDir,
    overwrite,
    modelsDir: path.join(root, "models"),
  });

  it("defaults to <run-dir>/model and accepts a new or empty folder", () => {
    assert.equal(resolveOutputDir(req("", path.join(root, "runs", "x"))), path.join(root, "runs", "x", "model"));
    assert.equal(resolveOutputDir(req(path.join(root, "empty"), "r")), path.join(root, "empty"));
    assert.equal(
      resolveOutputDir(req(path.join(root, "models", "kit-tiny"), "r")),
      path.join(root, "models", "kit-tiny"),
      "a new folder under models/, named explicitly",
    );
  });

  it("refuses an implicit folder under models/ and any existing checkpoint without --overwrite", () => {
    assert.throws(
      () => resolveOutputDir(req("", path.join(root, "models", "kit-nano"))),
      /default output folder .*models\/kit-nano\/model lies under .*models \(shipped backbones\): name it explicitly with --out/,
    );
    assert.throws(
      () => resolveOutputDir(req(path.join(root, "models", "kit-nano"), "r")),
      /kit-nano already holds a checkpoint \(model\.safetensors\), a shipped backbone: pass --overwrite/,
    );
    assert.equal(
      resolveOutputDir(req(path.join(root, "models", "kit-nano"), "r", true)),
      path.join(root, "models", "kit-nano"),
    );
    assert.throws(
      () => resolveOutputDir(req(path.join(root, "a-file"), "r", true)),
      /--out .*a-file is a file, not a folder/,
    );
    assert.deepEqual(checkpointFilesIn(path.join(root, "models", "kit-nano")), ["model.safetensors"]);
    assert.deepEqual(checkpointFilesIn(path.join(root, "missing")), []);
  });
});
