/**
 * Offloaded experts: logits under every budget (100%, 50%, 25%, the minimum), eviction policy and schedule are
 * bitwise identical to the all-resident model, over repeated passes (cache hits, evictions, prefetches); the
 * prompt gradient under a budget matches the all-resident one; bad budgets and a file changed on disk are refused.
 */
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { tf } from "../../../lib/backend/backend";
import { loadCheckpoint, type LoadedBackbone } from "../../../lib/backbone/checkpoint";
import { loadOffloaded, parseExpertMemory } from "../../../lib/backbone/moe/offload";
import { fakeIds, setupBackend, bitwiseEqual, assertNoLeak } from "../../helpers";
import { tinyMoeCheckpoint } from "./fixture";

const B = 3;
const T = 10;

function batch(seed: number, vocab: number): { ids: Int32Array; mask: Float32Array } {
  const ids = fakeIds(B * T, vocab, seed);
  const mask = new Float32Array(B * T).fill(1);
  for (let t = 7; t < T; t++) mask[2 * T + t] = 0; // one padded row
  return { ids, mask };
}

function logits(b: LoadedBackbone, ids: Int32Array, mask: Float32Array): Float32Array {
  return tf.tidy(() => {
    const h = b.model.forwardEmbeddings(b.model.embed(ids, B, T), mask);
    return b.model.logits(tf.reshape(h, [B * T, -1])).dataSync() as Float32Array;
  });
}

/** d(sum of logits . fixed weights)/d(input embeddings) of the frozen model. */
function promptGrad(b: LoadedBackbone, ids: Int32Array, mask: Float32Array): Float32Array {
  return tf.tidy(() => {
    const x = b.model.embed(ids, B, T);
    const f = (xx: tf.Tensor) => {
      const h = b.model.forwardEmbeddings(xx as tf.Tensor3D, mask);
      const l = b.model.logits(tf.reshape(h, [B * T, -1]));
      return tf.sum(tf.mul(tf.logSoftmax(l), tf.sin(tf.range(0, l.size).reshape(l.shape))));
    };
    return tf.grad(f)(x).dataSync() as Float32Array;
  });
}

