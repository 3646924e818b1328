/** `npm run prompts -- list|show|export|import` as a user runs it (child processes, kit-nano's identity, no training). */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { projectRoot } from "../../lib/experiment/project-paths";
import { backboneInfo } from "../../lib/notebook/backbones";
import { randomUniform } from "../../lib/prompt/initializers";
import { PromptLibrary } from "../../lib/prompt/library";
import { PromptSet } from "../../lib/prompt/soft-prompt";
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

describe("scripts: npm run prompts", function () {
  this.timeout(120000);
  let dir: string;
  let lib: PromptLibrary;
  before(async function () {
    if (!fs.existsSync(path.join(root, "models", "kit-nano", "model.safetensors"))) this.skip();
    await setupBackend();
    const info = backboneInfo("kit-nano");
    assert.ok(info.recordedFingerprint, "kit-nano records its fingerprint");
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "kit-prompts-cli-"));
    lib = new PromptLibrary(path.join(dir, "lib"));
    const meta = (position: string, accuracy: number) => ({
      task: "yelp",
      labels: ["negative", "positive"],
      settings: { length: 4, init: "random-uniform", position },
      backbone: { name: "kit-nano", fingerprint: info.recordedFingerprint! },
      metrics: { accuracy },
      extra: { method: "prompt-tuning" },
    });
    const f = PromptSet.create(
      { front: 4, middle: 0, back: 0 },
      info.config.dModel,
      randomUniform(0.5),
      "random-uniform",
      1,
    );
    const b = PromptSet.create(
      { front: 0, middle: 0, back: 4 },
      info.config.dModel,
      randomUniform(0.5),
      "random-uniform",
      2,
    );
    lib.add(f, meta("front", 0.8), { name: "yelp-front" });
    lib.add(b, meta("back", 0.7), { name: "yelp-back" });
    f.dispose();
    b.dispose();
  });

  it("lists, shows, exports and imports back bitwise", () => {
    const L = ["--library", lib.dir];
    let r = run(["list", ...L, "--metric", "accuracy", "--min", "0.75"]);
    assert.equal(r.rc, 0, r.err);
    assert.match(r.out, /^yelp-front {2}yelp {2}kit-nano sha256:/);
    assert.equal(r.out.trim().split("\n").length, 1);
    r = run(["show", ...L, "--id", "yelp-back"]);
    assert.equal(r.rc, 0, r.err);
    assert.equal(JSON.parse(r.out).settings.position, "back");
    const out = path.join(dir, "adapter");
    r = run(["export", ...L, "--id", "yelp-front", "--out", out]);
    assert.equal(r.rc, 0, r.err);
    assert.ok(fs.existsSync(path.join(out, "adapter_config.json")));
    r = run(["import", ...L, "--adapter", out, "--backbone", "kit-nano", "--name", "yelp-front-again"]);
    assert.equal(r.rc, 0, r.err);
    const fp = backboneInfo("kit-nano").recordedFingerprint!;
    const id = { name: "kit-nano", fingerprint: fp, width: backboneInfo("kit-nano").config.dModel };
    const a = lib.load("yelp-front", id).prompts.arrays().get("front")!;
    const b = lib.load("yelp-front-again", id).prompts.arrays().get("front")!;
    assert.ok(Buffer.from(a.buffer).equals(Buffer.from(b.buffer)));
  });

  it("refuses bad commands, flags and prompts with a message and exit code 1, no stack trace", () => {
    const L = ["--library", lib.dir];
    const cases: [string[], RegExp][] = [
      [["frobnicate"], /unknown command 'frobnicate': expected one of list, show, export, import/],
      [["list", ...L, "--colour", "red"], /unknown option --colour/],
      [["list", ...L, "--min", "0.5"], /--min \/ --max need --metric NAME/],
      [["list", ...L, "--min", "high", "--metric", "accuracy"], /option --min: expected a number, got 'high'/],
      [["list", ...L, "--since", "yesterday"], /since must be an ISO 8601 date/],
      [["show", ...L], /missing --id/],
      [["show", ...L, "--id", "nope"], /no prompt with id 'nope' \(\d+ entries/],
      [
        ["export", ...L, "--id", "yelp-back", "--out", path.join(dir, "x")],
        /position 'back' cannot be exported as a PEFT PROMPT_TUNING adapter/,
      ],
      [["import", ...L, "--adapter", path.join(dir, "none"), "--backbone", "kit-nano"], /none: no such folder/],
      [
        ["import", ...L, "--adapter", path.join(dir, "adapter"), "--backbone", "kit-nano", "--name", "../evil"],
        /prompt name must be/,
      ],
      [
        ["import", ...L, "--adapter", path.join(dir, "adapter"), "--backbone", "kit-nano", "--task", "yelpp"],
        /--task: unknown task 'yelpp'/,
      ],
    ];
    for (const [args, want] of cases) {
      const r = run(args);
      assert.equal(r.rc, 1, `${args.join(" ")}: exit ${r.rc}\n${r.err}`);
      assert.match(r.err, want, args.join(" "));
      assert.doesNotMatch(r.err, /\n\s+at /, "stack trace printed");
    }
  });

  it("refuses an adapter for another backbone, naming both", function () {
    if (!fs.existsSync(path.join(root, "models", "kit-small", "model.safetensors"))) this.skip();
    const r = run(["import", "--library", lib.dir, "--adapter", path.join(dir, "adapter"), "--backbone", "kit-small"]);
    assert.equal(r.rc, 1);
    assert.match(r.err, /base_model_name_or_path' is "kit-nano", but the loaded backbone is "kit-small"/);
  });
});
