import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { randomUniform } from "../../lib/prompt/initializers";
import { PromptLibrary } from "../../lib/prompt/library";
import { PromptSet } from "../../lib/prompt/soft-prompt";
import { setupBackend } from "../helpers";

const META = {
  task: "yelp",
  labels: ["negative", "positive"],
  settings: { length: 2, init: "random-uniform", position: "front" },
  backbone: { name: "kit-nano", fingerprint: "sha256:aaaa" },
  metrics: {},
};

/** A writer process: waits for `go`, then adds `n` prompts whose values encode (writer, i). */
const WRITER = `
const fs = require("node:fs");
const path = require("node:path");
const [lib, dir, writer, n, meta] = [process.argv[1], process.argv[2], Number(process.argv[3]), Number(process.argv[4]), JSON.parse(process.argv[5])];
(async () => {
  await require(path.join(lib, "backend/backend.js")).initBackend();
  const { PromptLibrary } = require(path.join(lib, "prompt/library.js"));
  const { PromptSet } = require(path.join(lib, "prompt/soft-prompt.js"));
  const library = new PromptLibrary(dir);
  fs.writeFileSync(path.join(dir, "..", "ready-" + writer), "");
  while (!fs.existsSync(path.join(dir, "..", "go"))) await new Promise((r) => setTimeout(r, 5));
  for (let i = 0; i < n; i++) {
    const p = PromptSet.fromArrays(new Map([["front", new Float32Array(8).fill(writer * 1000 + i)]]), 4, "random-uniform");
    library.add(p, { ...meta, metrics: { writer, i } });
    p.dispose();
  }
})().catch((err) => { console.error(err.message); process.exit(1); });
`;

function run(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["-e", WRITER, ...args], { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += d));
    child.on("close", (code) => resolve({ code, stderr }));
  });
}

describe("prompt library", function () {
  this.timeout(60000);
  before(setupBackend);

  it("keeps every entry when two processes add prompts at the same time", async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "kit-lib-race-"));
    const dir = path.join(root, "lib");
    fs.mkdirSync(dir);
    const libDir = path.resolve(__dirname, "../../lib");
    const N = 40;
    const done = [0, 1].map((w) => run([libDir, dir, String(w), String(N), JSON.stringify(META)]));
    const deadline = Date.now() + 30000;
    while (![0, 1].every((w) => fs.existsSync(path.join(root, `ready-${w}`))) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 10));
    fs.writeFileSync(path.join(root, "go"), "");
    const results = await Promise.all(done);
    results.forEach((r, w) => assert.equal(r.code, 0, `writer ${w} failed: ${r.stderr}`));

    const lib = new PromptLibrary(dir);
    const entries = lib.list();
    assert.equal(entries.length, 2 * N, "every addition is in the index");
    assert.equal(new Set(entries.map((e) => e.id)).size, 2 * N, "ids are unique");
    assert.equal(new Set(entries.map((e) => e.file)).size, 2 * N, "files are unique");
    for (const e of entries) {
      const { prompts } = lib.load(e.id, { name: "kit-nano", fingerprint: "sha256:aaaa", width: 4 });
      const want = e.metrics["writer"]! * 1000 + e.metrics["i"]!;
      assert.ok(
        prompts
          .arrays()
          .get("front")!
          .every((v) => v === want),
        `${e.file} holds another writer's prompt`,
      );
      prompts.dispose();
    }
    fs.rmSync(root, { recursive: true, force: true });
  });

  it("reads a library written with the older index.json, and appends new entries beside it", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kit-lib-legacy-"));
    const old = {
      ...META,
      id: "yelp-kit-nano-front-2-random-uniform",
      file: "yelp-kit-nano-front-2-random-uniform.safetensors",
      savedAt: "2026-01-01T00:00:00.000Z",
    };
    fs.writeFileSync(path.join(dir, "index.json"), JSON.stringify([old]));
    fs.writeFileSync(path.join(dir, old.file), "");
    const lib = new PromptLibrary(dir);
    assert.deepEqual(lib.list(), [old]);
    const p = PromptSet.create({ front: 2, middle: 0, back: 0 }, 4, randomUniform(0.5), "random-uniform", 1);
    const added = lib.add(p, META);
    p.dispose();
    assert.equal(added.id, `${old.id}-2`, "a listed id is not reused");
    assert.deepEqual(
      lib.list().map((e) => e.id),
      [old.id, added.id],
    );
    assert.ok(fs.existsSync(lib.indexPath()));
    fs.writeFileSync(path.join(dir, "index.json"), "{");
    assert.throws(() => lib.list(), /index.json: not valid JSON/);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
