import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import type { BackendInfo } from "../../lib/backend/backend";
import { kitVersion, runEnvironment } from "../../lib/experiment/environment";

describe("experiment/environment", () => {
  it("reports backend, kit, tfjs and node versions", () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, "..", "..", "..", "package.json"), "utf8")) as {
      version: string;
    };
    assert.equal(kitVersion(), pkg.version);
    const info: BackendInfo = { name: "wasm", version: "4.22.0", tfjsVersion: "4.22.0", chosenBy: "auto", skipped: [] };
    assert.deepEqual(runEnvironment(info, "native (libopenblas.so.0, 1 thread)"), {
      backend: { name: "wasm", version: "4.22.0", kernels: "native (libopenblas.so.0, 1 thread)" },
      versions: { kit: pkg.version, tfjs: "4.22.0", node: process.versions.node },
    });
  });
});
