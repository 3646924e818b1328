/** hub:ORG/NAME[@REVISION] resolves against a Hugging Face cache laid out as huggingface_hub writes it. */
import { strict as assert } from "node:assert";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { loadCheckpoint } from "../../lib/backbone/checkpoint";
import { hubCacheDir, resolveHubSpec } from "../../lib/backbone/hub-cache";
import { setupBackend } from "../helpers";
import { tinyFamilyDir } from "./family-fixtures";

const COMMIT = "0123456789abcdef0123456789abcdef01234567";

/** A cache with models--kit-test--tiny-llama: blobs named by sha256, snapshot files as relative symlinks, refs/main. */
function fakeCache(): string {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), "kit-hf-home-"));
  const repo = path.join(home, "hub", "models--kit-test--tiny-llama");
  const snap = path.join(repo, "snapshots", COMMIT);
  fs.mkdirSync(path.join(repo, "blobs"), { recursive: true });
  fs.mkdirSync(path.join(repo, "refs"), { recursive: true });
  fs.mkdirSync(snap, { recursive: true });
  const src = tinyFamilyDir("llama");
  for (const f of fs.readdirSync(src)) {
    const bytes = fs.readFileSync(path.join(src, f));
    const blob = createHash("sha256").update(bytes).digest("hex");
    fs.writeFileSync(path.join(repo, "blobs", blob), bytes);
    fs.symlinkSync(path.join("..", "..", "blobs", blob), path.join(snap, f));
  }
  fs.writeFileSync(path.join(repo, "refs", "main"), COMMIT);
  return home;
}

describe("hub: specs from the Hugging Face cache", function () {
  this.timeout(30_000);
  before(setupBackend);

  it("finds the cache from HF_HUB_CACHE, HF_HOME, XDG_CACHE_HOME or ~/.cache", () => {
    assert.equal(hubCacheDir({ HF_HUB_CACHE: "/a", HF_HOME: "/b" }), "/a");
    assert.equal(hubCacheDir({ HF_HOME: "/b" }), path.join("/b", "hub"));
    assert.equal(hubCacheDir({ XDG_CACHE_HOME: "/c" }), path.join("/c", "huggingface", "hub"));
    assert.equal(hubCacheDir({}), path.join(os.homedir(), ".cache", "huggingface", "hub"));
  });

  it("loads hub:ORG/NAME (refs/main) and hub:ORG/NAME@COMMIT through the snapshot's symlinks", () => {
    const home = fakeCache();
    const saved = { HF_HOME: process.env["HF_HOME"], HF_HUB_CACHE: process.env["HF_HUB_CACHE"] };
    process.env["HF_HOME"] = home;
    delete process.env["HF_HUB_CACHE"];
    try {
      const b = loadCheckpoint("hub:kit-test/tiny-llama");
      assert.equal(b.name, "tiny-llama", "the name recorded in config.json (kit_name) wins over the repo id");
      assert.equal(b.config.family, "llama");
      const direct = loadCheckpoint(tinyFamilyDir("llama"));
      assert.equal(b.fingerprint, direct.fingerprint);
      b.model.dispose();
      direct.model.dispose();
      assert.equal(
        resolveHubSpec(`hub:kit-test/tiny-llama@${COMMIT}`),
        path.join(home, "hub", "models--kit-test--tiny-llama", "snapshots", COMMIT),
      );
    } finally {
      for (const [k, v] of Object.entries(saved)) v === undefined ? delete process.env[k] : (process.env[k] = v);
    }
  });

  it("offline, a model, revision or snapshot missing from the cache is named with how to fill the cache; a malformed spec is refused", () => {
    const home = fakeCache();
    const env = { HF_HOME: home, HF_HUB_OFFLINE: "1" };
    assert.throws(
      () => resolveHubSpec("hub:openai-community/gpt2", env),
      /hub:openai-community\/gpt2: HF_HUB_OFFLINE is set, so nothing is downloaded, and revision main is not in the cache \(.*models--openai-community--gpt2.refs.main does not exist\); unset HF_HUB_OFFLINE to download it, or fill the cache with `huggingface-cli download openai-community\/gpt2`/,
    );
    assert.throws(
      () => resolveHubSpec("hub:kit-test/tiny-llama@v2", env),
      /revision v2 is not in the cache .*--revision v2/,
    );
    assert.throws(
      () => resolveHubSpec(`hub:kit-test/tiny-llama@${"f".repeat(40)}`, env),
      /the cached snapshot .*f{40} lacks config\.json, tokenizer\.json, model\.safetensors/,
    );
    assert.throws(() => resolveHubSpec("hub:../etc", env), /expected hub:ORG\/NAME or hub:ORG\/NAME@REVISION/);
    assert.throws(() => resolveHubSpec("hub:", env), /expected hub:ORG\/NAME/);
  });

  it("online, a model missing from the cache and an unreachable hub: the error says so and what to do", () => {
    const env = { HF_HOME: fakeCache(), HF_ENDPOINT: "http://127.0.0.1:9", HF_HUB_DISABLE_PROGRESS_BARS: "1" };
    assert.throws(
      () => resolveHubSpec("hub:openai-community/gpt2", env),
      /hub:openai-community\/gpt2: cannot reach the hub \(GET http:\/\/127\.0\.0\.1:9\/api\/models\/openai-community\/gpt2\/revision\/main: .*\); the model is not in the cache: check the network, set HF_ENDPOINT/,
    );
  });
});