describe("offloaded experts", function () {
  this.timeout(60_000);
  let dir: string;
  let resident: LoadedBackbone;
  let minBytes: number;

  before(async () => {
    await setupBackend();
    dir = tinyMoeCheckpoint();
    resident = loadCheckpoint(dir);
    resident.model.freeze();
    const probe = loadOffloaded(dir, "100%");
    minBytes = probe.store.expertBytes;
    probe.store.close();
    probe.model.dispose();
  });

  after(() => {
    resident.model.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("gives bitwise the all-resident logits at every budget, policy and schedule, pass after pass", () => {
    const v = resident.config.vocabSize;
    const batches = [batch(1, v), batch(2, v), batch(3, v)];
    const want = batches.map((x) => logits(resident, x.ids, x.mask));
    for (const memory of ["100%", "50%", "25%", "min"]) {
      for (const [policy, schedule] of [
        ["lookahead", "overlap"],
        ["lru", "overlap"],
        ["lru", "naive"],
      ] as const) {
        const budget = memory === "min" ? String(minBytes) : memory;
        const off = loadOffloaded(dir, budget, { policy, schedule });
        assert.equal(off.fingerprint, resident.fingerprint, "the streamed fingerprint equals the resident one");
        for (let pass = 0; pass < 2; pass++) {
          batches.forEach((x, i) => {
            assert.ok(
              bitwiseEqual(logits(off, x.ids, x.mask), want[i]!),
              `${memory} ${policy}/${schedule} pass ${pass} batch ${i}: logits differ from all-resident`,
            );
          });
        }
        const st = off.store.stats;
        assert.ok(st.peakCacheBytes <= off.store.budgetBytes, `${memory}: cache ${st.peakCacheBytes} > budget`);
        if (memory === "100%") assert.equal(st.bytesRead, off.store.totalBytes, "100%: every expert read once");
        else assert.ok(st.evictions > 0, `${memory}: a smaller budget evicts`);
        off.store.close();
        off.model.dispose();
      }
    }
  });

  it("matches the all-resident prompt gradient under a 25% budget (experts re-read in the backward pass)", async () => {
    const v = resident.config.vocabSize;
    const x = batch(4, v);
    const want = promptGrad(resident, x.ids, x.mask);
    const off = loadOffloaded(dir, "25%");
    promptGrad(off, x.ids, x.mask); // fills the cache (and the frozen model's transposed output matrix) first
    await assertNoLeak("offloaded prompt gradient", () => {
      const got = promptGrad(off, x.ids, x.mask);
      let worst = 0;
      for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i]! - want[i]!));
      assert.ok(worst < 1e-5, `max |offloaded - resident| gradient = ${worst}`);
    });
    assert.ok(off.store.stats.peakCacheBytes <= off.store.budgetBytes);
    off.store.close();
    off.model.dispose();
  });

  it("npm run generate gives the same tokens with --expert-memory", () => {
    const script = path.resolve(__dirname, "../../../scripts/generate.js");
    const run = (extra: string[]) => {
      const r = spawnSync(
        process.execPath,
        [script, "--model", dir, "--ids", "5,9,12", "--max-new-tokens", "6", "--json", "--no-stop", ...extra],
        { encoding: "utf8", timeout: 60_000 },
      );
      assert.equal(r.status, 0, r.stderr);
      return { out: JSON.parse(r.stdout.trim()), err: r.stderr };
    };
    const all = run([]);
    const off = run(["--expert-memory", "25%"]);
    assert.deepEqual(off.out, all.out);
    assert.match(off.err, /experts: budget \d+ of \d+ bytes/);
    const bad = spawnSync(
      process.execPath,
      [script, "--model", dir, "--ids", "5", "--max-new-tokens", "2", "--expert-memory", "10"],
      { encoding: "utf8" },
    );
    assert.notEqual(bad.status, 0);
    assert.match(bad.stderr, /the minimum is \d+ bytes/);
  });

  it("refuses a budget below the largest expert, naming the minimum, and bad budget strings", () => {
    const min = minBytes;
    assert.throws(() => loadOffloaded(dir, String(min - 1)), new RegExp(`the minimum is ${min} bytes`));
    assert.throws(() => parseExpertMemory("lots", 100), /--expert-memory must be BYTES .* got "lots"/);
    assert.throws(() => parseExpertMemory("0%", 100), /percentage in \(0%, 100%\]/);
    assert.equal(parseExpertMemory("2KiB", 100), 2048);
    assert.equal(parseExpertMemory("50%", 1000), 500);
  });

  it("refuses to read experts from a file that changed on disk while offloaded", () => {
    const copy = tinyMoeCheckpoint();
    const off = loadOffloaded(copy, "25%");
    const v = off.config.vocabSize;
    const x = batch(1, v);
    logits(off, x.ids, x.mask);
    const file = path.join(copy, "model.safetensors");
    const later = new Date(Date.now() + 5000);
    fs.utimesSync(file, later, later);
    assert.throws(() => logits(off, x.ids, x.mask), /changed on disk .* refusing to read/);
    off.store.close();
    off.model.dispose();
    fs.rmSync(copy, { recursive: true, force: true });
  });

  it("refuses missing or mis-shaped expert tensors and a router that disagrees with num_experts", () => {
    const copy = tinyMoeCheckpoint();
    const cfgFile = path.join(copy, "config.json");
    const cfg = JSON.parse(fs.readFileSync(cfgFile, "utf8"));
    fs.writeFileSync(cfgFile, JSON.stringify({ ...cfg, num_experts: 5 }));
    assert.throws(() => loadCheckpoint(copy), /h\.0\.mlp\.router\.weight/);
    assert.throws(() => loadOffloaded(copy, "50%"), /h\.0\.mlp\.router\.weight/);
    fs.writeFileSync(cfgFile, JSON.stringify({ ...cfg, num_experts_per_tok: 3 }));
    assert.throws(() => loadCheckpoint(copy), /expertsPerToken must be 1 \(Switch\) or 2 \(GShard\)/);
    fs.writeFileSync(cfgFile, JSON.stringify({ ...cfg, n_inner: 24 }));
    assert.throws(() => loadCheckpoint(copy), /h\.0\.mlp\.experts\.0\.c_fc\.weight/);
    fs.rmSync(copy, { recursive: true, force: true });
  });
});
