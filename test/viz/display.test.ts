import { strict as assert } from "node:assert";
import * as path from "node:path";
import { ConsoleSink, currentSink, DisplayHandle, inNotebook } from "../../lib/viz/display";
import { PLOTLY_MIME } from "../../lib/viz/mime";
import { plotlyInitialized, showFigure, showTable } from "../../lib/viz/show";

type Sent = { content: { data: Record<string, unknown>; transient: { display_id?: string } }; update: boolean };

/**
 * Simulates the inside of a tslab kernel: the __tslab__ global and tslab's internal jupyter module
 * (registered in require.cache under a .../tslab/dist/jupyter.js path, as in a real kernel).
 */
function withFakeKernel(fn: (sent: Sent[]) => void): void {
  const sent: Sent[] = [];
  const file = path.join(path.sep, "fake", "node_modules", "tslab", "dist", "jupyter.js");
  const mod = {
    id: file,
    filename: file,
    loaded: true,
    exports: { lastWriteDisplayData: (content: Sent["content"], update: boolean) => sent.push({ content, update }) },
  } as unknown as NodeModule;
  const g = globalThis as { __tslab__?: unknown };
  require.cache[file] = mod;
  g.__tslab__ = { require };
  try {
    fn(sent);
  } finally {
    delete require.cache[file];
    delete g.__tslab__;
  }
}

describe("viz/display", () => {
  it("outside a kernel, output goes to the console as text/plain", () => {
    assert.equal(inNotebook(), false);
    assert.equal(currentSink().kind, "console");
    const lines: string[] = [];
    const sink = new ConsoleSink((t) => lines.push(t));
    showTable([{ a: 1 }], { sink });
    assert.deepEqual(lines, ["a\n-\n1\n"]);
    assert.throws(
      () => sink.show({} as never),
      /display: a MIME bundle needs a string "text\/plain" entry, got undefined/,
    );
  });

  it("inside a kernel, one message carries the whole MIME bundle", () => {
    withFakeKernel((sent) => {
      assert.equal(inNotebook(), true);
      const sink = currentSink();
      assert.equal(sink.kind, "jupyter");
      assert.equal(currentSink(), sink, "one sink per kernel, so per-notebook state is kept");
      showFigure({ data: [{ y: [1, 2] }] });
      assert.equal(sent.length, 2, "plotly.js once, then the figure");
      assert.match(sent[0].content.data["text/plain"] as string, /^plotly\.js \d+\.\d+\.\d+ loaded/);
      assert.ok((sent[0].content.data["text/html"] as string).length > 1_000_000);
      assert.deepEqual(Object.keys(sent[1].content.data).sort(), [PLOTLY_MIME, "text/html", "text/plain"].sort());
      assert.equal(sent[1].update, false);
      assert.ok(sent[1].content.transient.display_id);
      assert.ok(plotlyInitialized(sink));
      showFigure({ data: [{ y: [3] }] });
      assert.equal(sent.length, 3, "the library is not sent again");
      assert.ok((sent[2].content.data["text/html"] as string).length < 2000);
    });
  });

  it("DisplayHandle shows once and then updates the same display id", () => {
    withFakeKernel((sent) => {
      const h = new DisplayHandle();
      h.render({ "text/plain": "a" });
      h.render({ "text/plain": "b", "text/html": "<b>b</b>" });
      assert.deepEqual(
        sent.map((s) => [s.update, s.content.transient.display_id, s.content.data["text/plain"]]),
        [
          [false, h.id, "a"],
          [true, h.id, "b"],
        ],
      );
    });
  });

  it("falls back to tslab's public display (HTML only) when the internals are missing", () => {
    const calls: string[] = [];
    const display = (tag: string) => ({
      html: (s: string) => calls.push(`${tag} html ${s}`),
      text: (s: string) => calls.push(`${tag} text ${s}`),
    });
    let n = 0;
    const fakeTslab = { display: display("main"), newDisplay: () => display(`d${++n}`) };
    const g = globalThis as { __tslab__?: unknown };
    g.__tslab__ = { require: (id: string) => (id === "tslab" ? fakeTslab : require(id)) };
    try {
      const sink = currentSink();
      assert.equal(sink.kind, "jupyter-basic");
      sink.show({ "text/plain": "t", "text/html": "<i>h</i>" });
      const h = new DisplayHandle(sink);
      h.render({ "text/plain": "one" });
      h.render({ "text/plain": "two" });
      assert.deepEqual(calls, ["main html <i>h</i>", "d1 text one", "d1 text two"]);
      assert.throws(() => sink.update({ "text/plain": "x" }, "nope"), /no output with id nope/);
    } finally {
      delete g.__tslab__;
    }
  });
});

describe("viz/display with two tslab copies loaded", () => {
  it("uses the copy whose lastWriteDisplayData is live", () => {
    const idle = path.join(path.sep, "global", "lib", "node_modules", "tslab", "dist", "jupyter.js");
    require.cache[idle] = {
      id: idle,
      filename: idle,
      loaded: true,
      exports: { lastWriteDisplayData: null },
    } as unknown as NodeModule;
    try {
      withFakeKernel((sent) => {
        currentSink().show({ "text/plain": "hello" });
        assert.equal(sent.length, 1);
      });
    } finally {
      delete require.cache[idle];
    }
  });
});
