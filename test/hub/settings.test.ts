/** HF_* environment variables and hub:ORG/NAME@REV specs, read as huggingface_hub reads them. */
import { strict as assert } from "node:assert";
import * as path from "node:path";
import { formatHubSpec, looksLikeRepoId, parseHubSpec } from "../../lib/hub/repo-spec";
import { hubSettings } from "../../lib/hub/settings";

describe("hub: settings and repo specs", () => {
  it("HF_ENDPOINT (trailing slash dropped, must be http(s)), HF_TOKEN, HF_HUB_OFFLINE values, the cache folder", () => {
    const s = hubSettings({ HF_ENDPOINT: "http://mirror.local:8080/", HF_TOKEN: "t", HF_HOME: "/h" });
    assert.deepEqual(s, {
      endpoint: "http://mirror.local:8080",
      token: "t",
      offline: false,
      cacheDir: path.join("/h", "hub"),
    });
    assert.equal(hubSettings({}).endpoint, "https://huggingface.co");
    assert.equal(hubSettings({ HF_TOKEN: "" }).token, null);
    for (const v of ["1", "true", "YES", "on"]) assert.equal(hubSettings({ HF_HUB_OFFLINE: v }).offline, true, v);
    for (const v of ["0", "false", "", "off"]) assert.equal(hubSettings({ HF_HUB_OFFLINE: v }).offline, false, v);
    assert.throws(
      () => hubSettings({ HF_ENDPOINT: "mirror.local" }),
      /HF_ENDPOINT: expected an http\(s\) URL .*got "mirror\.local"/,
    );
    assert.equal(hubSettings({ HF_TOKEN: "a" }, { token: null, offline: true }).token, null);
  });

  it("hub:ORG/NAME[@REV] and bare ids; malformed specs and conflicting revisions are refused", () => {
    assert.deepEqual(parseHubSpec("hub:openai-community/gpt2"), {
      repo: "openai-community/gpt2",
      revision: "main",
      explicitRevision: false,
    });
    assert.deepEqual(parseHubSpec("Qwen/Qwen2.5-0.5B@v1.0"), {
      repo: "Qwen/Qwen2.5-0.5B",
      revision: "v1.0",
      explicitRevision: true,
    });
    assert.equal(parseHubSpec("gpt2", "refs/pr/3").revision, "refs/pr/3");
    assert.equal(formatHubSpec(parseHubSpec("a/b", "dev")), "hub:a/b@dev");
    assert.throws(() => parseHubSpec("hub:a/b@x", "y"), /names revision x but the revision option says y/);
    for (const bad of ["hub:", "hub:../x", "hub:a/b/c", "hub:a/b@", "hub:a/b@../main", "hub:a b/c"])
      assert.throws(() => parseHubSpec(bad), /expected hub:ORG\/NAME or hub:ORG\/NAME@REVISION/, bad);
    assert.equal(looksLikeRepoId("openai-community/gpt2"), true);
    assert.equal(looksLikeRepoId("./models/x"), false);
    assert.equal(looksLikeRepoId("kit-nano"), false);
  });
});
