import assert from "node:assert/strict";
import { backendInfo, backendLabel, initBackend, parseBackendName, tf } from "../../lib/backend/backend";
import { Rng } from "../../lib/backend/random";

describe("backend selection", () => {
  it("picks a backend and reports its name and version", async () => {
    const info = await initBackend();
    assert.equal(tf.getBackend(), info.name);
    assert.match(info.version, /^\d+\.\d+\.\d+/);
    assert.equal(backendInfo(), info);
    assert.ok(backendLabel().startsWith(info.name));
    if (!process.env.KIT_BACKEND) {
      // tfjs-node is an optional dependency: when it is absent, wasm must be chosen and the reason recorded.
      let hasNode = true;
      try {
        require.resolve("@tensorflow/tfjs-node");
      } catch {
        hasNode = false;
      }
      if (!hasNode) {
        assert.equal(info.name, "wasm");
        assert.ok(info.skipped.some((s) => s.startsWith("tensorflow:")));
      }
    }
  });

  it("parses KIT_BACKEND names and rejects unknown ones", () => {
    assert.equal(parseBackendName("node"), "tensorflow");
    assert.equal(parseBackendName(" WASM "), "wasm");
    assert.equal(parseBackendName("cpu"), "cpu");
    assert.throws(() => parseBackendName("gpu"), /KIT_BACKEND="gpu" is not a backend/);
  });

  it("can be forced to cpu and back", async () => {
    const original = backendInfo().name;
    const cpu = await initBackend("cpu");
    assert.equal(cpu.name, "cpu");
    assert.equal(cpu.chosenBy, "env");
    assert.equal(tf.getBackend(), "cpu");
    const back = await initBackend(original === "tensorflow" ? "node" : original);
    assert.equal(back.name, original);
  });
});

describe("Rng", () => {
  it("is deterministic per seed and treats 0 as a seed", () => {
    const a = new Rng(0);
    const b = new Rng(0);
    const c = new Rng(1);
    const xs = [a.next(), a.next(), a.next()];
    assert.deepEqual(xs, [b.next(), b.next(), b.next()]);
    assert.notDeepEqual(xs, [c.next(), c.next(), c.next()]);
    assert.ok(xs.every((x) => x >= 0 && x < 1));
  });

  it("draws roughly standard normals", () => {
    const r = new Rng(42);
    let s = 0;
    let s2 = 0;
    const n = 20000;
    for (let i = 0; i < n; i++) {
      const v = r.normal();
      s += v;
      s2 += v * v;
    }
    assert.ok(Math.abs(s / n) < 0.03);
    assert.ok(Math.abs(s2 / n - 1) < 0.05);
  });
});
