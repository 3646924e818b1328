/**
 * Fetching checkpoints from a Hugging Face hub: against a local fake hub (fake-hub.ts) with HF_ENDPOINT and HF_HOME
 * pointed at it and at a temp folder. Covers the cache layout huggingface_hub writes, reuse without requests, the
 * LFS redirect, 404s, a dropped connection resumed with Range (in one process and across processes), a corrupted
 * file refused, HF_HUB_OFFLINE, HF_TOKEN, sharded weights, and logits equal to loading the folder directly.
 */
import { strict as assert } from "node:assert";
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { tf } from "../../lib/backend/backend";
import { loadCheckpoint, type LoadedBackbone } from "../../lib/backbone/checkpoint";
import { fromPretrained } from "../../lib/backbone/from-pretrained";
import { fetchCheckpoint } from "../../lib/backbone/hub-checkpoint";
import { resolveHubSpec } from "../../lib/backbone/hub-cache";
import { fetchFile } from "../../lib/hub/fetch-file";
import { makeProgress } from "../../lib/hub/progress";
import { hubSettings } from "../../lib/hub/settings";
import { setupBackend } from "../helpers";
import { tinyFamilyDir } from "../backbone/family-fixtures";
import { gitSha1, sha256, startFakeHub, type FakeHub, type FakeRepo } from "./fake-hub";
import { COMMIT, FAST, NO_OUTPUT, REPO, SHARDED, llamaRepo, shardedRepo, tempHome, withEnv } from "./hub-fixtures";

function logitsOf(b: LoadedBackbone, ids: number[]): Float32Array {
  return tf.tidy(() => {
    const x = b.model.embed(Int32Array.from(ids), 1, ids.length);
    const h = b.model.forwardEmbeddings(x, new Float32Array(ids.length).fill(1));
    return b.model.logits(h.reshape([ids.length, -1]) as tf.Tensor2D).dataSync() as Float32Array;
  });
}

