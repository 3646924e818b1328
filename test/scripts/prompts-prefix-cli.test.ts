/** `npm run prompts -- export --prefix FILE` / `import ... --out FILE` as a user runs them (kit-nano's identity, no training). */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Rng, uniformArray } from "../../lib/backend/random";
import { projectRoot } from "../../lib/experiment/project-paths";
import { backboneInfo } from "../../lib/notebook/backbones";
import { PrefixEncoder, prefixShapeOf, tableSize } from "../../lib/prompt/prefix-encoder";
import { loadPrefix, savePrefix } from "../../lib/prompt/prefix-file";
import { setupBackend } from "../helpers";

const root = projectRoot();

function run(args: string[]): { rc: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [path.join(root, "build", "scripts", "prompts.js"), ...args], {
    cwd: root,
    encoding: "utf8",
    timeout: 60000,
  });
  return { rc: r.status, out: r.stdout, err: r.stderr };
}

describe("scripts: npm run prompts with prefix files (PEFT PREFIX_TUNING)", function () {
  this.timeout(120000);
  let dir = "";
  before(async function () {
    if (!fs.existsSync(path.join(root, "models", "kit-nano", "model.safetensors"))) this.skip();
    await setupBackend();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "kit-prefix-cli-"));
  });
  after(() => dir && fs.rmSync(dir, { recursive: true, force: true }));

  function prefixFile(name: string, positions: "from-0" | "after-prefix"): { file: string; table: Float32Array } {
    const info = backboneInfo("kit-nano");
    const shape = prefixShapeOf(info.config, 4);
    const table = uniformArray(new Rng(3), tableSize(shape), -1, 1);
    const enc = PrefixEncoder.fromTable(shape, table, positions);
    const file = path.join(dir, name);
    savePrefix(file, enc, {
      task: "yelp",
      labels: ["negative", "positive"],
      settings: { length: 4, init: "random-uniform", position: "key/value prefix (every layer)" },
      backbone: { name: "kit-nano", fingerprint: info.recordedFingerprint! },
      metrics: { accuracy: 0.7 },
      extra: { method: "prefix-tuning", positions },
    });
    enc.dispose();
    return { file, table };
  }

  it("exports a prefix file as a PEFT adapter and imports it back as a prefix file, bitwise", () => {
    const { file, table } = prefixFile("after.safetensors", "after-prefix");
    const out = path.join(dir, "adapter");
    let r = run(["export", "--prefix", file, "--out", out]);
    assert.equal(r.rc, 0, r.err);
    assert.equal(JSON.parse(fs.readFileSync(path.join(out, "adapter_config.json"), "utf8")).peft_type, "PREFIX_TUNING");
    const back = path.join(dir, "back.safetensors");
    r = run(["import", "--adapter", out, "--backbone", "kit-nano", "--out", back]);
    assert.equal(r.rc, 0, r.err);
    assert.match(r.out, /wrote .*back.safetensors \(yelp, 4 prefix rows/);
    const info = backboneInfo("kit-nano");
    const { length: _p, ...shape } = prefixShapeOf(info.config, 4);
    const got = loadPrefix(back, { name: "kit-nano", fingerprint: info.recordedFingerprint!, shape });
    assert.ok(Buffer.from(got.prefix.collapse().buffer).equals(Buffer.from(table.buffer)));
    assert.equal(got.prefix.positions, "after-prefix");
    got.prefix.dispose();
  });

  it("refuses a from-0 prefix, a missing --out and mixed flags with a message and exit code 1, no stack trace", () => {
    const { file } = prefixFile("from0.safetensors", "from-0");
    const adapter = path.join(dir, "adapter");
    const cases: [string[], RegExp][] = [
      [
        ["export", "--prefix", file, "--out", path.join(dir, "x")],
        /was trained with positions "from-0".*prefixPositions: "after-prefix"/s,
      ],
      [["export", "--out", path.join(dir, "y")], /give either --id ID \(a library entry\) or --prefix FILE/],
      [
        ["import", "--adapter", adapter, "--backbone", "kit-nano"],
        /PREFIX_TUNING adapter holds key\/value prefixes.*give --out FILE/,
      ],
      [
        ["import", "--adapter", adapter, "--backbone", "kit-nano", "--out", path.join(dir, "back.safetensors")],
        /already exists; refusing to overwrite a prefix file/,
      ],
    ];
    for (const [args, want] of cases) {
      const r = run(args);
      assert.equal(r.rc, 1, `${args.join(" ")}: exit ${r.rc}\n${r.err}`);
      assert.match(r.err, want, args.join(" "));
      assert.doesNotMatch(r.err, /\n\s+at /, "stack trace printed");
    }
  });
});
