/**
 * `hub:ORG/NAME` wherever a backbone is named: npm run generate --model, the bench/grid/runCells pre-fetch
 * (fetchHubBackbones), backboneDir, cell checks (sharded hub weights count as weights), and the notebooks'
 * backboneInfo / mainBackbone (KIT_BACKBONE). Against the local fake hub.
 */
import { strict as assert } from "node:assert";
import { spawn } from "node:child_process";
import * as path from "node:path";
import { setupBackend } from "../helpers";
import { tinyFamilyDir } from "../backbone/family-fixtures";
import { cellProblems } from "../../lib/experiment/check-cells";
import { makeCell } from "../../lib/experiment/grid";
import { backboneDir, fetchHubBackbones } from "../../lib/experiment/project-paths";
import { backboneInfo, mainBackbone } from "../../lib/notebook/backbones";
import { startFakeHub, type FakeHub } from "./fake-hub";
import { REPO, SHARDED, SHARDED_COMMIT, llamaRepo, shardedRepo, tempHome, withEnv } from "./hub-fixtures";

/** Runs a node script without blocking this process (the fake hub lives here). */
function runNode(
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, args, { env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    p.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    p.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    p.on("close", (status) => resolve({ status, stdout, stderr }));
  });
}

describe("hub: backbones named hub:ORG/NAME in the CLI, grids and notebooks (local fake hub)", function () {
  this.timeout(120_000);
  let hub: FakeHub;
  before(async () => {
    await setupBackend();
    hub = await startFakeHub({ [REPO]: llamaRepo(), [SHARDED]: shardedRepo() });
  });
  after(async () => {
    await hub.close();
  });

  it("npm run generate --model hub:ID downloads (progress lines on a non-terminal stderr), then works offline, same output as the folder", async () => {
    const script = path.resolve(__dirname, "../../scripts/generate.js");
    const args = ["--ids", "3,4,5", "--max-new-tokens", "4", "--greedy", "--json", "--no-stop"];
    const home = tempHome();
    const env: NodeJS.ProcessEnv = { ...process.env, HF_ENDPOINT: hub.url, HF_HOME: home };
    delete env["HF_HUB_OFFLINE"];
    delete env["HF_HUB_CACHE"];
    const fromHub = await runNode([script, "--model", `hub:${REPO}`, ...args], env);
    assert.equal(fromHub.status, 0, fromHub.stderr);
    assert.match(fromHub.stderr, /kit-test\/tiny-llama\/model\.safetensors: [\d.]+ kB in [\d.]+ s/);
    const offline = await runNode([script, "--model", `hub:${REPO}`, ...args], { ...env, HF_HUB_OFFLINE: "1" });
    assert.equal(offline.status, 0, offline.stderr);
    const direct = await runNode([script, "--model", tinyFamilyDir("llama"), ...args], env);
    assert.equal(direct.status, 0, direct.stderr);
    assert.equal(fromHub.stdout, direct.stdout);
    assert.equal(offline.stdout, direct.stdout);
    const missing = await runNode([script, "--model", "hub:kit-test/absent", ...args], env);
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /^kit-test\/absent: repository not found \(HTTP 404\)/);
  });

  it("fetchHubBackbones fetches hub: names once; then backboneDir, cell checks and the notebooks' helpers need no request", async () => {
    const home = tempHome();
    hub.requests.length = 0;
    await withEnv({ HF_ENDPOINT: hub.url, HF_HOME: home, HF_HUB_DISABLE_PROGRESS_BARS: "1" }, async () => {
      const spec = `hub:${SHARDED}`;
      await fetchHubBackbones(["kit-nano", spec, spec]);
      const apiCalls = hub.requests.filter((r) => r.path.startsWith("/api/")).length;
      assert.equal(apiCalls, 1, "one repo, fetched once; kit-nano left alone");
      hub.requests.length = 0;
      const snap = path.join(home, "hub", "models--kit-test--tiny-sharded", "snapshots", SHARDED_COMMIT);
      assert.equal(backboneDir(spec), snap);
      assert.deepEqual(
        cellProblems([makeCell({ backbone: spec, task: "yelp", method: "zero-shot", seed: 0 })], { source: "test" }),
        [],
        "sharded weights count as a complete checkpoint",
      );
      const info = backboneInfo(spec);
      assert.equal(info.dir, snap);
      assert.equal(info.config.family, "llama");
      assert.equal(mainBackbone(true, { KIT_BACKBONE: spec }), spec);
      assert.equal(hub.requests.length, 0);
    });
  });
});
