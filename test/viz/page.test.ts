import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { htmlPage, PagePart, writeHtmlPage } from "../../lib/viz/page";

describe("viz/page", () => {
  const figure = { data: [{ y: [1, 2, 3] }] };

  it("inlines plotly.js exactly once for several figures", () => {
    const html = htmlPage({
      title: "Report <1>",
      parts: [
        { kind: "heading", text: "Curves" },
        { kind: "figure", figure, caption: "first" },
        { kind: "figure", figure },
        { kind: "figure", figure },
        { kind: "table", table: [{ a: 1.5 }] },
        { kind: "text", text: "para one\n\npara <two>" },
      ],
    });
    assert.equal((html.match(/plotly\.js-dist-min \d/g) ?? []).length, 1);
    assert.ok(html.indexOf("plotly.js-dist-min") < html.indexOf("<body>"), "library goes in <head>");
    for (const id of ["fig-2", "fig-3", "fig-4"]) assert.ok(html.includes(`<div id="${id}"`), id);
    assert.match(html, /<title>Report &lt;1&gt;<\/title>/);
    assert.match(html, /<p>para one<\/p>\n<p>para &lt;two&gt;<\/p>/);
    assert.match(html, /<td class="num">1\.5000<\/td>/);
    assert.match(html, /<div class="kit-caption">first<\/div>/);
  });

  it("omits plotly.js when there is no figure", () => {
    const html = htmlPage({ title: "t", parts: [{ kind: "html", html: "<i>raw</i>" }] });
    assert.ok(!html.includes("plotly"));
    assert.ok(html.includes("<i>raw</i>"));
    assert.ok(html.length < 2000);
  });

  it("names the bad part", () => {
    assert.throws(
      () => htmlPage({ title: "t", parts: [{ kind: "chart" } as unknown as PagePart] }),
      /parts\[0\] has unknown kind "chart"/,
    );
    assert.throws(
      () => htmlPage({ title: "t", parts: [{ kind: "heading", text: "h", level: 4 as 1 }] }),
      /parts\[0\] heading level must be 1, 2 or 3, got 4/,
    );
  });

  it("writeHtmlPage creates folders and writes the page", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "viz-page-"));
    try {
      const file = writeHtmlPage(path.join(dir, "a", "b", "report.html"), { title: "x", parts: [] });
      assert.equal(fs.readFileSync(file, "utf8"), htmlPage({ title: "x", parts: [] }));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