describe("hub: fetching checkpoints from a Hugging Face hub (local fake hub)", function () {
  this.timeout(60_000);
  let hub: FakeHub;
  let repo: FakeRepo;
  before(async () => {
    await setupBackend();
    repo = llamaRepo();
    hub = await startFakeHub({ [REPO]: repo, [SHARDED]: shardedRepo() });
  });
  after(async () => {
    await hub.close();
  });
  beforeEach(() => {
    hub.requests.length = 0;
    hub.requireToken(null);
  });
  const safetensorsSha = (): string => sha256(repo.files.get("model.safetensors")!);

  it("downloads only the checkpoint's files into huggingface_hub's layout; the LFS file through its redirect; logits equal the folder's", async () => {
    const home = tempHome();
    await withEnv({ HF_ENDPOINT: hub.url, HF_HOME: home }, async () => {
      const b = await fromPretrained(REPO, FAST);
      const folder = path.join(home, "hub", "models--kit-test--tiny-llama");
      assert.equal(
        fs.readFileSync(path.join(folder, "refs", "main"), "utf8"),
        COMMIT,
        "refs/main holds the commit, no newline",
      );
      const snap = path.join(folder, "snapshots", COMMIT);
      assert.equal(b.dir, snap);
      assert.deepEqual(fs.readdirSync(snap).sort(), [
        "config.json",
        "generation_config.json",
        "model.safetensors",
        "tokenizer.json",
      ]);
      for (const f of fs.readdirSync(snap)) {
        const bytes = repo.files.get(f)!;
        const etag = f.endsWith(".safetensors") ? sha256(bytes) : gitSha1(bytes);
        assert.equal(
          fs.readlinkSync(path.join(snap, f)),
          path.join("..", "..", "blobs", etag),
          `${f} links to its blob by etag`,
        );
        assert.deepEqual(fs.readFileSync(path.join(folder, "blobs", etag)), bytes);
      }
      assert.deepEqual(
        fs.readdirSync(path.join(folder, "blobs")).filter((f) => f.endsWith(".incomplete")),
        [],
      );
      const paths = hub.requests.map((r) => `${r.method} ${r.path}`);
      assert.ok(paths.includes(`GET /api/models/${REPO}/revision/main`));
      assert.ok(paths.includes(`HEAD /${REPO}/resolve/${COMMIT}/model.safetensors`));
      assert.ok(paths.includes(`GET /cdn/${safetensorsSha()}`), "the weights came through the 302 to the CDN path");
      assert.ok(
        !paths.some((p) => /pytorch_model\.bin|\.gitattributes|README/.test(p)),
        `no other file requested: ${paths}`,
      );

      const direct = loadCheckpoint(tinyFamilyDir("llama"));
      assert.equal(b.fingerprint, direct.fingerprint);
      const ids = [3, 17, 5, 42, 8, 1];
      assert.deepEqual(logitsOf(b, ids), logitsOf(direct, ids), "same logits as loading the folder directly");
      b.model.dispose();
      direct.model.dispose();

      hub.requests.length = 0;
      const again = await fromPretrained(`hub:${REPO}`, FAST);
      assert.equal(hub.requests.length, 0, "a complete cached snapshot is used with no request");
      assert.equal(again.name, "tiny-llama");
      again.model.dispose();
    });
  });

  it("reuses a cache laid out as huggingface_hub writes it (blobs by sha256, relative symlinks, refs) with no request", async () => {
    const home = tempHome();
    const folder = path.join(home, "hub", "models--kit-test--tiny-llama");
    const snap = path.join(folder, "snapshots", COMMIT);
    fs.mkdirSync(path.join(folder, "blobs"), { recursive: true });
    fs.mkdirSync(snap, { recursive: true });
    fs.mkdirSync(path.join(folder, "refs"));
    for (const f of ["config.json", "tokenizer.json", "model.safetensors"]) {
      const bytes = repo.files.get(f)!;
      const etag = f.endsWith(".safetensors") ? sha256(bytes) : gitSha1(bytes);
      fs.writeFileSync(path.join(folder, "blobs", etag), bytes);
      fs.symlinkSync(`../../blobs/${etag}`, path.join(snap, f));
    }
    fs.writeFileSync(path.join(folder, "refs", "main"), COMMIT);
    await withEnv({ HF_ENDPOINT: hub.url, HF_HOME: home }, async () => {
      const b = await fromPretrained(REPO, FAST);
      assert.equal(b.dir, snap);
      b.model.dispose();
      const c = loadCheckpoint(`hub:${REPO}@${COMMIT}`);
      c.model.dispose();
    });
    assert.equal(hub.requests.length, 0);
  });

  it("a 404 names the repo (suggesting the id or HF_TOKEN), the revision, or the file", async () => {
    await withEnv({ HF_ENDPOINT: hub.url, HF_HOME: tempHome() }, async () => {
      await assert.rejects(
        fromPretrained("kit-test/no-such-model", FAST),
        /kit-test\/no-such-model: repository not found \(HTTP 404\) at http:\/\/127\.0\.0\.1:\d+: check the id .*set HF_TOKEN if it is private or gated/,
      );
      await assert.rejects(
        fromPretrained(`hub:${REPO}@v9`, FAST),
        /kit-test\/tiny-llama: revision "v9" not found \(HTTP 404\).*check the branch, tag or commit/,
      );
      const settings = hubSettings(process.env);
      await assert.rejects(
        fetchFile({ settings, repo: REPO, commit: COMMIT, progress: NO_OUTPUT }, "vocab.json"),
        /kit-test\/tiny-llama: file vocab\.json not found at revision 1{40} \(HTTP 404\)/,
      );
    });
  });

  it("a connection dropped mid-file resumes with Range and ends with the correct file", async () => {
    const home = tempHome();
    const size = repo.files.get("model.safetensors")!.length;
    hub.dropAfter(safetensorsSha(), Math.floor(size / 3));
    await withEnv({ HF_ENDPOINT: hub.url, HF_HOME: home }, async () => {
      const got = await fetchCheckpoint(REPO, FAST);
      const cdn = hub.requests.filter((r) => r.path.startsWith("/cdn/"));
      assert.equal(cdn.length, 2, "one dropped request, one resumed");
      assert.equal(cdn[0]!.range, null);
      assert.equal(cdn[1]!.range, `bytes=${Math.floor(size / 3)}-`);
      assert.deepEqual(fs.readFileSync(path.join(got.dir, "model.safetensors")), repo.files.get("model.safetensors"));
    });
  });

  it("a download that keeps failing leaves blobs/<etag>.incomplete, which the next process resumes from", async () => {
    const home = tempHome();
    const size = repo.files.get("model.safetensors")!.length;
    const cut = Math.floor(size / 2);
    hub.dropAfter(safetensorsSha(), cut, 2);
    await withEnv({ HF_ENDPOINT: hub.url, HF_HOME: home }, async () => {
      await assert.rejects(
        fetchCheckpoint(REPO, { ...FAST, retries: 1 }),
        new RegExp(
          `${REPO}/model\\.safetensors: the download failed 2 times .*the ${cut} bytes received are kept in .*${safetensorsSha()}\\.incomplete`,
        ),
      );
      const part = path.join(home, "hub", "models--kit-test--tiny-llama", "blobs", `${safetensorsSha()}.incomplete`);
      assert.equal(fs.statSync(part).size, cut);
      assert.ok(
        !fs.existsSync(path.join(home, "hub", "models--kit-test--tiny-llama", "refs", "main")),
        "no ref to an incomplete snapshot",
      );
      hub.requests.length = 0;
      // A fresh call (all state on disk, as after a restart) resumes from the kept bytes.
      const got = await fetchCheckpoint(REPO, FAST);
      const cdn = hub.requests.filter((r) => r.path.startsWith("/cdn/"));
      assert.deepEqual(
        cdn.map((r) => r.range),
        [`bytes=${cut}-`],
      );
      assert.deepEqual(fs.readFileSync(path.join(got.dir, "model.safetensors")), repo.files.get("model.safetensors"));
      assert.ok(!fs.existsSync(part));
    });
  });

  it("a corrupted file (wrong sha256) is refused, named with both hashes, and not left in the cache", async () => {
    const home = tempHome();
    const hubBad = await startFakeHub({ [REPO]: repo });
    hubBad.corrupt(safetensorsSha());
    try {
      await withEnv({ HF_ENDPOINT: hubBad.url, HF_HOME: home }, async () => {
        await assert.rejects(
          fromPretrained(REPO, FAST),
          new RegExp(
            `kit-test/tiny-llama/model\\.safetensors: the downloaded file is corrupt: sha256 expected ${safetensorsSha()}, got [0-9a-f]{64}; deleted it`,
          ),
        );
      });
    } finally {
      await hubBad.close();
    }
    const folder = path.join(home, "hub", "models--kit-test--tiny-llama");
    assert.deepEqual(
      fs.readdirSync(path.join(folder, "blobs")).filter((f) => f.startsWith(safetensorsSha())),
      [],
    );
    assert.ok(!fs.existsSync(path.join(folder, "snapshots", COMMIT, "model.safetensors")));
    assert.ok(!fs.existsSync(path.join(folder, "refs", "main")));
  });

  it("HF_HUB_OFFLINE=1: no request; an empty or incomplete cache is refused naming what is missing; a full one loads", async () => {
    const home = tempHome();
    await withEnv({ HF_ENDPOINT: hub.url, HF_HOME: home, HF_HUB_OFFLINE: "1" }, async () => {
      await assert.rejects(
        fromPretrained(REPO, FAST),
        /hub:kit-test\/tiny-llama: HF_HUB_OFFLINE is set, so nothing is downloaded, and revision main is not in the cache .*refs.main does not exist/,
      );
      assert.throws(() => resolveHubSpec(`hub:${REPO}`), /HF_HUB_OFFLINE is set/);
    });
    assert.equal(hub.requests.length, 0);
    await withEnv({ HF_ENDPOINT: hub.url, HF_HOME: home }, () => fetchCheckpoint(REPO, FAST));
    hub.requests.length = 0;
    const snap = path.join(home, "hub", "models--kit-test--tiny-llama", "snapshots", COMMIT);
    await withEnv({ HF_ENDPOINT: hub.url, HF_HOME: home, HF_HUB_OFFLINE: "true" }, async () => {
      const b = await fromPretrained(REPO, FAST);
      b.model.dispose();
      fs.rmSync(path.join(snap, "tokenizer.json"));
      await assert.rejects(fromPretrained(REPO, FAST), /the cached snapshot .*1{40} lacks tokenizer\.json/);
    });
    assert.equal(hub.requests.length, 0);
  });

  it("HF_TOKEN is sent as Authorization to the hub (not to the CDN); a 401 says to set HF_TOKEN and never prints a token", async () => {
    hub.requireToken("hf_secret_123");
    await withEnv({ HF_ENDPOINT: hub.url, HF_HOME: tempHome() }, async () => {
      await assert.rejects(
        fromPretrained(REPO, FAST),
        /access denied \(HTTP 401\); it may be gated or private: .*set HF_TOKEN/,
      );
      await assert.rejects(
        fromPretrained("kit-test/private-or-absent", FAST),
        /kit-test\/private-or-absent: repository not found or private \(HTTP 401\) .*check the id .*set HF_TOKEN/,
      );
    });
    await withEnv({ HF_ENDPOINT: hub.url, HF_HOME: tempHome(), HF_TOKEN: "hf_wrong_456" }, async () => {
      await assert.rejects(fromPretrained(REPO, FAST), (err: Error) => {
        assert.match(err.message, /the token in HF_TOKEN was refused/);
        assert.ok(!err.message.includes("hf_wrong_456"), "the token is not printed");
        return true;
      });
    });
    hub.requests.length = 0;
    await withEnv({ HF_ENDPOINT: hub.url, HF_HOME: tempHome(), HF_TOKEN: "hf_secret_123" }, async () => {
      (await fromPretrained(REPO, FAST)).model.dispose();
    });
    const toHub = hub.requests.filter((r) => !r.path.startsWith("/cdn/"));
    assert.ok(toHub.length >= 5);
    for (const r of toHub) assert.equal(r.authorization, "Bearer hf_secret_123", `${r.method} ${r.path}`);
    const toCdn = hub.requests.filter((r) => r.path.startsWith("/cdn/"));
    assert.ok(toCdn.length >= 1);
    for (const r of toCdn)
      assert.equal(r.authorization, null, "the token does not follow the redirect to another host");
  });

  it("sharded weights: the index, then every shard it names; loads the same model", async () => {
    await withEnv({ HF_ENDPOINT: hub.url, HF_HOME: tempHome() }, async () => {
      const got = await fetchCheckpoint(SHARDED, FAST);
      assert.deepEqual([...got.downloaded].sort(), [
        "config.json",
        "model-00001-of-00002.safetensors",
        "model-00002-of-00002.safetensors",
        "model.safetensors.index.json",
        "tokenizer.json",
      ]);
      const b = loadCheckpoint(`hub:${SHARDED}`);
      const direct = loadCheckpoint(tinyFamilyDir("llama"));
      assert.equal(b.fingerprint, direct.fingerprint);
      b.model.dispose();
      direct.model.dispose();
    });
  });

  it("two fetches of one model at once download each blob once; a lock left by a dead process is taken over", async () => {
    const home = tempHome();
    await withEnv({ HF_ENDPOINT: hub.url, HF_HOME: home }, async () => {
      const [a, b] = await Promise.all([fetchCheckpoint(REPO, FAST), fetchCheckpoint(REPO, FAST)]);
      assert.equal(a.dir, b.dir);
      assert.equal(
        hub.requests.filter((r) => r.path.startsWith("/cdn/")).length,
        1,
        "the second waited, then reused the blob",
      );
      assert.deepEqual(fs.readFileSync(path.join(a.dir, "model.safetensors")), repo.files.get("model.safetensors"));
    });
    const home2 = tempHome();
    const blobs = path.join(home2, "hub", "models--kit-test--tiny-llama", "blobs");
    fs.mkdirSync(blobs, { recursive: true });
    const dead = spawnSync(process.execPath, ["-e", "0"]).pid!; // a pid that has exited
    fs.writeFileSync(path.join(blobs, `${safetensorsSha()}.kit-lock`), `${os.hostname()} ${dead}\n`);
    await withEnv({ HF_ENDPOINT: hub.url, HF_HOME: home2 }, async () => {
      const got = await fetchCheckpoint(REPO, FAST);
      assert.ok(fs.existsSync(path.join(got.dir, "model.safetensors")));
    });
    assert.deepEqual(
      fs.readdirSync(blobs).filter((f) => f.endsWith(".kit-lock")),
      [],
    );
  });

  it("an ORG/NAME that is neither a folder nor on the hub says both; bad options are named", async () => {
    await withEnv({ HF_ENDPOINT: hub.url, HF_HOME: tempHome() }, async () => {
      await assert.rejects(
        fromPretrained("kit-test/nowhere", FAST),
        /repository not found .*\(read as a hub repo id: there is no folder .*kit-test.nowhere\)/,
      );
      await assert.rejects(fromPretrained("./no/such/dir", FAST), /neither a folder nor a hub repo id/);
      await assert.rejects(
        fromPretrained(REPO, { retries: -1 }),
        /fromPretrained option retries must be a non-negative integer, got -1/,
      );
      await assert.rejects(
        fromPretrained(REPO, { progres: "none" } as never),
        /fromPretrained options: unknown option 'progres' \(known: revision, progress/,
      );
      await assert.rejects(
        fromPretrained(REPO, { progress: "loud" } as never),
        /fromPretrained option progress must be one of/,
      );
    });
  });

  it("progress: one line per file when stderr is not a terminal, a redrawn bar when it is", async () => {
    const lines: string[] = [];
    const tty: string[] = [];
    await withEnv({ HF_ENDPOINT: hub.url, HF_HOME: tempHome() }, async () => {
      await fetchCheckpoint(REPO, { progress: makeProgress("auto", { write: (t: string) => lines.push(t) }) });
    });
    assert.deepEqual(
      lines.map((l) => l.replace(/: .*/s, "")),
      ["config.json", "tokenizer.json", "generation_config.json", "model.safetensors"].map((f) => `${REPO}/${f}`),
    );
    assert.ok(
      lines.every((l) => /: [\d.]+ (kB|MB) in [\d.]+ s\n$/.test(l)),
      lines.join(""),
    );
    const bar = makeProgress("auto", { isTTY: true, write: (t: string) => tty.push(t) }).file("x", 2048, 0);
    bar.advance(1024);
    bar.advance(1024);
    bar.end(true);
    assert.match(tty.join(""), /\rx \[#+\.*\] +100% 2\.0 kB\/2\.0 kB .*\n$/);
  });

  it("loadCheckpoint('hub:...') (synchronous) downloads a missing model through a child process", async () => {
    const home = tempHome();
    const server = spawn(process.execPath, [path.join(__dirname, "fake-hub.js"), REPO, tinyFamilyDir("llama")], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        server.stdout.once("data", (d: Buffer) => resolve(d.toString().trim()));
        server.once("exit", (code) => reject(new Error(`fake hub exited ${code}`)));
      });
      await withEnv({ HF_ENDPOINT: url, HF_HOME: home, HF_HUB_DISABLE_PROGRESS_BARS: "1" }, async () => {
        const b = loadCheckpoint(`hub:${REPO}`);
        assert.equal(b.dir, path.join(home, "hub", "models--kit-test--tiny-llama", "snapshots", "c".repeat(40)));
        const direct = loadCheckpoint(tinyFamilyDir("llama"));
        assert.equal(b.fingerprint, direct.fingerprint);
        b.model.dispose();
        direct.model.dispose();
        assert.throws(
          () => loadCheckpoint("hub:kit-test/absent"),
          /kit-test\/absent: repository not found \(HTTP 404\)/,
        );
      });
    } finally {
      server.kill();
    }
  });
});
