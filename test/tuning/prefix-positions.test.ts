/**
 * Prefix positions: "from-0" (the default, unchanged) or "after-prefix" (the real tokens at P, P+1, ... as Hugging Face
 * numbers them after PEFT's prefix). The forward pass, the cell option (a default-valued option leaves cell ids as
 * they were), the method, the prompt model's save/load and the prefix file.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { tf } from "../../lib/backend/backend";
import { Rng, uniformArray } from "../../lib/backend/random";
import { checkOptionsForMethod, CELL_DEFAULTS } from "../../lib/experiment/cell-options";
import { makeCell } from "../../lib/experiment/grid";
import { validateRecord } from "../../lib/experiment/record";
import { resolveCellOptions, runCell } from "../../lib/experiment/run-cell";
import { readSafetensorsFile, writeSafetensorsFile } from "../../lib/io/safetensors";
import { PrefixEncoder, prefixShapeOf, tableSize } from "../../lib/prompt/prefix-encoder";
import { loadPrefix, savePrefix } from "../../lib/prompt/prefix-file";
import { loadPromptModel } from "../../lib/prompt-model/load-prompt-model";
import { prefixTuning, promptTuning } from "../../lib/prompt-model/prompt-model";
import type { Tuned } from "../../lib/tuning/method";
import { getMethod } from "../../lib/tuning/methods";
import { positionsFromMask } from "../../lib/backbone/transformer";
import { setupBackend } from "../helpers";
import { loadTiny, tinyCheckpointDir } from "./fixture";

describe("prefix positions (from-0 | after-prefix)", function () {
  this.timeout(60000);
  before(setupBackend);

  it('"after-prefix" numbers the real tokens P.. (as explicit positions would), "from-0" 0..; past maxLen is refused', () => {
    const b = loadTiny(); // maxLen 96
    try {
      b.model.freeze();
      const shape = prefixShapeOf(b.config, 3);
      const data = uniformArray(new Rng(5), tableSize(shape), -1, 1);
      const ids = Int32Array.from([7, 8, 9, 10, 0, 11, 12, 0, 0, 0]); // two rows, right padding
      const mask = Float32Array.from([1, 1, 1, 1, 0, 1, 1, 0, 0, 0]);
      const run = (enc: PrefixEncoder, positions?: Int32Array) =>
        tf.tidy(() =>
          Array.from(
            b.model
              .forwardEmbeddings(b.model.embed(ids, 2, 5), mask, {
                prefix: enc.prefix(),
                ...(positions ? { positions } : {}),
              })
              .dataSync(),
          ),
        );
      const after = PrefixEncoder.fromTable(shape, data, "after-prefix");
      const from0 = PrefixEncoder.fromTable(shape, data);
      assert.equal(from0.positions, "from-0", "the default");
      const shifted = positionsFromMask(mask, 2, 5).map((p) => p + 3);
      const a = run(after);
      const z = run(from0);
      assert.deepEqual(a, run(from0, shifted), "after-prefix = positions P..");
      const moved = a.reduce((m, x, i) => Math.max(m, Math.abs(x - z[i]!)), 0);
      assert.ok(moved > 1e-4, `the numbering changes the output (by ${moved})`);
      const long = PrefixEncoder.fromTable(
        prefixShapeOf(b.config, 94),
        uniformArray(new Rng(1), tableSize(prefixShapeOf(b.config, 94)), -1, 1),
        "after-prefix",
      );
      assert.throws(
        () => run(long),
        /a key\/value prefix of 94 rows numbers the real tokens after it \("after-prefix"\), so the last one is at position 97, past the model's maxLen 96/,
      );
      assert.throws(
        () => PrefixEncoder.fromTable(shape, data, "after" as never),
        /prefix positions must be one of from-0, after-prefix, got "after"/,
      );
      [after, from0, long].forEach((e) => e.dispose());
    } finally {
      b.model.dispose();
    }
  });

  it("cell option prefixPositions: default from-0 leaves cell ids unchanged; checked by name; prefix-tuning only", () => {
    // ids of cells that do not give the option are what they were before it existed
    assert.equal(
      makeCell({
        backbone: "kit-nano",
        task: "yelp",
        method: "prefix-tuning",
        seed: 0,
        options: { steps: 200, prefixProjection: true },
      }).cellId,
      "614bc4fb4c53f82c",
    );
    assert.equal(
      makeCell({ backbone: "kit-nano", task: "yelp", method: "prompt-tuning", seed: 1, options: {} }).cellId,
      "64bf4451fe5ef261",
    );
    assert.equal(CELL_DEFAULTS.prefixPositions, "from-0");
    const where = "grid.json: cell 0";
    assert.equal(resolveCellOptions({}, where).prefixPositions, "from-0");
    assert.throws(
      () => resolveCellOptions({ prefixPositions: "after" }, where),
      /cell 0: option prefixPositions must be one of from-0, after-prefix, got "after"/,
    );
    const check = (method: string, options: Record<string, unknown>) =>
      checkOptionsForMethod(resolveCellOptions(options, where), getMethod(method), where);
    check("prefix-tuning", { prefixPositions: "after-prefix" });
    check("prompt-tuning", { prefixPositions: "from-0" });
    assert.throws(
      () => check("prompt-tuning", { prefixPositions: "after-prefix" }),
      /option prefixPositions applies only to method prefix-tuning, got 'prompt-tuning'/,
    );
  });

  it("a cell with prefixPositions after-prefix trains and evaluates with it", async () => {
    const b = loadTiny();
    try {
      const got: { positions?: string } = {};
      const options = {
        steps: 2,
        batchSize: 4,
        evalEvery: 2,
        maxDev: 8,
        maxTest: 8,
        promptLength: 3,
        warmupSteps: 1,
        prefixPositions: "after-prefix",
      };
      const cell = makeCell({ backbone: tinyCheckpointDir(), task: "yelp", method: "prefix-tuning", seed: 0, options });
      const rec = await runCell(cell, { onTrained: (t: Tuned) => (got.positions = t.prefix!.positions) }, b);
      validateRecord(rec, "after-prefix record");
      assert.equal(got.positions, "after-prefix");
    } finally {
      b.model.dispose();
    }
  });

  it("a prompt model keeps its positions through save and load; the option is prefix-only and checked", async () => {
    const b = loadTiny();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kit-prefix-pos-"));
    try {
      const m = prefixTuning(b, { length: 3, positions: "after-prefix", seed: 2 });
      await m.fit("yelp", { steps: 1, batchSize: 4, evalEvery: 1, maxDev: 4, warmupSteps: 0 });
      const file = path.join(dir, "p.safetensors");
      m.save(file);
      const texts = ["the film was good", "bad and boring", "great food"];
      const loaded = loadPromptModel(b, file);
      assert.equal(loaded.prefixEncoder().positions, "after-prefix");
      assert.equal(loaded.meta().extra?.["positions"], "after-prefix");
      assert.deepEqual(loaded.predict(texts), m.predict(texts));
      assert.throws(
        () => prefixTuning(b, { positions: "later" as never }),
        /prefix-tuning: positions must be one of from-0, after-prefix/,
      );
      assert.throws(() => promptTuning(b, { positions: "after-prefix" } as never), /positions/);
      // a prefix file with positions the kit does not know is refused, naming them
      const { tensors, metadata } = readSafetensorsFile(file);
      const dims = JSON.parse(metadata["kit_prefix"]!) as Record<string, unknown>;
      const bad = path.join(dir, "bad.safetensors");
      writeSafetensorsFile(bad, tensors as never, {
        ...metadata,
        kit_prefix: JSON.stringify({ ...dims, positions: "middle" }),
      });
      const { length: _p, ...shape } = prefixShapeOf(b.config, 3);
      assert.throws(
        () => loadPrefix(bad, { name: b.name, fingerprint: b.fingerprint, shape }),
        /bad.safetensors: prefix positions "middle" are not ones this kit knows \(expected one of "from-0", "after-prefix"\)/,
      );
      // files without the option say from-0 and load as before
      const enc = PrefixEncoder.fromTable(
        prefixShapeOf(b.config, 3),
        new Float32Array(tableSize(prefixShapeOf(b.config, 3))),
      );
      const old = path.join(dir, "old.safetensors");
      savePrefix(old, enc, loaded.meta());
      enc.dispose();
      const back = loadPrefix(old, { name: b.name, fingerprint: b.fingerprint, shape });
      assert.equal(back.prefix.positions, "from-0");
      back.prefix.dispose();
      [m, loaded].forEach((x) => x.dispose());
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
      b.model.dispose();
    }
  });
});
