import { strict as assert } from "node:assert";
import { escapeHtml, jsonForScript, scriptSafe } from "../../lib/viz/html";

describe("viz/html", () => {
  it("escapeHtml escapes the five HTML specials", () => {
    assert.equal(escapeHtml(`<a href="x">'&'</a>`), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
  });

  it("jsonForScript cannot close a script element and round-trips", () => {
    const value = { name: "</script><script>alert(1)</script>", s: "a\u2028b", amp: "&" };
    const json = jsonForScript(value);
    assert.ok(!json.includes("</"), json);
    assert.ok(!json.includes("\u2028"));
    assert.deepEqual(JSON.parse(json), value);
  });

  it("jsonForScript names the caller for unserialisable values", () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    assert.throws(() => jsonForScript(cyclic, "figureHtml"), /figureHtml: value is not JSON-serialisable/);
    assert.throws(() => jsonForScript(undefined, "x"), /x: value is not JSON-serialisable \(got undefined\)/);
  });

  it("scriptSafe rewrites </script in any case", () => {
    assert.equal(scriptSafe('s="</script>";t="</SCRIPT"'), 's="<\\/script>";t="<\\/SCRIPT"');
    // The rewritten text means the same in JavaScript.
    assert.equal(eval(scriptSafe('"</script>"')), "</script>");
  });
});
