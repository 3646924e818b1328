import { strict as assert } from "node:assert";
import {
  checkFigure,
  Figure,
  figureBundle,
  figureHtml,
  figureText,
  newFigureId,
  plotlyLibrary,
  plotlyLibraryHtml,
  toPlainJson,
} from "../../lib/viz/figure";
import { PLOTLY_MIME } from "../../lib/viz/mime";

describe("viz/figure", () => {
  const fig: Figure = {
    data: [
      { type: "scatter", name: "train", x: [1, 2, 3], y: [3, 2, 1.5] },
      { type: "bar", name: "val", y: new Float32Array([0.5, 0.25]) },
    ],
    layout: { title: { text: "Loss" }, height: 300 },
  };

  it("bundle carries Plotly JSON, an HTML fallback and a text summary", () => {
    const b = figureBundle(fig, "fig-a");
    assert.deepEqual(Object.keys(b).sort(), [PLOTLY_MIME, "text/html", "text/plain"].sort());
    const json = b[PLOTLY_MIME] as { data: Array<{ y: unknown }>; layout: unknown; config: Record<string, unknown> };
    assert.deepEqual(json.data[1].y, [0.5, 0.25]); // typed array -> plain array
    assert.equal(json.config.responsive, true);
    assert.deepEqual(json.layout, fig.layout);
    assert.match(b["text/html"]!, /^<div id="fig-a" class="kit-figure" style="[^"]*height:300px"><\/div><script/);
    assert.equal(
      b["text/plain"],
      "Figure 'Loss': 2 traces: scatter 'train' (3 points), last y=1.5000; bar 'val' (2 points), last y=0.2500",
    );
  });

  it("HTML fragment is small: plotly.js is not inlined per figure", () => {
    const html = figureHtml(fig, "fig-b");
    assert.ok(html.length < 2000, `figure HTML is ${html.length} chars`);
    assert.ok(!html.includes("plotly.js-dist-min"));
    assert.match(html, /window\.Plotly\.newPlot\(el,fig\.data,fig\.layout,fig\.config\)/);
  });

  it("HTML fragment's data cannot break out of the script element", () => {
    const html = figureHtml({ data: [{ name: "</script><b>x</b>", y: [1] }] }, "fig-c");
    assert.equal((html.match(/<\/script>/g) ?? []).length, 1);
    assert.ok(html.includes("\\u003c/script\\u003e"));
  });

  it("validates the figure and the div id", () => {
    assert.throws(() => checkFigure({ data: {} }), /figure: data must be an array of traces, got object/);
    assert.throws(() => checkFigure({ data: [1] }), /figure: data\[0\] must be a trace object, got number/);
    assert.throws(() => checkFigure({ data: [], layout: [] }), /figure: layout must be an object/);
    assert.throws(() => checkFigure(null, "showFigure"), /showFigure: expected \{data, layout\?, config\?\}, got null/);
    assert.throws(() => figureHtml(fig, "1 bad id"), /div id must match/);
  });

  it("toPlainJson converts nested typed arrays and keeps other values", () => {
    assert.deepEqual(toPlainJson({ a: [new Int32Array([1, 2])], b: "s", c: null, d: new BigInt64Array([3n]) }), {
      a: [[1, 2]],
      b: "s",
      c: null,
      d: [3],
    });
  });

  it("figure ids are unique", () => {
    const ids = new Set(Array.from({ length: 50 }, () => newFigureId()));
    assert.equal(ids.size, 50);
  });

  it("loads plotly.js 3.x once and wraps it in one script element", () => {
    const lib = plotlyLibrary();
    assert.ok(Number(lib.version.split(".")[0]) >= 3, lib.version);
    assert.ok(lib.source.length > 1_000_000);
    assert.equal(plotlyLibrary(), lib);
    const html = plotlyLibraryHtml();
    assert.ok(html.startsWith(`<script type="text/javascript">/* plotly.js-dist-min ${lib.version} */`));
    assert.equal((html.match(/<\/script>/gi) ?? []).length, 1);
  });

  it("text summary without a title or traces", () => {
    assert.equal(figureText({ data: [] }), "Figure: 0 traces");
    assert.equal(
      figureText({ data: [{ y: [1, 2] }], layout: { title: "T" } }),
      "Figure 'T': 1 trace: scatter (2 points), last y=2",
    );
  });
});
